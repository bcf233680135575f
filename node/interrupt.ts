/**
 * Ctrl-C for synchronous work. Node runs a SIGINT handler only between tasks, so a long synchronous
 * stretch of ops (a style forward pass on the js backend takes minutes) would hold a Ctrl-C until it
 * ends. V8 can stop running JavaScript at once; Node exposes that as vm's `breakOnSigint`: code run
 * through it ends with ERR_SCRIPT_EXECUTION_INTERRUPTED when SIGINT arrives, and the process's own
 * SIGINT handlers work again afterwards. The core runs its outermost tidy() through this
 * (core/cancel.ts), which closes the scopes the stopped code left open.
 * @module
 */
import { Script } from 'node:vm';
import type { Interrupter } from '../core/cancel.js';

const SLOT = Symbol.for('efficientai-toolkit.interruptible');
// One compiled script calls whatever function the slot holds: compiling per call would cost far more.
const script = new Script("globalThis[Symbol.for('efficientai-toolkit.interruptible')]()", {
  filename: 'efficientai-toolkit:interruptible',
});

type Slot = { [SLOT]?: () => unknown };

/**
 * An interrupter that stops the work it runs when SIGINT arrives, calling `onInterrupt` (which aborts the
 * command's signal) and throwing what it returns.
 */
export function sigintInterrupter(onInterrupt: () => Error): Interrupter {
  return <R>(fn: () => R): R => {
    const slot = globalThis as Slot;
    const outer = slot[SLOT];
    slot[SLOT] = fn;
    try {
      return script.runInThisContext({ breakOnSigint: true }) as R;
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw onInterrupt();
      throw err;
    } finally {
      slot[SLOT] = outer;
    }
  };
}
