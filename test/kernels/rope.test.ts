/**
 * Oracles for the rope reference: hand-computed rotations, llama2.c's loop and Hugging
 * Face's rotate_half formula written out independently, the permutation relating the
 * two pairings, round trips through the inverse, and decode steps against the prefill.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `element ${i}: got ${got[i]}, want ${want[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(want[i])),
    );
  }
}

const values = async (t: T.Tensor) => Array.from(await t.data());

function randomF64(shape: number[], seed: number): T.Tensor {
  return T.randomNormal(shape, 0, 1, { dtype: 'f64', rng: new T.Rng(seed) });
}

/** Pick features along the last axis: y[..., i] = x[..., order[i]]. */
function takeLast(x: T.Tensor, order: readonly number[]): T.Tensor {
  return T.tidy(() => T.gather(x, T.tensor(order as number[], [order.length], 'i32'), -1));
}

describe('rope reference', () => {
  // x = [1, 2, 3, 4] at positions 0 and 1, base 100: the pairs turn by 1 rad and 100^(-1/2) = 0.1 rad.
  const x = T.keep(T.tensor([1, 2, 3, 4, 1, 2, 3, 4], [1, 1, 2, 4], 'f64'));

  it('rotates adjacent pairs by hand-computed angles (traditional)', async () => {
    const y = T.rope(x, { traditional: true, base: 100 });
    // cos 1 - 2 sin 1, sin 1 + 2 cos 1, 3 cos .1 - 4 sin .1, 3 sin .1 + 4 cos .1
    expectClose(
      await values(y),
      [1, 2, 3, 4, -1.1426396637476532, 1.922075596544176, 2.585678829246765, 4.279516911052588],
    );
    y.dispose();
  });

  it('rotates halves by hand-computed angles (non-traditional)', async () => {
    const y = T.rope(x, { base: 100 });
    // pairs (x0, x2) by 1 rad and (x1, x3) by 0.1 rad
    expectClose(
      await values(y),
      [1, 2, 3, 4, -1.9841106485555495, 1.590674663968739, 2.4623779024123156, 4.17968349440576],
    );
    y.dispose();
  });

  it('matches llama2.c’s rotation loop (pow-based frequencies, [pos, head, dim] order)', async () => {
    const [heads, steps, headSize, start] = [3, 5, 8, 11];
    const q = randomF64([1, heads, steps, headSize], 1);
    const src = await values(q);
    // llama2.c run.c: for i in 0..dim step 2: freq = 1 / 10000^((i % head_size) / head_size), val = pos·freq.
    const want = new Float64Array(src.length);
    for (let pos = start; pos < start + steps; pos++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < headSize; i += 2) {
          const freq = 1 / 10000 ** ((i % headSize) / headSize);
          const val = pos * freq;
          const at = (h * steps + (pos - start)) * headSize + i;
          const [v0, v1] = [src[at], src[at + 1]];
          want[at] = v0 * Math.cos(val) - v1 * Math.sin(val);
          want[at + 1] = v0 * Math.sin(val) + v1 * Math.cos(val);
        }
      }
    }
    const y = T.rope(q, { traditional: true, offset: start });
    expectClose(await values(y), want);
    T.dispose([q, y]);
  });

  it('matches Hugging Face’s x·cos + rotate_half(x)·sin composed from other ops', async () => {
    const [steps, d, start] = [7, 16, 3];
    const q = randomF64([2, 3, steps, d], 2);
    const half = d / 2;
    const cos: number[] = [];
    const sin: number[] = [];
    for (let t = 0; t < steps; t++) {
      // emb = cat(freqs, freqs): feature i and i + d/2 share inv_freq[i] = 1 / 10000^(2i/d).
      for (let i = 0; i < d; i++) {
        const angle = (start + t) / 10000 ** ((2 * (i % half)) / d);
        cos.push(Math.cos(angle));
        sin.push(Math.sin(angle));
      }
    }
    const want = T.tidy(() => {
      const [x1, x2] = T.split(q, 2, -1);
      const rotated = T.concat([T.neg(x2), x1], -1);
      return T.add(T.mul(q, T.tensor(cos, [steps, d], 'f64')), T.mul(rotated, T.tensor(sin, [steps, d], 'f64')));
    });
    const y = T.rope(q, { offset: start });
    expectClose(await values(y), await values(want));
    T.dispose([q, y, want]);
  });

  it('traditional equals non-traditional under the pairs-to-halves permutation of the last axis', async () => {
    for (const { d, dims } of [
      { d: 16, dims: 16 },
      { d: 10, dims: 6 },
    ]) {
      const q = randomF64([2, 3, 5, d], 3 + d);
      const half = dims / 2;
      // toHalves[i]: even features first, then odd ones; the unrotated tail stays in place.
      const toHalves = [
        ...Array.from({ length: half }, (_, i) => 2 * i),
        ...Array.from({ length: half }, (_, i) => 2 * i + 1),
        ...Array.from({ length: d - dims }, (_, i) => dims + i),
      ];
      const back = new Array<number>(d);
      toHalves.forEach((src, i) => {
        back[src] = i;
      });
      const opts = { offset: 4, base: 500, dims, scale: 0.75 };
      const traditional = T.rope(q, { ...opts, traditional: true });
      const viaHalves = T.tidy(() => takeLast(T.rope(takeLast(q, toHalves), { ...opts, traditional: false }), back));
      expectClose(await values(traditional), await values(viaHalves));
      T.dispose([q, traditional, viaHalves]);
    }
  });

  it('leaves features past dims untouched and keeps each rotated pair’s length', async () => {
    const q = randomF64([1, 2, 7, 10], 4);
    const y = T.rope(q, { dims: 6, offset: 9 });
    const [a, b] = [await values(q), await values(y)];
    for (let row = 0; row < a.length / 10; row++) {
      for (let j = 6; j < 10; j++) expect(b[row * 10 + j]).toBe(a[row * 10 + j]);
      for (let i = 0; i < 3; i++) {
        const before = Math.hypot(a[row * 10 + i], a[row * 10 + i + 3]);
        const after = Math.hypot(b[row * 10 + i], b[row * 10 + i + 3]);
        expect(Math.abs(after - before)).toBeLessThan(1e-12);
      }
    }
    T.dispose([q, y]);
  });

  it('inverse undoes the rotation, for both pairings', async () => {
    const q = randomF64([2, 4, 7, 12], 5);
    for (const traditional of [true, false]) {
      const opts = { traditional, offset: 13, base: 1000, dims: 8, scale: 1.5 };
      const round = T.tidy(() => T.rope(T.rope(q, opts), { ...opts, inverse: true }));
      expectClose(await values(round), await values(q));
      round.dispose();
    }
    q.dispose();
  });

  it('the gradient is the inverse rotation of the upstream gradient', async () => {
    const q = randomF64([1, 2, 5, 8], 6);
    const w = randomF64([1, 2, 5, 8], 7);
    const [g] = T.grad((a: T.Tensor) => T.sum(T.mul(T.rope(a, { offset: 2, traditional: true }), w)))(q);
    const want = T.rope(w, { offset: 2, traditional: true, inverse: true });
    expectClose(await values(g), await values(want));
    T.dispose([q, w, g, want]);
  });

  it('a decode step at offset t equals row t of the whole sequence', async () => {
    const q = randomF64([1, 4, 9, 8], 8);
    const full = T.rope(q, { offset: 3 });
    for (let t = 0; t < 9; t++) {
      const step = T.tidy(() => T.rope(T.slice(q, [null, null, { start: t, end: t + 1 }]), { offset: 3 + t }));
      const want = T.tidy(() => T.slice(full, [null, null, { start: t, end: t + 1 }]));
      expectClose(await values(step), await values(want));
      T.dispose([step, want]);
    }
    T.dispose([q, full]);
  });

  it('names the op, the value and the fix in its errors', () => {
    const q = T.zeros([1, 1, 3, 6]);
    expect(() => T.rope(q, { dims: 5 })).toThrow(
      /rope: dims 5 must be an even integer between 2 and the feature size 6/,
    );
    expect(() => T.rope(q, { base: 0 })).toThrow(/rope: base 0 must be a positive finite number/);
    expect(() => T.rope(q, { offset: 1.5 })).toThrow(/rope: offset 1.5 must be a non-negative integer/);
    expect(() => T.rope(q, { scale: Number.NaN })).toThrow(/rope: scale NaN must be a finite number/);
    q.dispose();
  });
});
