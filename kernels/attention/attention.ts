/**
 * Scaled dot-product attention with grouped key/value heads (GQA/MQA), causal
 * masking aligned to the end of the keys (the KV-cache case) and an optional
 * additive mask:
 *
 *   o[b,h,t] = Σ_j softmax_j(scale·q[b,h,t]·k[b,h/G,j] + mask[b,h,t,j]) · v[b,h/G,j],  G = Hq/Hkv
 *
 * The forward pass and its gradient are each one op, as a fused (flash-attention)
 * kernel computes them: the scores matrix is never an op output. A query row with
 * no admissible key (every score -Infinity) gives zeros and a zero gradient rather
 * than the 0/0 of a plain softmax, so padded rows cannot poison a batch with NaN.
 *
 * The mask is a constant: it receives no gradient. Masks here are structure
 * (causality, padding, cache validity); leaving dS out of the backward op keeps a
 * fused kernel from writing back a [B, Hq, T, S] matrix.
 */
import type { TensorInfo } from '../../core/backend.js';
import { scalar, tensor } from '../../core/creation.js';
import { type DType, isFloat } from '../../core/dtype.js';
import { defineOp, run1, runOp } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { broadcastShapes, formatShape, shapesEqual } from '../../core/shape.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import { add, cast, mul, neg, sub, where } from '../elementwise/elementwise.js';
import { expand, pad, reshape, slice, unsqueeze } from '../layout/layout.js';
import { matmul } from '../matmul/matmul.js';
import { sum } from '../reduce/reduce.js';

export interface AttentionAttrs {
  /** Multiplies q·k before the mask is added. */
  readonly scale: number;
  /** Query t sees keys j ≤ t + S - T: the queries are the last T of the S positions. */
  readonly causal: boolean;
  /**
   * Only the first `kvLength` of the S key/value rows hold keys (a preallocated KV cache passes its
   * whole buffer and how much of it is filled): the rest are never read, so attention costs what
   * the valid keys cost and needs no copy of them. Causal alignment and the mask then refer to
   * the valid keys: query t sees keys j ≤ t + kvLength − T; the mask broadcasts to
   * [B, Hq, T, kvLength]. Absent: all S rows.
   */
  readonly kvLength?: number;
}

export interface AttentionOptions {
  /** Default 1/sqrt(D). */
  readonly scale?: number;
  /** Default false. Needs T ≤ S. */
  readonly causal?: boolean;
  /** The number of valid key/value rows (see AttentionAttrs.kvLength); default all of them. */
  readonly kvLength?: number;
  /**
   * Broadcastable to [B, Hq, T, S] (S = kvLength when given): an additive float mask (0 keeps, -Infinity drops; any
   * float dtype, cast to q's) or a u8 mask (nonzero keeps). A constant: it gets no gradient.
   */
  readonly mask?: Tensor;
}

export interface AttentionDims {
  readonly batch: number;
  readonly heads: number;
  readonly kvHeads: number;
  /** Queries. */
  readonly T: number;
  /** Key rows in k and v. */
  readonly S: number;
  /** Valid keys: the first `keys` of the S rows (kvLength, or S). */
  readonly keys: number;
  readonly D: number;
  readonly Dv: number;
}

/** The dimensions of an attention call; throws naming the op and shapes when they do not fit. */
export function attentionDims(
  op: string,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  mask: TensorInfo | undefined,
  { scale, causal, kvLength }: AttentionAttrs,
): AttentionDims {
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.shape.length !== 4) {
      throw new ShapeError(`${op}: ${name} must be [B, heads, length, headSize] (rank 4), got ${formatShape(t.shape)}`);
    }
  }
  if (!isFloat(q.dtype)) throw new DTypeError(`${op}: needs float tensors, got q ${q.dtype} (cast it first)`);
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new DTypeError(`${op}: q, k, v have dtypes ${q.dtype}, ${k.dtype}, ${v.dtype}; cast them to one`);
  }
  const [batch, heads, T, D] = q.shape;
  const [kb, kvHeads, S, kd] = k.shape;
  const [vb, vh, vs, Dv] = v.shape;
  const shapes = `q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`;
  if (kb !== batch || vb !== batch)
    throw new ShapeError(`${op}: batch sizes differ (${shapes}); q, k and v need the same B`);
  if (kd !== D) {
    throw new ShapeError(
      `${op}: q has head size ${D} but k has ${kd} (${shapes}); q and k need the same last dimension`,
    );
  }
  if (vh !== kvHeads || vs !== S) {
    throw new ShapeError(`${op}: k and v must have the same heads and length (${shapes})`);
  }
  if (kvHeads === 0 || heads % kvHeads !== 0) {
    throw new ShapeError(
      `${op}: q has ${heads} heads and k/v ${kvHeads}; the query heads must be a multiple of the key/value heads (${shapes})`,
    );
  }
  if (!Number.isFinite(scale))
    throw new ShapeError(`${op}: scale ${scale} must be a finite number (default 1/sqrt(headSize))`);
  const keys = kvLength ?? S;
  if (!Number.isInteger(keys) || keys < 0 || keys > S) {
    throw new ShapeError(
      `${op}: kvLength ${kvLength} must be an integer in [0, ${S}], the number of valid rows of k and v (${shapes})`,
    );
  }
  if (causal && T > keys) {
    throw new ShapeError(
      `${op}: causal attention aligns the ${T} queries with the last of the ${keys} keys, so it needs T <= ${kvLength === undefined ? 'S' : 'kvLength'} (${shapes}); pass the whole key sequence or drop causal`,
    );
  }
  if (mask) {
    const full = [batch, heads, T, keys];
    if (mask.dtype !== q.dtype) {
      throw new DTypeError(`${op}: mask dtype ${mask.dtype} differs from q's ${q.dtype}; cast the mask to ${q.dtype}`);
    }
    if (mask.shape.length > 4 || !shapesEqual(broadcastShapes(`${op} (mask)`, mask.shape, full), full)) {
      throw new ShapeError(
        `${op}: mask ${formatShape(mask.shape)} does not broadcast to the scores [B, Hq, T, ${kvLength === undefined ? 'S' : 'kvLength'}] = ${formatShape(full)}`,
      );
    }
  }
  return { batch, heads, kvHeads, T, S, keys, D, Dv };
}

export const scaledDotProductAttentionOp = defineOp<AttentionAttrs>({
  name: 'scaledDotProductAttention',
  infer(inputs, attrs) {
    if (inputs.length !== 3 && inputs.length !== 4) {
      throw new ShapeError(
        `scaledDotProductAttention: takes q, k, v and an optional mask, got ${inputs.length} inputs`,
      );
    }
    const [q, k, v, mask] = inputs;
    const { batch, heads, T, Dv } = attentionDims('scaledDotProductAttention', q, k, v, mask, attrs);
    return [{ shape: [batch, heads, T, Dv], dtype: q.dtype }];
  },
  vjp([g], { inputs, outputs: [o], attrs }) {
    const [q, k, v, mask] = inputs;
    const { kvLength, ...full } = attrs;
    const S = k.shape[2];
    if (kvLength !== undefined && kvLength < S) {
      // Rows past kvLength get zero gradients: the backward op runs on the valid rows only.
      return tidy(() => {
        const valid = (t: Tensor) => slice(t, [null, null, { end: kvLength }]);
        const rest = (t: Tensor) =>
          pad(t, [
            [0, 0],
            [0, 0],
            [0, S - kvLength],
            [0, 0],
          ]);
        const inner = [q, valid(k), valid(v), o, g, ...(mask ? [mask] : [])];
        const [dq, dk, dv] = runOp(attentionBackwardOp, inner, full);
        return [dq, rest(dk), rest(dv), ...(mask ? [null] : [])];
      });
    }
    const grads: (Tensor | null)[] = runOp(attentionBackwardOp, mask ? [q, k, v, o, g, mask] : [q, k, v, o, g], full);
    if (mask) grads.push(null);
    return grads;
  },
});

/**
 * The gradient of attention: inputs q, k, v, o (the forward output), dO and the optional
 * mask; outputs dq, dk, dv. With P the attention weights, dS = P∘(dO·vᵀ - rowsum(dO∘o)),
 * dq = scale·dS·k, dk = scale·dSᵀ·q and dv = Pᵀ·dO, dk and dv summed over each key/value
 * head's group of query heads. o enters only through rowsum(dO∘o), which spares a fused
 * kernel from recomputing the forward pass.
 */
export const attentionBackwardOp = defineOp<AttentionAttrs>({
  name: 'attentionBackward',
  infer(inputs, attrs) {
    if (inputs.length !== 5 && inputs.length !== 6) {
      throw new ShapeError(`attentionBackward: takes q, k, v, o, dO and an optional mask, got ${inputs.length} inputs`);
    }
    const [q, k, v, o, dO, mask] = inputs;
    if (attrs.kvLength !== undefined) {
      throw new ShapeError('attentionBackward: takes no kvLength (the forward vjp passes the valid rows only)');
    }
    const { batch, heads, T, Dv } = attentionDims('attentionBackward', q, k, v, mask, attrs);
    const expected = [batch, heads, T, Dv];
    for (const [name, t] of [
      ['o', o],
      ['dO', dO],
    ] as const) {
      if (!shapesEqual(t.shape, expected) || t.dtype !== q.dtype) {
        throw new ShapeError(
          `attentionBackward: ${name} is ${formatShape(t.shape)} ${t.dtype}; it must be the output's ${formatShape(expected)} ${q.dtype}`,
        );
      }
    }
    return [
      { shape: q.shape, dtype: q.dtype },
      { shape: k.shape, dtype: q.dtype },
      { shape: v.shape, dtype: q.dtype },
    ];
  },
  vjp(grads, { inputs, attrs }) {
    return tidy(() => attentionBackwardVjp(grads, inputs, attrs));
  },
});

/** [S, S] identity broadcast as the values of every key/value head. */
function identityValues(batch: number, kvHeads: number, S: number, dtype: DType): Tensor {
  const eye = new Float64Array(S * S);
  for (let i = 0; i < S; i++) eye[i * S + i] = 1;
  return expand(tensor(eye, [1, 1, S, S], dtype), [batch, kvHeads, S, S]);
}

/**
 * Second derivatives (the gradient of attentionBackward), written with public ops so they
 * run on any backend. Query heads are grouped as [B, Hkv, G, T, ·] so one broadcasting
 * matmul pairs every query head with its key/value head. Two attention identities keep the
 * softmax inside this family's ops (so fully masked rows keep their zero convention):
 * with v = I the forward op returns the weights P itself, and attentionBackward(q, k, I,
 * o = P, dO = P̄) returns the gradients of q and k through P for any adjoint P̄.
 */
function attentionBackwardVjp(
  [gq, gk, gv]: readonly Tensor[],
  inputs: readonly Tensor[],
  attrs: AttentionAttrs,
): (Tensor | null)[] {
  const [q, k, v, o, dO, mask] = inputs;
  const { batch, heads, kvHeads, S } = attentionDims('attentionBackward', q, k, v, mask, attrs);
  const c = attrs.scale;
  const G = heads / kvHeads;
  const grouped = (t: Tensor) => reshape(t, [batch, kvHeads, G, t.shape[2], t.shape[3]]);
  const ungrouped = (t: Tensor) => reshape(t, [batch, heads, t.shape[3], t.shape[4]]);
  const shared = (t: Tensor) => unsqueeze(t, 2);
  const sumGroups = (t: Tensor) => sum(t, 2);
  const maskInput = mask ? [mask] : [];
  const eye = identityValues(batch, kvHeads, S, q.dtype);

  const weights = run1(scaledDotProductAttentionOp, [q, k, eye, ...maskInput], attrs);
  const P = grouped(weights);
  const [q5, o5, dO5, gq5] = [q, o, dO, gq].map(grouped);
  const [k5, v5, gk5, gv5] = [k, v, gk, gv].map(shared);
  const tB = { transposeB: true };

  const dPc = sub(matmul(dO5, v5, tB), sum(mul(dO5, o5), -1, true));
  const dS = mul(P, dPc);
  const dSBar = mul(add(matmul(gq5, k5, tB), matmul(q5, gk5, tB)), c);
  const PBar = add(matmul(dO5, gv5, tB), mul(dSBar, dPc));
  const dPBar = mul(dSBar, P);
  const deltaBar = neg(sum(dPBar, -1, true));
  const oBar = mul(deltaBar, dO5);
  const dOBar = add(add(matmul(P, gv5), matmul(dPBar, v5)), mul(deltaBar, o5));
  const vBar = sumGroups(matmul(dPBar, dO5, { transposeA: true }));
  const kBar = mul(sumGroups(matmul(dS, gq5, { transposeA: true })), c);
  const qBar = mul(matmul(dS, gk5), c);
  const [qThroughP, kThroughP] = runOp(attentionBackwardOp, [q, k, eye, weights, ungrouped(PBar), ...maskInput], attrs);

  const result: (Tensor | null)[] = [
    add(ungrouped(qBar), qThroughP),
    add(kBar, kThroughP),
    vBar,
    ungrouped(oBar),
    ungrouped(dOBar),
  ];
  if (mask) result.push(null);
  return result;
}

/** The op's mask: u8 becomes 0 / -Infinity, other float dtypes are cast to q's. */
function additiveMask(mask: Tensor, dtype: DType): Tensor {
  if (mask.dtype === 'u8') return where(mask, scalar(0, dtype), Number.NEGATIVE_INFINITY);
  if (isFloat(mask.dtype)) return cast(mask, dtype);
  throw new DTypeError(
    `scaledDotProductAttention: mask dtype ${mask.dtype} is neither float (additive) nor u8 (nonzero keeps); cast it to ${dtype}`,
  );
}

/**
 * softmax(scale·q·kᵀ + mask)·v per head. q [B, Hq, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv]
 * with Hq a multiple of Hkv (query head h reads key/value head floor(h / (Hq/Hkv))); returns
 * [B, Hq, T, Dv]. `causal` lets query t see keys up to t + S - T, so a decoding step
 * (T = 1) sees the whole cache. `kvLength` limits k and v to their first rows (a preallocated
 * cache: the buffer as it is and the count of positions filled).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const attrs: AttentionAttrs = {
    scale: options.scale ?? 1 / Math.sqrt(q.shape[q.rank - 1]),
    causal: options.causal ?? false,
    ...(options.kvLength === undefined ? {} : { kvLength: options.kvLength }),
  };
  const { mask } = options;
  if (!mask) return run1(scaledDotProductAttentionOp, [q, k, v], attrs);
  if (mask.dtype === q.dtype) return run1(scaledDotProductAttentionOp, [q, k, v, mask], attrs);
  return tidy(() => run1(scaledDotProductAttentionOp, [q, k, v, additiveMask(mask, q.dtype)], attrs));
}
