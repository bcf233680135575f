import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

describe('tensors', () => {
  it('creates from nested arrays and typed arrays with shape checks', async () => {
    const a = T.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(a.shape).toEqual([2, 2]);
    expect(a.dtype).toBe('f32');
    expect(await a.array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const b = T.tensor(new Int32Array([1, 2, 3]), [3, 1]);
    expect(b.dtype).toBe('i32');
    expect(() => T.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => T.tensor([1], [1], 'f8' as T.DType)).toThrow(/unknown dtype 'f8'/);
    T.dispose([a, b]);
  });

  it('stores f16 as bits and reads it back widened', async () => {
    const h = T.tensor([1, 0.1, 65504, 70000], [4], 'f16');
    const values = await h.data();
    expect(values).toBeInstanceOf(Float32Array);
    expect(Array.from(values)).toEqual([1, T.f16BitsToF32(T.f32ToF16Bits(0.1)), 65504, Number.POSITIVE_INFINITY]);
    h.dispose();
  });

  it('views share storage and free it with the last view', () => {
    const before = T.memory();
    const a = T.zeros([4, 8]);
    const v = T.transpose(a);
    const s = T.slice(v, [{ start: 1 }]);
    const afterViews = T.memory();
    expect(afterViews.tensors - before.tensors).toBe(3);
    expect(afterViews.bytes - before.bytes).toBe(4 * 8 * 4);
    a.dispose();
    v.dispose();
    expect(T.memory().bytes - before.bytes).toBe(4 * 8 * 4);
    s.dispose();
    // Everything is freed; only the peak (the most bytes live at once) may have grown.
    expect({ ...T.memory(), peakBytes: before.peakBytes }).toEqual(before);
  });

  it('tidy frees everything but its result, also on throw', () => {
    const before = T.memory().tensors;
    const kept = T.tidy(() => {
      const x = T.ones([3]);
      const y = T.add(x, 1);
      return { y, list: [T.mul(y, 2)] };
    });
    expect(T.memory().tensors - before).toBe(2);
    T.dispose(kept);
    expect(() =>
      T.tidy(() => {
        T.ones([3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(T.memory().tensors).toBe(before);
  });

  it('nested tidy hands results to the outer scope; keep() escapes both', () => {
    const before = T.memory().tensors;
    let escaped: T.Tensor | undefined;
    T.tidy(() => {
      T.tidy(() => T.ones([2]));
      escaped = T.keep(T.zeros([2]));
    });
    expect(T.memory().tensors - before).toBe(1);
    escaped!.dispose();
    expect(T.memory().tensors).toBe(before);
  });

  it('rejects async tidy and use after dispose', async () => {
    expect(() => T.tidy(() => Promise.resolve(1))).toThrow(/synchronous/);
    const t = T.ones([2]);
    t.dispose();
    await expect(t.data()).rejects.toThrow(/already disposed/);
    expect(() => T.add(t, 1)).toThrow(/already disposed/);
  });

  it('seeded random tensors are reproducible', async () => {
    const a = T.randomNormal([5], 0, 1, { rng: new T.Rng(42) });
    const b = T.randomNormal([5], 0, 1, { rng: new T.Rng(42) });
    const c = T.randomNormal([5], 0, 1, { rng: new T.Rng(43) });
    expect(await a.data()).toEqual(await b.data());
    expect(await a.data()).not.toEqual(await c.data());
    T.dispose([a, b, c]);
  });

  it('random normals have the right moments', async () => {
    const x = T.randomNormal([20000], 2, 3, { rng: new T.Rng(1), dtype: 'f64' });
    const values = Array.from(await x.data());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    // 4 standard errors: fails only if the generator is biased.
    expect(Math.abs(mean - 2)).toBeLessThan((4 * 3) / Math.sqrt(values.length));
    expect(Math.abs(variance - 9)).toBeLessThan(4 * 9 * Math.sqrt(2 / values.length));
    x.dispose();
  });

  it('arange, full, item', async () => {
    expect(Array.from(await T.arange(5).data())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(await T.arange(1, 2, 0.25).data())).toEqual([1, 1.25, 1.5, 1.75]);
    expect(await T.full([], 7, 'i32').item()).toBe(7);
    await expect(T.ones([2]).item()).rejects.toThrow(/2 elements/);
  });
});
