/**
 * Cancelling long work — the one way every workflow stops early (Ctrl-C in the CLI, a newer request in a
 * browser worker). The host hands the core one AbortSignal with setAbortSignal(); while it is set:
 *
 * - every op checks it before running (core/engine.ts) and throws a CancelledError once it is aborted, so
 *   loops of ops (training steps, generated tokens, denoising steps, layers) stop at the next op with no
 *   code of their own;
 * - a read (`await tensor.data()`) stops waiting when it is aborted, abandoning GPU work still queued;
 * - the outermost tidy() runs through the host's interrupter when one is installed (setInterrupter).
 *   A signal handler cannot run while JavaScript is busy, so a synchronous stretch of ops (a forward pass
 *   on the js backend takes minutes) needs the host to stop it: the Node CLI installs one that ends it on
 *   Ctrl-C at once (node/interrupt.ts).
 *
 * Code that waits on anything else (files, the network) passes the same signal along itself. Code that must
 * still run after a cancellation (saving the last finished training step) clears the signal around it:
 * `const prev = setAbortSignal(undefined); try { await save(); } finally { setAbortSignal(prev); }`.
 */
import { CancelledError } from './errors.js';

/** Runs a synchronous stretch of work so that the host can stop it early; it throws when it does. */
export type Interrupter = <R>(fn: () => R) => R;

let active: AbortSignal | undefined;
let interrupter: Interrupter | undefined;

/** Set (or clear, with undefined) the signal that cancels the core's work; returns the previous one. */
export function setAbortSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  const previous = active;
  active = signal;
  return previous;
}

/** Install (or remove) the host's interrupter for synchronous work; returns the previous one. */
export function setInterrupter(next: Interrupter | undefined): Interrupter | undefined {
  const previous = interrupter;
  interrupter = next;
  return previous;
}

/** The signal's reason as a CancelledError (an abort() without one gives a DOMException). */
function reason(signal: AbortSignal): CancelledError {
  const why: unknown = signal.reason;
  if (why instanceof CancelledError) return why;
  return new CancelledError(why instanceof Error && why.name !== 'AbortError' ? why.message : 'cancelled', {
    cause: why,
  });
}

/** Throw the cancellation reason (a CancelledError) if the signal is aborted. */
export function throwIfCancelled(): void {
  if (active?.aborted) throw reason(active);
}

/** `promise`, or a rejection with the cancellation reason as soon as the signal is aborted. */
export function untilCancelled<T>(promise: Promise<T>): Promise<T> {
  const signal = active;
  if (!signal) return promise;
  // Whatever the abandoned work ends with, nobody waits for it any more.
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(reason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Run `fn` through the host's interrupter (directly when there is none). */
export function interruptible<R>(fn: () => R): R {
  return interrupter ? interrupter(fn) : fn();
}

/** True when an interrupter is installed. */
export function hasInterrupter(): boolean {
  return interrupter !== undefined;
}
