/**
 * Oracles for the norm references: hand-computed values, plain loops, and second
 * formulations from reduce/elementwise ops (mean, variance, rsqrt: their own kernels
 * and vjps), for values and for gradients of x and of every affine parameter.
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
const f64 = (shape: number[], seed: number, mean = 0, std = 1) =>
  T.randomNormal(shape, mean, std, { rng: new T.Rng(seed), dtype: 'f64' });

/** (x − mean) / √(var + ε) over `axes`, from reduce ops. */
function standardize(x: T.Tensor, axes: number[], eps: number): T.Tensor {
  return T.tidy(() => T.div(T.sub(x, T.mean(x, axes, true)), T.sqrt(T.add(T.variance(x, axes, true), eps))));
}

/** Gradients of Σ w ⊙ f(args) for two formulations, compared argument by argument. */
async function expectSameGrads(
  f: (...a: T.Tensor[]) => T.Tensor,
  g: (...a: T.Tensor[]) => T.Tensor,
  args: T.Tensor[],
  tol = 1e-12,
): Promise<void> {
  const probe = f(...args);
  const w = T.randomNormal(probe.shape, 0, 1, { rng: new T.Rng(99), dtype: 'f64' });
  const ga = T.grad((...a: T.Tensor[]) => T.sum(T.mul(f(...a), w)))(...args);
  const gb = T.grad((...a: T.Tensor[]) => T.sum(T.mul(g(...a), w)))(...args);
  for (let i = 0; i < args.length; i++) {
    expect(ga[i].shape).toEqual(args[i].shape);
    expectClose(await values(ga[i]), await values(gb[i]), tol);
  }
}

describe('layerNorm reference', () => {
  it('matches hand-computed values for [1, 2, 3, 4]', async () => {
    // mean 2.5, population variance 1.25
    const x = T.tensor([1, 2, 3, 4], undefined, 'f64');
    const s = 1 / Math.sqrt(1.25);
    expectClose(await values(T.layerNorm(x, undefined, undefined, 0)), [-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s], 1e-15);
    const w = T.tensor([1, 2, 3, 4], undefined, 'f64');
    const b = T.tensor([0.5, 0.5, -1, 0], undefined, 'f64');
    const s5 = 1 / Math.sqrt(1.25 + 1e-5);
    expectClose(await values(T.layerNorm(x, w, b)), [-1.5 * s5 + 0.5, -1 * s5 + 0.5, 1.5 * s5 - 1, 6 * s5], 1e-15);
  });

  it('equals (x − mean)/√(var + ε)·w + b from reduce ops, in values and gradients', async () => {
    const x = f64([3, 5, 8], 1, 2, 3);
    const w = f64([8], 2);
    const b = f64([8], 3);
    const composed = (v: T.Tensor, wt: T.Tensor, bs: T.Tensor) => T.add(T.mul(standardize(v, [-1], 1e-5), wt), bs);
    expectClose(await values(T.layerNorm(x, w, b)), await values(composed(x, w, b)), 1e-13);
    await expectSameGrads((v, wt, bs) => T.layerNorm(v, wt, bs), composed, [x, w, b]);
    await expectSameGrads(
      (v) => T.layerNorm(v),
      (v) => standardize(v, [-1], 1e-5),
      [x],
    );
    await expectSameGrads(
      (v, bs) => T.layerNorm(v, undefined, bs, 0.1),
      (v, bs) => T.add(standardize(v, [-1], 0.1), bs),
      [x, b],
    );
  });

  it('is unaffected by a large common offset (two-pass statistics, no E[x²] − E[x]² cancellation)', async () => {
    const small = Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const mu = small.reduce((a, v) => a + v, 0) / 64;
    const sd = Math.sqrt(small.reduce((a, v) => a + (v - mu) ** 2, 0) / 64 + 1e-5);
    const shifted = T.tensor(
      small.map((v) => 1e8 + v),
      undefined,
      'f64',
    );
    // 1e8 + sin(i) is exact to ~1.5e-8 in f64, which bounds the attainable agreement.
    expectClose(
      await values(T.layerNorm(shifted)),
      small.map((v) => (v - mu) / sd),
      1e-7,
    );
  });
});

describe('rmsNorm reference', () => {
  it('matches hand-computed values for [3, 4]', async () => {
    // mean of squares 12.5
    const r = Math.sqrt(12.5);
    const x = T.tensor([3, 4], undefined, 'f64');
    expectClose(await values(T.rmsNorm(x, undefined, 0)), [3 / r, 4 / r], 1e-15);
    expectClose(await values(T.rmsNorm(x, T.tensor([2, -1], undefined, 'f64'), 0)), [6 / r, -4 / r], 1e-15);
  });

  it('matches a plain loop over rows', async () => {
    const x = f64([4, 6], 4, 0.5, 2);
    const w = f64([6], 5);
    const xs = await values(x);
    const ws = await values(w);
    const want: number[] = [];
    for (let r = 0; r < 4; r++) {
      let ms = 0;
      for (let j = 0; j < 6; j++) ms += xs[r * 6 + j] ** 2;
      const inv = 1 / Math.sqrt(ms / 6 + 1e-6);
      for (let j = 0; j < 6; j++) want.push(xs[r * 6 + j] * inv * ws[j]);
    }
    expectClose(await values(T.rmsNorm(x, w, 1e-6)), want, 1e-14);
  });

  it('has the gradients of x·rsqrt(mean(x²) + ε)·w composed from ops', async () => {
    const x = f64([2, 3, 7], 6);
    const w = f64([7], 7);
    const composed = (v: T.Tensor, wt: T.Tensor) =>
      T.mul(T.mul(v, T.rsqrt(T.add(T.mean(T.square(v), -1, true), 1e-5))), wt);
    await expectSameGrads((v, wt) => T.rmsNorm(v, wt), composed, [x, w]);
    await expectSameGrads(
      (v) => T.rmsNorm(v),
      (v) => T.mul(v, T.rsqrt(T.add(T.mean(T.square(v), -1, true), 1e-5))),
      [x],
    );
  });
});

describe('groupNorm reference', () => {
  const composed = (groups: number) => (v: T.Tensor, wt: T.Tensor, bs: T.Tensor) => {
    const [n, c] = v.shape;
    const grouped = T.reshape(v, [n, groups, -1]);
    const normed = T.reshape(standardize(grouped, [2], 1e-5), v.shape);
    const per = [c, ...new Array(v.rank - 2).fill(1)];
    return T.add(T.mul(normed, T.reshape(wt, per)), T.reshape(bs, per));
  };

  it('normalises each group of channels with its spatial positions, hand-checked', async () => {
    // N=1, C=2, 2 positions, 1 group: all four values share one mean (2.5) and variance (1.25).
    const x = T.tensor([1, 2, 3, 4], [1, 2, 2], 'f64');
    const s = 1 / Math.sqrt(1.25);
    expectClose(
      await values(T.groupNorm(x, 1, undefined, undefined, 0)),
      [-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s],
      1e-15,
    );
    // 2 groups: each channel alone, mean 1.5 / 3.5, variance 0.25.
    expectClose(await values(T.groupNorm(x, 2, undefined, undefined, 0)), [-1, 1, -1, 1], 1e-15);
  });

  it('equals reshape → standardize → per-channel affine, in values and gradients', async () => {
    const x = f64([2, 6, 3, 4], 8, 1, 2);
    const w = f64([6], 9);
    const b = f64([6], 10);
    expectClose(await values(T.groupNorm(x, 3, w, b)), await values(composed(3)(x, w, b)), 1e-13);
    await expectSameGrads((v, wt, bs) => T.groupNorm(v, 3, wt, bs), composed(3), [x, w, b]);
    const x2 = f64([3, 4], 11);
    await expectSameGrads((v, wt, bs) => T.groupNorm(v, 2, wt, bs), composed(2), [x2, f64([4], 12), f64([4], 13)]);
  });
});

describe('instanceNorm reference', () => {
  it('equals groupNorm with one group per channel', async () => {
    const x = f64([2, 3, 5, 4], 14, -1, 2);
    const s = f64([3], 15);
    const t = f64([3], 16);
    expectClose(await values(T.instanceNorm(x, s, t)), await values(T.groupNorm(x, 3, s, t)), 1e-13);
    await expectSameGrads(
      (v, a, b) => T.instanceNorm(v, a, b),
      (v, a, b) => T.groupNorm(v, 3, a, b),
      [x, s, t],
    );
  });

  it('applies per-sample scale/shift [N, C] like normalising each sample with its own [C] parameters', async () => {
    const x = f64([2, 3, 4, 4], 17);
    const s = f64([2, 3], 18);
    const t = f64([2, 3], 19);
    const got = await values(T.instanceNorm(x, s, t));
    const per = 3 * 16;
    for (let n = 0; n < 2; n++) {
      const one = T.instanceNorm(T.slice(x, [{ start: n, end: n + 1 }]), T.slice(s, [n]), T.slice(t, [n]));
      expectClose(got.slice(n * per, (n + 1) * per), await values(one), 1e-14);
    }
    // Mixed forms: scale per channel, shift per sample.
    const sc = f64([3], 20);
    const mixed = (v: T.Tensor, a: T.Tensor, b: T.Tensor) =>
      T.add(T.mul(standardize(v, [2, 3], 1e-5), T.reshape(a, [3, 1, 1])), T.reshape(b, [2, 3, 1, 1]));
    expectClose(await values(T.instanceNorm(x, sc, t)), await values(mixed(x, sc, t)), 1e-13);
    await expectSameGrads((v, a, b) => T.instanceNorm(v, a, b), mixed, [x, sc, t]);
    const conditional = (v: T.Tensor, a: T.Tensor, b: T.Tensor) =>
      T.add(T.mul(standardize(v, [2, 3], 1e-5), T.reshape(a, [2, 3, 1, 1])), T.reshape(b, [2, 3, 1, 1]));
    await expectSameGrads((v, a, b) => T.instanceNorm(v, a, b), conditional, [x, s, t]);
  });

  it('maps a constant plane to its shift (zero variance, no NaN)', async () => {
    const x = T.full([1, 2, 3, 3], 4, 'f64');
    const y = await values(
      T.instanceNorm(x, T.tensor([5, 6], undefined, 'f64'), T.tensor([0.5, -2], undefined, 'f64')),
    );
    expect(y).toEqual([...new Array(9).fill(0.5), ...new Array(9).fill(-2)]);
  });
});

describe('norm argument checks', () => {
  it('name the op, the shapes and the fix', () => {
    const x = T.zeros([2, 6, 4]);
    expect(() => T.layerNorm(x, T.zeros([6]))).toThrow(/layerNorm: weight \[6\] must be \[4\] for x \[2, 6, 4\]/);
    expect(() => T.groupNorm(x, 5)).toThrow(/groupNorm: groups 5 must be a positive integer dividing the 6 channels/);
    expect(() => T.instanceNorm(x, T.zeros([3, 6]))).toThrow(/instanceNorm: scale \[3, 6\] must be \[6\] or \[2, 6\]/);
    expect(() => T.rmsNorm(x, T.zeros([4], 'f16'))).toThrow(/weight is f16 but x is f32; cast weight to f32/);
    expect(() => T.layerNorm(x, undefined, undefined, Number.NaN)).toThrow(/eps must be a finite number >= 0, got NaN/);
  });
});
