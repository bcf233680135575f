/**
 * The fallback ledger: every run of an op that does not execute on the chosen backend's own
 * kernel, recorded once where it is decided, with what ran instead and why:
 *
 * - 'fallback': the chosen backend has no kernel for the op, so another backend's kernel runs
 *   (core/dispatch.ts);
 * - 'reference': the backend's kernel exists but cannot take these inputs (dtypes it has no code
 *   for, f64 on WebGPU, a limit it cannot meet, a lost GPU device), so the js reference kernel
 *   runs on its behalf (backends/native/kernel.ts, backends/wasm/kernel.ts, the WebGPU backend);
 * - 'copy': an input lives on another backend and is copied to the chosen one first.
 *
 * A run that hops twice (WebGPU falls back to wasm, whose kernel then runs the reference for
 * i32) is one entry per hop. `info --json` and the benchmark records show the ledger, and
 * strict mode (`setStrictBackend(true)`, the CLI's `--strict-backend`) turns every entry into
 * a BackendError thrown before anything runs.
 */
import type { BackendName } from './backend.js';
import { BackendError } from './errors.js';

export type FallbackKind = 'fallback' | 'reference' | 'copy';

export interface FallbackEntry {
  readonly op: string;
  readonly kind: FallbackKind;
  /** The backend that was chosen (for a copy: where the input lived). */
  readonly from: BackendName;
  /** The backend whose kernel ran, or (for a copy) where the input went. */
  readonly to: BackendName;
  readonly why: string;
  readonly count: number;
}

const entries = new Map<string, FallbackEntry>();
let strict = false;
let warn: (message: string) => void = (m) => console.warn(m);

/** Fail instead of falling back: every run the ledger would record throws a BackendError. */
export function setStrictBackend(on: boolean): void {
  strict = on;
}

export function strictBackend(): boolean {
  return strict;
}

/** Redirect the ledger's once-per-entry warnings (the CLI routes them through its logger; tests capture them). */
export function setWarningHandler(handler: (message: string) => void): void {
  warn = handler;
}

function describe(e: Omit<FallbackEntry, 'count'>): string {
  switch (e.kind) {
    case 'fallback':
      return `${e.from} has no '${e.op}' kernel; running it on ${e.to}`;
    case 'reference':
      return `${e.from} runs '${e.op}' with the ${e.to} reference kernel (${e.why})`;
    case 'copy':
      return `'${e.op}' copies an input from ${e.from} to ${e.to} (${e.why})`;
  }
}

/**
 * Record one run that does not execute on the chosen backend's own kernel. Call it before
 * doing the work: in strict mode it throws, and nothing has run.
 * @throws BackendError in strict mode, naming the op, the backends and the reason.
 */
export function recordFallback(op: string, kind: FallbackKind, from: BackendName, to: BackendName, why: string): void {
  const entry = { op, kind, from, to, why };
  if (strict) {
    throw new BackendError(
      `strict backend: ${describe(entry)}. Run without --strict-backend (or setStrictBackend(false)) to allow it`,
    );
  }
  const key = `${op}\0${kind}\0${from}\0${to}\0${why}`;
  const known = entries.get(key);
  if (!known) warn(`[efficientai-toolkit] ${describe(entry)} (warned once)`);
  entries.set(key, { ...entry, count: (known?.count ?? 0) + 1 });
}

/** Every recorded entry, most frequent first. */
export function fallbackLedger(): FallbackEntry[] {
  return [...entries.values()].sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
}

/** The entries that grew between two ledger snapshots, with the growth as their count. */
export function ledgerDelta(before: readonly FallbackEntry[], after: readonly FallbackEntry[]): FallbackEntry[] {
  const key = (e: FallbackEntry) => `${e.op}\0${e.kind}\0${e.from}\0${e.to}\0${e.why}`;
  const was = new Map(before.map((e) => [key(e), e.count]));
  return after.map((e) => ({ ...e, count: e.count - (was.get(key(e)) ?? 0) })).filter((e) => e.count > 0);
}

export function resetFallbackLedger(): void {
  entries.clear();
}
