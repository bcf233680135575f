/**
 * Oracles for softmax/logSoftmax: hand-computed values, behaviour where a naive
 * exp/sum would overflow, and the composition exp(x − logsumexp(x)) built from
 * other ops (their own kernels and vjps) for values and gradients on every axis.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `element ${i}: got ${got[i]}, want ${want[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(want[i])),
    );
  }
}

const values = async (t: T.Tensor) => Array.from(await t.data());

describe('softmax and logSoftmax references', () => {
  it('match hand-computed values for [1, 2, 3]', async () => {
    const x = T.tensor([1, 2, 3], undefined, 'f64');
    const z = Math.E + Math.E ** 2 + Math.E ** 3;
    expectClose(await values(T.softmax(x)), [Math.E / z, Math.E ** 2 / z, Math.E ** 3 / z], 1e-15);
    expectClose(await values(T.softmax(x)), [0.09003057317038046, 0.24472847105479764, 0.6652409557748219], 1e-15);
    expectClose(await values(T.logSoftmax(x)), [-2.4076059644443806, -1.4076059644443804, -0.4076059644443803], 1e-15);
  });

  it('stay finite where exp overflows or underflows (max is subtracted first)', async () => {
    const big = T.tensor([1000, 1000, 999], undefined, 'f64');
    const naive = T.div(T.exp(big), T.sum(T.exp(big)));
    expect((await values(naive)).every(Number.isNaN)).toBe(true);
    const e = Math.exp(-1);
    expectClose(await values(T.softmax(big)), [1 / (2 + e), 1 / (2 + e), e / (2 + e)], 1e-15);
    expectClose(await values(T.logSoftmax(T.tensor([1000, 0], undefined, 'f64'))), [0, -1000], 1e-15);
    expect(await values(T.softmax(T.tensor([-1000, 0], undefined, 'f32')))).toEqual([0, 1]);
    expect(await values(T.logSoftmax(T.tensor([-1000, 0], undefined, 'f32')))).toEqual([-1000, 0]);
  });

  it('are uniform over equal logits and sum to 1 along the chosen axis', async () => {
    expectClose(await values(T.softmax(T.full([4], 7.5))), [0.25, 0.25, 0.25, 0.25], 1e-7);
    const x = T.randomNormal([3, 4, 5], 0, 3, { rng: new T.Rng(5), dtype: 'f64' });
    for (const axis of [0, 1, 2]) {
      const totals = await values(T.sum(T.softmax(x, axis), axis));
      expectClose(totals, new Array(totals.length).fill(1), 1e-14);
    }
  });

  it('equal exp(x − logsumexp(x)) on every axis, in values and gradients', async () => {
    const rng = new T.Rng(6);
    const x = T.randomNormal([3, 4, 5], 0, 2, { rng, dtype: 'f64' });
    const w = T.randomNormal([3, 4, 5], 0, 1, { rng, dtype: 'f64' });
    const composedLog = (v: T.Tensor, axis: number) => T.sub(v, T.logsumexp(v, axis, true));
    for (const axis of [0, 1, -1]) {
      expectClose(await values(T.logSoftmax(x, axis)), await values(composedLog(x, axis)), 1e-14);
      expectClose(await values(T.softmax(x, axis)), await values(T.exp(composedLog(x, axis))), 1e-14);
      const pairs: [(v: T.Tensor) => T.Tensor, (v: T.Tensor) => T.Tensor][] = [
        [(v) => T.softmax(v, axis), (v) => T.exp(composedLog(v, axis))],
        [(v) => T.logSoftmax(v, axis), (v) => composedLog(v, axis)],
      ];
      for (const [op, composed] of pairs) {
        const [g1] = T.grad((v: T.Tensor) => T.sum(T.mul(op(v), w)))(x);
        const [g2] = T.grad((v: T.Tensor) => T.sum(T.mul(composed(v), w)))(x);
        expectClose(await values(g1), await values(g2), 1e-13);
      }
    }
  });

  it('have the hand-derived Jacobian diag(p) − ppᵀ for softmax', async () => {
    const x = T.tensor([0.5, -1, 2], undefined, 'f64');
    const p = await values(T.softmax(x));
    for (let j = 0; j < 3; j++) {
      const onehot = T.tensor(
        [0, 1, 2].map((i) => (i === j ? 1 : 0)),
        undefined,
        'f64',
      );
      const [g] = T.grad((v: T.Tensor) => T.sum(T.mul(T.softmax(v), onehot)))(x);
      // d p_j / d x_i = p_j (δ_ij − p_i)
      expectClose(
        await values(g),
        [0, 1, 2].map((i) => p[j] * ((i === j ? 1 : 0) - p[i])),
        1e-15,
      );
    }
  });

  it('compute f16 in f32 and round once', async () => {
    const y = T.softmax(T.tensor([1, 2, 3], undefined, 'f16'));
    expect(y.dtype).toBe('f16');
    expectClose(await values(y), [0.09003057317038046, 0.24472847105479764, 0.6652409557748219], 1e-3);
  });

  it('reject integer input and bad axes', () => {
    expect(() => T.softmax(T.zeros([3], 'i32'))).toThrow(/softmax: needs a float tensor, got i32/);
    expect(() => T.logSoftmax(T.zeros([3, 2]), -3)).toThrow(
      /logSoftmax: axis -3 is out of range for a tensor of rank 2/,
    );
  });
});
