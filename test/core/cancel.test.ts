// core/cancel.ts: the signal every op checks, reads that stop waiting, and the interrupter the outermost
// tidy() runs through. (A real Ctrl-C in the middle of a synchronous stretch: test/node/interrupt.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import * as T from '../../index.js';

afterEach(() => {
  T.setAbortSignal(undefined);
  T.setInterrupter(undefined);
});

describe('cancellation', () => {
  it('stops the next op once the signal is aborted, with its reason, and leaks nothing', () => {
    const a = T.tensor([1, 2, 3]);
    const controller = new AbortController();
    T.setAbortSignal(controller.signal);
    T.dispose(T.add(a, 1));
    const before = T.memory().tensors;
    controller.abort(new T.CancelledError('stop (test)'));
    expect(() => T.tidy(() => T.mul(T.add(a, 1), 2))).toThrow('stop (test)');
    expect(T.memory().tensors).toBe(before);
    // An abort without an Error reason still throws a CancelledError.
    const other = new AbortController();
    T.setAbortSignal(other.signal);
    other.abort();
    expect(() => T.add(a, 1)).toThrow(T.CancelledError);
    T.setAbortSignal(undefined);
    T.dispose([T.add(a, 1), a]);
  });

  it('makes a pending read reject as soon as the signal is aborted', async () => {
    const controller = new AbortController();
    T.setAbortSignal(controller.signal);
    const never = new Promise<number>(() => {});
    const waiting = T.untilCancelled(never);
    controller.abort(new T.CancelledError('stop waiting (test)'));
    await expect(waiting).rejects.toThrow('stop waiting (test)');
    await expect(T.untilCancelled(Promise.resolve(1))).rejects.toThrow('stop waiting (test)');
    T.setAbortSignal(undefined);
    await expect(T.untilCancelled(Promise.resolve(2))).resolves.toBe(2);
  });

  it('runs only the outermost tidy through the interrupter', () => {
    const calls: number[] = [];
    T.setInterrupter(<R>(fn: () => R): R => {
      calls.push(1);
      return fn();
    });
    const x = T.tensor([1, 2]);
    const y = T.tidy(() =>
      T.tidy(() =>
        T.add(
          T.tidy(() => T.mul(x, 2)),
          1,
        ),
      ),
    );
    expect(calls).toHaveLength(1);
    expect(T.tidy(() => 5)).toBe(5);
    expect(calls).toHaveLength(2);
    // What the interrupter throws reaches the caller, and the scope's tensors are freed.
    const before = T.memory().tensors;
    T.setInterrupter(() => {
      throw new T.CancelledError('interrupted (test)');
    });
    expect(() => T.tidy(() => T.add(x, 1))).toThrow('interrupted (test)');
    expect(T.memory().tensors).toBe(before);
    T.dispose([x, y]);
  });
});
