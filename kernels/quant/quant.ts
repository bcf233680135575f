/**
 * MLX affine quantization (../shared/reference/formats.md §1): a weight [..., K] becomes packed
 * u32 words [..., K·bits/32] (each row an LSB-first bitstream, element i at bits
 * [i·bits, i·bits + bits), words straddled at 3, 5 and 6 bits) plus one scale and one bias per
 * group of `groupSize` consecutive elements; ŵ = q·scale + bias. Files move between this toolkit
 * and mlx-lm unchanged.
 *
 * Ops: `quantize` (rounding exactly as MLX's CPU code: f32 arithmetic, rint ties to even),
 * `dequantize`, `quantizedMatmul` (x · dequant(W)ᵀ, or x · dequant(W) without the transpose,
 * dequantizing on the fly) and `quantizedEmbedding` (rows gathered, then dequantized).
 * quantizedMatmul is differentiable in x only: the gradient flows through a frozen quantized
 * weight (QLoRA), as a quantized matmul with the transpose flipped.
 */
import type { TensorInfo } from '../../core/backend.js';
import { isFloat } from '../../core/dtype.js';
import { defineOp, type OpDef, run1, runOp } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { formatShape, shapesEqual } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';

/** The bit widths and group sizes MLX's affine mode accepts. */
export const QUANT_BITS = [2, 3, 4, 5, 6, 8] as const;
export const QUANT_GROUP_SIZES = [32, 64, 128] as const;

export type QuantBits = (typeof QUANT_BITS)[number];
export type QuantGroupSize = (typeof QUANT_GROUP_SIZES)[number];

export interface QuantAttrs {
  readonly bits: number;
  readonly groupSize: number;
}

export interface QuantizedMatmulAttrs extends QuantAttrs {
  /** true: W is stored [N, K] and the op computes x · Wᵀ (a Linear); false: W is [K, N], x · W. */
  readonly transpose: boolean;
}

/** A weight in MLX's affine layout: what mlx-lm stores as `<path>.weight`, `.scales`, `.biases`. */
export interface QuantizedWeight {
  /** u32 [..., K·bits/32]: packed codes, LSB first. */
  readonly weight: Tensor;
  /** [..., K/groupSize] in the float dtype of the original weight. */
  readonly scales: Tensor;
  /** Same shape and dtype as scales. */
  readonly biases: Tensor;
  readonly bits: QuantBits;
  readonly groupSize: QuantGroupSize;
}

export interface QuantizeOptions {
  /** 2, 3, 4, 5, 6 or 8 (default 4, as MLX). */
  readonly bits?: number;
  /** 32, 64 or 128 (default 64, as MLX). */
  readonly groupSize?: number;
}

/** Throws unless bits and groupSize are a pair MLX accepts. */
export function checkQuantAttrs(op: string, { bits, groupSize }: QuantAttrs): void {
  if (!(QUANT_BITS as readonly number[]).includes(bits)) {
    throw new DTypeError(`${op}: bits must be one of ${QUANT_BITS.join(', ')} (MLX's affine modes), got ${bits}`);
  }
  if (!(QUANT_GROUP_SIZES as readonly number[]).includes(groupSize)) {
    throw new ShapeError(`${op}: groupSize must be one of ${QUANT_GROUP_SIZES.join(', ')}, got ${groupSize}`);
  }
}

/** Unpacked elements per row of packed words (throws when the words cannot hold whole elements). */
function unpackedLength(op: string, words: TensorInfo, bits: number): number {
  const n = words.shape[words.shape.length - 1];
  if ((n * 32) % bits !== 0) {
    throw new ShapeError(`${op}: ${n} words per row do not hold a whole number of ${bits}-bit elements`);
  }
  return (n * 32) / bits;
}

/**
 * The unpacked shape of a packed triplet, checked: weight u32 [..., W], scales and biases the
 * same float dtype and shape [..., K/groupSize], with K = W·32/bits.
 */
export function packedShape(op: string, [weight, scales, biases]: readonly TensorInfo[], attrs: QuantAttrs): number[] {
  checkQuantAttrs(op, attrs);
  if (weight.dtype !== 'u32') {
    throw new DTypeError(`${op}: the packed weight must be u32 (MLX's layout), got ${weight.dtype}`);
  }
  if (!isFloat(scales.dtype) || scales.dtype === 'f64') {
    throw new DTypeError(`${op}: scales must be f32, f16 or bf16, got ${scales.dtype}`);
  }
  if (biases.dtype !== scales.dtype) {
    throw new DTypeError(`${op}: biases are ${biases.dtype} but scales are ${scales.dtype}; they must match`);
  }
  if (!shapesEqual(scales.shape, biases.shape)) {
    throw new ShapeError(
      `${op}: scales ${formatShape(scales.shape)} and biases ${formatShape(biases.shape)} differ in shape`,
    );
  }
  if (weight.shape.length < 1) throw new ShapeError(`${op}: the packed weight must have rank >= 1, got a scalar`);
  const k = unpackedLength(op, weight, attrs.bits);
  const lead = weight.shape.slice(0, -1);
  const expected = [...lead, k / attrs.groupSize];
  if (k % attrs.groupSize !== 0 || !shapesEqual(scales.shape, expected)) {
    throw new ShapeError(
      `${op}: a packed weight ${formatShape(weight.shape)} at ${attrs.bits} bits unpacks to ${formatShape([...lead, k])}, ` +
        `which needs scales and biases ${formatShape(expected)} for group size ${attrs.groupSize}; got ${formatShape(scales.shape)}`,
    );
  }
  return [...lead, k];
}

export const quantizeOp = defineOp<QuantAttrs>({
  name: 'quantize',
  infer([w], attrs) {
    checkQuantAttrs('quantize', attrs);
    if (!isFloat(w.dtype) || w.dtype === 'f64') {
      throw new DTypeError(`quantize: needs an f32, f16 or bf16 weight, got ${w.dtype} (cast it first)`);
    }
    if (w.shape.length < 2) {
      throw new ShapeError(`quantize: the weight must have rank >= 2 (as MLX), got ${formatShape(w.shape)}`);
    }
    const lead = w.shape.slice(0, -1);
    const k = w.shape[w.shape.length - 1];
    if (k % attrs.groupSize !== 0) {
      throw new ShapeError(
        `quantize: the last dimension ${k} of ${formatShape(w.shape)} is not divisible by the group size ${attrs.groupSize}`,
      );
    }
    const groups = { shape: [...lead, k / attrs.groupSize], dtype: w.dtype };
    return [{ shape: [...lead, (k * attrs.bits) / 32], dtype: 'u32' }, groups, groups];
  },
});

export const dequantizeOp = defineOp<QuantAttrs>({
  name: 'dequantize',
  storageDTypes: true,
  infer(inputs, attrs) {
    return [{ shape: packedShape('dequantize', inputs, attrs), dtype: inputs[1].dtype }];
  },
});

/** K (the contraction length) and N (outputs per row of x) of a quantized matmul, checked. */
export function quantizedMatmulDims(
  x: TensorInfo,
  packed: readonly TensorInfo[],
  attrs: QuantizedMatmulAttrs,
): { k: number; n: number } {
  const op = 'quantizedMatmul';
  // f64 x is the js backend's reference arithmetic (gradient checks), as for matmul.
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: x must be a float tensor, got ${x.dtype} (cast it first)`);
  if (typeof attrs.transpose !== 'boolean') throw new DTypeError(`${op}: transpose must be a boolean`);
  const [rows, cols] = packedShape(op, packed, attrs);
  if (packed[0].shape.length !== 2) {
    throw new ShapeError(`${op}: the packed weight must be a matrix, got ${formatShape(packed[0].shape)}`);
  }
  const [k, n] = attrs.transpose ? [cols, rows] : [rows, cols];
  if (x.shape.length < 1) throw new ShapeError(`${op}: x must have rank >= 1, got a scalar`);
  const xk = x.shape[x.shape.length - 1];
  if (xk !== k) {
    const w = attrs.transpose ? `Wᵀ (W ${formatShape([rows, cols])})` : `W ${formatShape([rows, cols])}`;
    throw new ShapeError(`${op}: x ${formatShape(x.shape)} · ${w}: inner dimensions differ (${xk} vs ${k})`);
  }
  return { k, n };
}

export const quantizedMatmulOp: OpDef<QuantizedMatmulAttrs> = defineOp<QuantizedMatmulAttrs>({
  name: 'quantizedMatmul',
  storageDTypes: true,
  infer([x, ...packed], attrs) {
    const { n } = quantizedMatmulDims(x, packed, attrs);
    return [{ shape: [...x.shape.slice(0, -1), n], dtype: x.dtype }];
  },
  vjp([g], { inputs: [, weight, scales, biases], attrs }) {
    // y = x·Wᵀ → x̄ = ḡ·W, and y = x·W → x̄ = ḡ·Wᵀ: the same packed weight, transpose flipped.
    const gx = run1(quantizedMatmulOp, [g, weight, scales, biases], { ...attrs, transpose: !attrs.transpose });
    return [gx, null, null, null];
  },
});

export const quantizedEmbeddingOp = defineOp<QuantAttrs>({
  name: 'quantizedEmbedding',
  storageDTypes: true,
  infer([weight, scales, biases, ids], attrs) {
    const [, dims] = packedShape('quantizedEmbedding', [weight, scales, biases], attrs);
    if (weight.shape.length !== 2) {
      throw new ShapeError(`quantizedEmbedding: the packed table must be a matrix, got ${formatShape(weight.shape)}`);
    }
    if (ids.dtype !== 'i32') throw new DTypeError(`quantizedEmbedding: ids must be i32, got ${ids.dtype}`);
    return [{ shape: [...ids.shape, dims], dtype: scales.dtype }];
  },
});

function attrsOf(q: QuantizedWeight): QuantAttrs {
  return { bits: q.bits, groupSize: q.groupSize };
}

/**
 * MLX's `mx.quantize(w, group_size, bits)`: groups of `groupSize` consecutive elements along the
 * last axis, each with its own scale and bias; scales and biases keep w's dtype. Defaults: 4 bits,
 * group 64. Weights must be finite.
 */
export function quantize(w: Tensor, options: QuantizeOptions = {}): QuantizedWeight {
  const attrs = { bits: options.bits ?? 4, groupSize: options.groupSize ?? 64 };
  const [weight, scales, biases] = runOp(quantizeOp, [w], attrs);
  return { weight, scales, biases, bits: attrs.bits as QuantBits, groupSize: attrs.groupSize as QuantGroupSize };
}

/** The float weight a quantized one stands for (ŵ = q·scale + bias), in the scales' dtype. */
export function dequantize(q: QuantizedWeight): Tensor {
  return run1(dequantizeOp, [q.weight, q.scales, q.biases], attrsOf(q));
}

export interface QuantizedMatmulOptions {
  /** Default true: W is [N, K] (a Linear's weight) and the result is x · Wᵀ. */
  readonly transpose?: boolean;
}

/**
 * MLX's `quantized_matmul(x, w, scales, biases, transpose)`: x [..., K] times the dequantized
 * weight, which is never materialised. Output in x's dtype. Differentiable in x.
 */
export function quantizedMatmul(x: Tensor, q: QuantizedWeight, options: QuantizedMatmulOptions = {}): Tensor {
  return run1(quantizedMatmulOp, [x, q.weight, q.scales, q.biases], {
    ...attrsOf(q),
    transpose: options.transpose ?? true,
  });
}

/** Rows `ids` (i32, any shape) of a quantized table [vocab, dims], dequantized: [...ids, dims]. */
export function quantizedEmbedding(ids: Tensor, q: QuantizedWeight): Tensor {
  return run1(quantizedEmbeddingOp, [q.weight, q.scales, q.biases, ids], attrsOf(q));
}
