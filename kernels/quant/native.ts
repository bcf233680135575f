/**
 * Native MLX affine quantization (native.cc): quantize in exact f32 scalar code, the decode
 * matrix-vector product streaming packed words (AVX2 code decoding), the prefill product
 * through the packed SGEMM with B panels dequantized from the words, dequantize and embedding
 * rows decoded in place. Scales and biases in f16/bf16 arrive widened to f32.
 */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, outputArray, overwrittenF32 } from '../../backends/native/kernel.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import type { QuantAttrs, QuantizedMatmulAttrs } from './quant.js';
import { idRangeMessage, nonFiniteMessage, refKernels } from './ref.js';

/** The functions kernels/quant/native.cc adds to the addon. */
export interface NativeFunctions {
  /** Returns the index of the first non-finite weight (nothing else is meaningful then), or -1. */
  affineQuantize(w: F32, words: Uint32Array, scales: F32, biases: F32, groupSize: number, bits: number): number;
  affineDequantize(
    words: Uint32Array,
    scales: F32,
    biases: F32,
    y: F32,
    cols: number,
    groupSize: number,
    bits: number,
  ): void;
  /** y [m, n] = x [m, k] · Wᵀ (W [n, k]) with transpose, else x · W (W [k, n]). */
  quantizedMatmul(
    x: F32,
    words: Uint32Array,
    scales: F32,
    biases: F32,
    y: F32,
    m: number,
    n: number,
    k: number,
    groupSize: number,
    bits: number,
    transpose: boolean,
  ): void;
  /** Returns the position of the first id outside [-vocab, vocab), or -1. */
  quantizedEmbedding(
    words: Uint32Array,
    scales: F32,
    biases: F32,
    ids: Int32Array,
    y: F32,
    dims: number,
    groupSize: number,
    bits: number,
  ): number;
}

const ATTRS = ['bits', 'groupSize'];

const quantize = nativeKernel<QuantAttrs>({
  op: 'quantize',
  attrs: ATTRS,
  ref: refKernels.quantize,
  run(addon, [w], { bits, groupSize }, [wq]) {
    const words = outputArray(
      Uint32Array,
      wq.shape.reduce((a, b) => a * b, 1),
    );
    const groups = w.data.length / groupSize;
    const scales = overwrittenF32(groups);
    const biases = overwrittenF32(groups);
    const bad = addon.affineQuantize(f32(w.data), words, scales, biases, groupSize, bits);
    if (bad >= 0) throw new DTypeError(nonFiniteMessage(bad, w.data[bad]));
    return [words, scales, biases];
  },
});

const dequantize = nativeKernel<QuantAttrs>({
  op: 'dequantize',
  attrs: ATTRS,
  ref: refKernels.dequantize,
  other: { 0: 'u32' },
  run(addon, [wq, scales, biases], { bits, groupSize }, [out]) {
    const y = overwrittenF32(out.shape.reduce((a, b) => a * b, 1));
    const cols = out.shape[out.shape.length - 1];
    addon.affineDequantize(wq.data as Uint32Array, f32(scales.data), f32(biases.data), y, cols, groupSize, bits);
    return [y];
  },
});

const quantizedMatmul = nativeKernel<QuantizedMatmulAttrs>({
  op: 'quantizedMatmul',
  attrs: [...ATTRS, 'transpose'],
  ref: refKernels.quantizedMatmul,
  other: { 1: 'u32' },
  run(addon, [x, wq, scales, biases], { bits, groupSize, transpose }, [out]) {
    const k = x.shape[x.shape.length - 1];
    const n = out.shape[out.shape.length - 1];
    const m = x.data.length / k;
    const y = overwrittenF32(m * n);
    addon.quantizedMatmul(
      f32(x.data),
      wq.data as Uint32Array,
      f32(scales.data),
      f32(biases.data),
      y,
      m,
      n,
      k,
      groupSize,
      bits,
      transpose,
    );
    return [y];
  },
});

const quantizedEmbedding = nativeKernel<QuantAttrs>({
  op: 'quantizedEmbedding',
  attrs: ATTRS,
  ref: refKernels.quantizedEmbedding,
  other: { 0: 'u32', 3: 'i32' },
  run(addon, [wq, scales, biases, ids], { bits, groupSize }, [out]) {
    const dims = out.shape[out.shape.length - 1];
    const y = overwrittenF32(ids.data.length * dims);
    const idData = ids.data as Int32Array;
    const bad = addon.quantizedEmbedding(
      wq.data as Uint32Array,
      f32(scales.data),
      f32(biases.data),
      idData,
      y,
      dims,
      groupSize,
      bits,
    );
    if (bad >= 0) throw new ShapeError(idRangeMessage(idData[bad], wq.shape[0]));
    return [y];
  },
});

export const nativeKernels = kernelTable({ quantize, dequantize, quantizedMatmul, quantizedEmbedding });
