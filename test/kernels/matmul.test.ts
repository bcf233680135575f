/**
 * Oracles for the matmul reference: hand-computed products, identity and permutation
 * matrices, NumPy's vector rules, and a second formulation of batched products as a
 * broadcast multiply summed over K (elementwise + reduce ops, their own kernels and vjps).
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

/** a [..., M, K] · b [..., K, N] as Σ_K a[..., M, K, 1] ⊙ b[..., 1, K, N]: no matmul kernel involved. */
function matmulByBroadcast(a: T.Tensor, b: T.Tensor): T.Tensor {
  return T.tidy(() => T.sum(T.mul(T.unsqueeze(a, -1), T.unsqueeze(b, -3)), -2));
}

const A = [
  [1, 2, 3],
  [4, 5, 6],
];
const B = [
  [7, 8],
  [9, 10],
  [11, 12],
];

describe('matmul reference', () => {
  it('multiplies a known 2x3 by 3x2', async () => {
    const y = T.matmul(T.tensor(A), T.tensor(B));
    expect(y.shape).toEqual([2, 2]);
    expect(await values(y)).toEqual([58, 64, 139, 154]);
  });

  it('gives the same product from transposed storage with transposeA / transposeB', async () => {
    const at = T.tensor([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    const bt = T.tensor([
      [7, 9, 11],
      [8, 10, 12],
    ]);
    expect(await values(T.matmul(at, T.tensor(B), { transposeA: true }))).toEqual([58, 64, 139, 154]);
    expect(await values(T.matmul(T.tensor(A), bt, { transposeB: true }))).toEqual([58, 64, 139, 154]);
    // (A·B)ᵀ = Bᵀ·Aᵀ, from the same stored operands.
    expect(await values(T.matmul(bt, at, { transposeA: false, transposeB: false }))).toEqual([58, 139, 64, 154]);
    expect(await values(T.matmul(T.tensor(B), T.tensor(A), { transposeA: true, transposeB: true }))).toEqual([
      58, 139, 64, 154,
    ]);
  });

  it('leaves a matrix unchanged under the identity and permutes rows/columns under a permutation', async () => {
    const x = T.randomNormal([5, 5], 0, 1, { rng: new T.Rng(1) });
    const eye = T.tensor(
      Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0)),
      [5, 5],
    );
    const xs = await values(x);
    expect(await values(T.matmul(eye, x))).toEqual(xs);
    expect(await values(T.matmul(x, eye))).toEqual(xs);
    // P[i, perm[i]] = 1: P·X takes row perm[i] of X as row i; X·Pᵀ does the same to columns.
    const perm = [3, 0, 4, 1, 2];
    const p = T.tensor(
      perm.flatMap((j) => Array.from({ length: 5 }, (_, k) => (k === j ? 1 : 0))),
      [5, 5],
    );
    const rows = await values(T.matmul(p, x));
    const cols = await values(T.matmul(x, p, { transposeB: true }));
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        expect(rows[i * 5 + j]).toBe(xs[perm[i] * 5 + j]);
        expect(cols[i * 5 + j]).toBe(xs[i * 5 + perm[j]]);
      }
    }
  });

  it('follows NumPy for vectors: dot product, row vector, column vector', async () => {
    const u = T.tensor([1, 2, 3]);
    const v = T.tensor([4, 5, 6]);
    const dot = T.matmul(u, v);
    expect(dot.shape).toEqual([]);
    expect(await dot.item()).toBe(32);
    const row = T.matmul(u, T.tensor(B));
    expect(row.shape).toEqual([2]);
    expect(await values(row)).toEqual([58, 64]);
    const col = T.matmul(T.tensor(A), u);
    expect(col.shape).toEqual([2]);
    expect(await values(col)).toEqual([14, 32]);
    // A vector against a batch is broadcast to every matrix of the batch.
    const batch = T.stack([T.tensor(B), T.mul(T.tensor(B), 2)]);
    const out = T.matmul(u, batch);
    expect(out.shape).toEqual([2, 2]);
    expect(await values(out)).toEqual([58, 64, 116, 128]);
  });

  it('broadcasts batch dims [2,1,7,33]·[3,33,5] like the broadcast-multiply formulation', async () => {
    const rng = new T.Rng(2);
    const a = T.randomNormal([2, 1, 7, 33], 0, 1, { rng, dtype: 'f64' });
    const b = T.randomNormal([3, 33, 5], 0, 1, { rng, dtype: 'f64' });
    const y = T.matmul(a, b);
    expect(y.shape).toEqual([2, 3, 7, 5]);
    expectClose(await values(y), await values(matmulByBroadcast(a, b)), 1e-12);
    const bt = T.contiguous(T.transpose(b));
    expectClose(await values(T.matmul(a, bt, { transposeB: true })), await values(y), 1e-12);
  });

  it('multiplies i32 and f16 exactly for small integers', async () => {
    const ai = T.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      undefined,
      'i32',
    );
    const bi = T.tensor(
      [
        [5, 6],
        [7, 8],
      ],
      undefined,
      'i32',
    );
    const yi = T.matmul(ai, bi);
    expect(yi.dtype).toBe('i32');
    expect(await values(yi)).toEqual([19, 22, 43, 50]);
    const yh = T.matmul(T.tensor(A, undefined, 'f16'), T.tensor(B, undefined, 'f16'));
    expect(yh.dtype).toBe('f16');
    expect(await values(yh)).toEqual([58, 64, 139, 154]);
  });

  it('has the hand-derived gradients of sum(A·B): row sums of B and column sums of A', async () => {
    const { grads } = T.valueAndGrad((a: T.Tensor, b: T.Tensor) => T.sum(T.matmul(a, b)))(
      T.tensor(A, undefined, 'f64'),
      T.tensor(B, undefined, 'f64'),
    );
    expect(await values(grads[0])).toEqual([15, 19, 23, 15, 19, 23]);
    expect(await values(grads[1])).toEqual([5, 5, 7, 7, 9, 9]);
  });

  it('matches the broadcast-multiply gradients for every transpose and broadcast combination', async () => {
    const rng = new T.Rng(3);
    const combos: [number[], number[], boolean, boolean][] = [
      [[2, 1, 4, 3], [3, 3, 5], false, false],
      [[2, 4, 3], [3, 5], false, false],
      [[2, 4, 3], [5, 3], false, true],
      [[3, 4], [2, 3, 5], true, false],
      [[2, 3, 4], [5, 3], true, true],
      [[4, 3], [2, 1, 3, 5], false, false],
    ];
    for (const [sa, sb, tA, tB] of combos) {
      const a = T.randomNormal(sa, 0, 1, { rng, dtype: 'f64' });
      const b = T.randomNormal(sb, 0, 1, { rng, dtype: 'f64' });
      const probe = T.matmul(a, b, { transposeA: tA, transposeB: tB });
      const w = T.randomNormal(probe.shape, 0, 1, { rng, dtype: 'f64' });
      const viaMatmul = T.grad((x: T.Tensor, y: T.Tensor) =>
        T.sum(T.mul(T.matmul(x, y, { transposeA: tA, transposeB: tB }), w)),
      )(a, b);
      const viaBroadcast = T.grad((x: T.Tensor, y: T.Tensor) =>
        T.sum(T.mul(matmulByBroadcast(tA ? T.transpose(x) : x, tB ? T.transpose(y) : y), w)),
      )(a, b);
      for (let i = 0; i < 2; i++) {
        expect(viaMatmul[i].shape).toEqual([sa, sb][i]);
        expectClose(await values(viaMatmul[i]), await values(viaBroadcast[i]), 1e-12);
      }
    }
  });

  it('linear is x·Wᵀ + b', async () => {
    const x = T.tensor([
      [1, 2, 3],
      [0, -1, 1],
    ]);
    const w = T.tensor([
      [1, 0, 1],
      [2, 1, 0],
    ]);
    const b = T.tensor([0.5, -1]);
    expect(await values(T.linear(x, w, b))).toEqual([4.5, 3, 1.5, -2]);
    expect(await values(T.linear(x, w))).toEqual([4, 4, 1, -1]);
    const batched = T.linear(T.reshape(T.concat([x, x]), [2, 2, 3]), w, b);
    expect(batched.shape).toEqual([2, 2, 2]);
    expect(await values(batched)).toEqual([4.5, 3, 1.5, -2, 4.5, 3, 1.5, -2]);
  });

  it('rejects mismatched shapes, scalars and dtypes with errors naming the operands', () => {
    const a = T.zeros([2, 3]);
    expect(() => T.matmul(a, T.zeros([2, 3]))).toThrow(
      /matmul: inner dimensions differ for a · b with a \[2, 3\] and b \[2, 3\] \(3 vs 2\)/,
    );
    expect(() => T.matmul(T.zeros([2, 2, 3]), T.zeros([3, 3, 1]))).toThrow(/cannot broadcast/);
    expect(() => T.matmul(T.scalar(2), a)).toThrow(/use mul for scalars/);
    expect(() => T.matmul(a, T.zeros([3, 2], 'f64'))).toThrow(/dtypes f32 and f64/);
    expect(() => T.matmul(T.zeros([3]), a, { transposeA: true })).toThrow(/vector has no axes to transpose/);
    expect(() => T.linear(T.zeros([2, 4]), a)).toThrow(/in-features 3/);
    expect(() => T.linear(T.zeros([3]), T.zeros([3]))).toThrow(/weight must be \[out, in\]/);
  });
});
