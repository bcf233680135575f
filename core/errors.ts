/** Error types the toolkit raises, so callers (and the CLI's exit codes) can tell them apart. */
export { ShapeError } from './shape.js';

export class DTypeError extends Error {
  override name = 'DTypeError';
}

export class BackendError extends Error {
  override name = 'BackendError';
}

export class DisposedError extends Error {
  override name = 'DisposedError';
}

/** Bad input a user can fix: wrong option, unreadable file, malformed data. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Work stopped because it was cancelled (Ctrl-C in the CLI); see core/cancel.ts. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}
