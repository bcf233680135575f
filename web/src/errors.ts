/**
 * Errors the worker throws for the page to show. Comlink carries an error's name and message
 * across the worker boundary, so the page tells the kinds apart by `name`.
 */
export type DemoErrorKind = 'unsupported-file' | 'too-large' | 'model-load' | 'backend' | 'no-content';

const NAMES: Readonly<Record<DemoErrorKind, string>> = {
  'unsupported-file': 'UnsupportedFileError',
  'too-large': 'TooLargeError',
  'model-load': 'ModelLoadError',
  backend: 'BackendStartError',
  'no-content': 'NoContentError',
};

export class DemoError extends Error {
  constructor(
    readonly kind: DemoErrorKind,
    message: string,
  ) {
    super(message);
    this.name = NAMES[kind];
  }
}

/** The kind of an error that crossed the worker boundary (only its name and message survive). */
export function errorKind(err: unknown): DemoErrorKind | 'other' {
  const name = (err as { name?: unknown } | null)?.name;
  const found = (Object.keys(NAMES) as DemoErrorKind[]).find((k) => NAMES[k] === name);
  return found ?? 'other';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
