/**
 * A whole Llama decoder layer as one op, for decoding: where the layer as separate ops is ~20 engine
 * dispatches per token (norms, seven projections, RoPE, attention, the KV append, residuals), this is one,
 * and on native one addon call. It computes exactly models/llama/model.ts's block:
 *
 *   x = rmsNorm(h)·inputNorm;  q, k, v = x·Wqᵀ, x·Wkᵀ, x·Wvᵀ;  q, k = rope(q, k) at positions cached + t
 *   a = softmax(q·kᵀ/√d, causal)·v over the `cached` valid rows of the cache and the new rows
 *   h' = h + a·Woᵀ;  y = h' + (silu(n·Wgᵀ) ⊙ n·Wuᵀ)·Wdᵀ with n = rmsNorm(h')·postNorm
 *
 * and returns [y, k, v] with the new keys (roped) and values as [B, kvHeads, T, d], for the caller to
 * append to its cache (the op reads the cache, it does not write it). Inference only: no gradient (train
 * through the separate ops). Plain RoPE (base, position scale) over the whole head; dense f32 projections
 * without bias.
 */
import { defineOp, runOp } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { formatShape } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';

export interface DecoderLayerAttrs {
  /** Valid rows of the keys/values inputs (0: no cache inputs); the new rows sit at positions cached…cached+T−1. */
  readonly cached: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly eps: number;
  readonly ropeBase: number;
  /** Positions are multiplied by this (linear RoPE scaling: 1 / factor). */
  readonly ropeScale: number;
  /** Rotate adjacent pairs (llama2.c, GPT-J) instead of the two halves (Hugging Face Llama). */
  readonly ropeTraditional: boolean;
}

/** The layer's weights in op input order after h: PyTorch layout [out, in]. */
export interface DecoderLayerWeights {
  readonly inputNorm: Tensor;
  readonly wq: Tensor;
  readonly wk: Tensor;
  readonly wv: Tensor;
  readonly wo: Tensor;
  readonly postNorm: Tensor;
  readonly wGate: Tensor;
  readonly wUp: Tensor;
  readonly wDown: Tensor;
}

const WEIGHT_NAMES = ['inputNorm', 'wq', 'wk', 'wv', 'wo', 'postNorm', 'wGate', 'wUp', 'wDown'] as const;

export const decoderLayerOp = defineOp<DecoderLayerAttrs>({
  name: 'decoderLayer',
  infer(inputs, a) {
    const { cached, numHeads, numKvHeads, headDim } = a;
    if (inputs.length !== (cached > 0 ? 12 : 10)) {
      throw new ShapeError(
        `decoderLayer: takes h, 9 weights${cached > 0 ? ' and the cached keys and values' : ''} (cached ${cached}), got ${inputs.length} inputs`,
      );
    }
    const [h] = inputs;
    if (h.shape.length !== 3)
      throw new ShapeError(`decoderLayer: h must be [B, T, hidden], got ${formatShape(h.shape)}`);
    if (h.dtype !== 'f32' && h.dtype !== 'f64') {
      throw new DTypeError(`decoderLayer: h must be f32 (or f64), got ${h.dtype}`);
    }
    for (const t of inputs) {
      if (t.dtype !== h.dtype) throw new DTypeError(`decoderLayer: every input must be h's ${h.dtype}, got ${t.dtype}`);
    }
    const [B, T, H] = h.shape;
    if (!Number.isInteger(numHeads) || !Number.isInteger(numKvHeads) || numKvHeads < 1 || numHeads % numKvHeads) {
      throw new ShapeError(`decoderLayer: numHeads ${numHeads} must be a multiple of numKvHeads ${numKvHeads}`);
    }
    if (headDim % 2 || headDim < 2) throw new ShapeError(`decoderLayer: headDim ${headDim} must be even`);
    if (!Number.isInteger(cached) || cached < 0) throw new ShapeError(`decoderLayer: cached ${cached} must be ≥ 0`);
    const q = numHeads * headDim;
    const kv = numKvHeads * headDim;
    const I = inputs[7].shape[0];
    const want: number[][] = [[H], [q, H], [kv, H], [kv, H], [H, q], [H], [I, H], [I, H], [H, I]];
    want.forEach((shape, i) => {
      const got = inputs[i + 1].shape;
      if (got.length !== shape.length || got.some((d, j) => d !== shape[j])) {
        throw new ShapeError(
          `decoderLayer: ${WEIGHT_NAMES[i]} must be ${formatShape(shape)} for hidden ${H}, ${numHeads}×${headDim} heads, ${numKvHeads} kv heads; got ${formatShape(got)}`,
        );
      }
    });
    if (cached > 0) {
      for (const [name, t] of [
        ['keys', inputs[10]],
        ['values', inputs[11]],
      ] as const) {
        const [b, heads, rows, d] = t.shape;
        if (t.shape.length !== 4 || b !== B || heads !== numKvHeads || d !== headDim || rows < cached) {
          throw new ShapeError(
            `decoderLayer: cached ${name} must be [${B}, ${numKvHeads}, ≥ ${cached}, ${headDim}], got ${formatShape(t.shape)}`,
          );
        }
      }
    }
    return [
      { shape: [B, T, H], dtype: h.dtype },
      { shape: [B, numKvHeads, T, headDim], dtype: h.dtype },
      { shape: [B, numKvHeads, T, headDim], dtype: h.dtype },
    ];
  },
});

/**
 * One decoder layer on h [B, T, hidden] after `cache` (the valid rows of the layer's keys and values, or
 * none): [h', newKeys, newValues] (see decoderLayerOp).
 */
export function decoderLayer(
  h: Tensor,
  weights: DecoderLayerWeights,
  attrs: DecoderLayerAttrs,
  cache?: { readonly keys: Tensor; readonly values: Tensor },
): [Tensor, Tensor, Tensor] {
  const w = weights;
  const inputs = [h, w.inputNorm, w.wq, w.wk, w.wv, w.wo, w.postNorm, w.wGate, w.wUp, w.wDown];
  if (attrs.cached > 0) {
    if (!cache) throw new ShapeError(`decoderLayer: cached ${attrs.cached} rows but no cache given`);
    inputs.push(cache.keys, cache.values);
  }
  const [y, k, v] = runOp(decoderLayerOp, inputs, attrs);
  return [y, k, v];
}
