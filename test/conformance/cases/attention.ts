import * as T from '../../../index.js';
import type { InputSpec, OpCase } from '../harness.js';

/** q [B, Hq, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv]. */
function qkv(B: number, Hq: number, Hkv: number, Tq: number, S: number, D: number, Dv = D): InputSpec[] {
  return [{ shape: [B, Hq, Tq, D] }, { shape: [B, Hkv, S, D] }, { shape: [B, Hkv, S, Dv] }];
}

/**
 * An additive mask with whole rows of -Infinity (rows 2 and 5 of every head) and scattered
 * -Infinity elsewhere: the fully masked rows must come out as zeros on every backend.
 */
function maskWithDeadRows(Tq: number, S: number, dtype: T.DType): T.Tensor {
  const values: number[] = [];
  for (let t = 0; t < Tq; t++) {
    for (let j = 0; j < S; j++)
      values.push(t === 2 || t === 5 || (t * 7 + j * 3) % 5 === 0 ? Number.NEGATIVE_INFINITY : ((t + j) % 3) * -0.5);
  }
  return T.tensor(values, [1, 1, Tq, S], dtype);
}

/** The mask of a case, as the direct attentionBackward op wants it: q's dtype. */
function sameDType(mask: T.Tensor, like: T.Tensor): T.Tensor {
  return mask.dtype === like.dtype ? mask : T.cast(mask, like.dtype);
}

const forward: OpCase[] = [
  {
    name: 'sdpa one head [1,1,7,8] over S=7, non-causal',
    inputs: qkv(1, 1, 1, 7, 7, 8),
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v),
    grad: true,
  },
  {
    name: 'sdpa GQA 4/2 causal [2,4,7,16] over a KV cache of S=33',
    inputs: qkv(2, 4, 2, 7, 33, 16),
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v, { causal: true }),
    grad: true,
  },
  {
    name: 'sdpa GQA 4/2 decode step T=1 causal over S=33, D=8',
    inputs: qkv(1, 4, 2, 1, 33, 8),
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v, { causal: true }),
    grad: true,
  },
  {
    name: 'sdpa causal T=S=7, one head, D=16',
    inputs: qkv(1, 1, 1, 7, 7, 16),
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v, { causal: true }),
  },
  {
    name: 'sdpa MQA 4/1, Dv=5, scale 0.3 [2,4,7,8] over S=33',
    inputs: qkv(2, 4, 1, 7, 33, 8, 5),
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v, { scale: 0.3 }),
    grad: true,
  },
  {
    // The mask's dtype is fixed, so the gradient check leaves it alone: it is a constant.
    name: 'sdpa GQA 4/2 causal + additive mask [1,1,7,33] (f32 mask cast to q), Dv=5',
    inputs: [...qkv(1, 4, 2, 7, 33, 8, 5), { shape: [1, 1, 7, 33], dtype: 'f32', kind: 'uniform', range: [-3, 0] }],
    run: ([q, k, v, mask]) => T.scaledDotProductAttention(q, k, v, { causal: true, mask }),
    grad: true,
  },
  {
    name: 'sdpa full-shape additive mask [2,4,7,33] in q dtype, GQA 4/2',
    inputs: [...qkv(2, 4, 2, 7, 33, 8), { shape: [2, 4, 7, 33], kind: 'uniform', range: [-4, 1] }],
    run: ([q, k, v, mask]) => T.scaledDotProductAttention(q, k, v, { mask }),
  },
  {
    name: 'sdpa u8 mask [2,1,1,33] (nonzero keeps) decode step, GQA 4/2',
    inputs: [...qkv(2, 4, 2, 1, 33, 16), { shape: [2, 1, 1, 33], dtype: 'u8', kind: 'mask' }],
    run: ([q, k, v, mask]) => T.scaledDotProductAttention(q, k, v, { mask }),
  },
  {
    name: 'sdpa fully masked rows give zeros, causal, GQA 4/2 over S=9',
    inputs: qkv(1, 4, 2, 7, 9, 8),
    run: ([q, k, v]) =>
      T.tidy(() => T.scaledDotProductAttention(q, k, v, { causal: true, mask: maskWithDeadRows(7, 9, q.dtype) })),
  },
  {
    name: 'sdpa transposed q, sliced k, expanded v, GQA 4/2 causal',
    inputs: [
      { shape: [2, 4, 7, 8], layout: 'transposed' },
      { shape: [2, 2, 33, 8], layout: 'sliced' },
      { shape: [2, 2, 33, 8], layout: 'expanded' },
    ],
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v, { causal: true }),
  },
];

const backward: OpCase[] = [
  {
    name: 'attentionBackward GQA 4/2 causal [2,4,7,8] over S=33',
    inputs: [...qkv(2, 4, 2, 7, 33, 8), { shape: [2, 4, 7, 8] }, { shape: [2, 4, 7, 8] }],
    run: ([q, k, v, o, dO]) => T.runOp(T.attentionBackwardOp, [q, k, v, o, dO], { scale: 0.35, causal: true }),
    grad: true,
  },
  {
    name: 'attentionBackward with mask [1,1,7,33], one head, Dv=5',
    inputs: [
      ...qkv(1, 1, 1, 7, 33, 8, 5),
      { shape: [1, 1, 7, 5] },
      { shape: [1, 1, 7, 5] },
      { shape: [1, 1, 7, 33], dtype: 'f32', kind: 'uniform', range: [-3, 0] },
    ],
    run: ([q, k, v, o, dO, mask]) =>
      T.tidy(() => T.runOp(T.attentionBackwardOp, [q, k, v, o, dO, sameDType(mask, q)], { scale: 0.5, causal: false })),
    // In f16 the f32 mask (−3..0) is rounded to f16 (q's dtype), moving each score by up to
    // 1.5e-3 against the oracle's exact mask; dk inherits that through the softmax weights.
    tol: { f16: { rtol: 2e-3, atol: 1e-3 } },
    grad: true,
  },
  {
    name: 'attentionBackward decode step T=1, MQA 4/1, causal, D=16',
    inputs: [...qkv(1, 4, 1, 1, 33, 16), { shape: [1, 4, 1, 16] }, { shape: [1, 4, 1, 16] }],
    run: ([q, k, v, o, dO]) => T.runOp(T.attentionBackwardOp, [q, k, v, o, dO], { scale: 0.25, causal: true }),
    grad: true,
  },
  {
    name: 'attentionBackward with fully masked rows, GQA 4/2',
    inputs: [...qkv(1, 4, 2, 7, 9, 8), { shape: [1, 4, 7, 8] }, { shape: [1, 4, 7, 8] }],
    run: ([q, k, v, o, dO]) =>
      T.tidy(() =>
        T.runOp(T.attentionBackwardOp, [q, k, v, o, dO, maskWithDeadRows(7, 9, q.dtype)], { scale: 0.4, causal: true }),
      ),
  },
];

const f32Only = ['f32'] as const;

const rejected: OpCase[] = [
  {
    name: 'sdpa query heads not a multiple of kv heads rejected',
    inputs: qkv(1, 3, 2, 7, 7, 8),
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v),
    throws: /q has 3 heads and k\/v 2; the query heads must be a multiple/,
    dtypes: f32Only,
  },
  {
    name: 'sdpa head size mismatch rejected',
    inputs: [{ shape: [1, 2, 7, 8] }, { shape: [1, 2, 7, 16] }, { shape: [1, 2, 7, 16] }],
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v),
    throws: /q has head size 8 but k has 16/,
    dtypes: f32Only,
  },
  {
    name: 'sdpa k/v length mismatch rejected',
    inputs: [{ shape: [1, 2, 7, 8] }, { shape: [1, 2, 7, 8] }, { shape: [1, 2, 6, 8] }],
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v),
    throws: /k and v must have the same heads and length/,
    dtypes: f32Only,
  },
  {
    name: 'sdpa causal with more queries than keys rejected',
    inputs: qkv(1, 1, 1, 7, 5, 8),
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v, { causal: true }),
    throws: /needs T <= S/,
    dtypes: f32Only,
  },
  {
    name: 'sdpa mask that does not broadcast rejected',
    inputs: [...qkv(1, 2, 2, 7, 33, 8), { shape: [1, 2, 7, 32] }],
    run: ([q, k, v, mask]) => T.scaledDotProductAttention(q, k, v, { mask }),
    throws: /cannot broadcast/,
    dtypes: f32Only,
  },
  {
    name: 'sdpa rank-3 q rejected',
    inputs: [{ shape: [2, 7, 8] }, { shape: [1, 2, 7, 8] }, { shape: [1, 2, 7, 8] }],
    run: ([q, k, v]) => T.scaledDotProductAttention(q, k, v),
    throws: /q must be \[B, heads, length, headSize\] \(rank 4\)/,
    dtypes: f32Only,
  },
  {
    name: 'sdpa i32 mask rejected',
    inputs: [...qkv(1, 2, 2, 7, 7, 8), { shape: [1, 1, 7, 7], dtype: 'i32' }],
    run: ([q, k, v, mask]) => T.scaledDotProductAttention(q, k, v, { mask }),
    throws: /mask dtype i32 is neither float/,
    dtypes: f32Only,
  },
  {
    name: 'attentionBackward dO of the wrong shape rejected',
    inputs: [...qkv(1, 2, 2, 7, 7, 8), { shape: [1, 2, 7, 8] }, { shape: [1, 2, 7, 5] }],
    run: ([q, k, v, o, dO]) => T.runOp(T.attentionBackwardOp, [q, k, v, o, dO], { scale: 1, causal: false }),
    throws: /dO is \[1, 2, 7, 5\] f32; it must be the output's \[1, 2, 7, 8\]/,
    dtypes: f32Only,
  },
];

export const attentionCases: OpCase[] = [...forward, ...backward, ...rejected];
