/**
 * Reference kernels for MLX affine quantization. `quantize` follows MLX's CPU code step by
 * step in f32 (each f64 result of +, −, ×, ÷ on f32 values rounded once by Math.fround is the
 * correctly rounded f32 result), with rint's ties-to-even; the other ops dequantize in f64.
 */
import { DTypeError, ShapeError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import { allocOutput, type HostData, type RefKernel, type RefKernelTable } from '../host.js';
import type { QuantAttrs, QuantizedMatmulAttrs } from './quant.js';

const f32 = Math.fround;
const EPS = f32(1e-7);

/** Round half to even, as C's rint in the default rounding mode. */
export function rint(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac < 0.5) return floor;
  if (frac > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The message every backend gives for a weight that cannot be quantized. */
export function nonFiniteMessage(index: number, value: number): string {
  return `quantize: weight element ${index} is ${value}; quantization needs finite weights (NaN and ±Infinity have no scale)`;
}

/**
 * One group of MLX affine quantization: codes written LSB first into `words` from bit 0 of
 * word `wordStart`, and the group's f32 scale and bias returned.
 */
export function quantizeGroup(
  w: ArrayLike<number>,
  start: number,
  groupSize: number,
  bits: number,
  words: Uint32Array,
  wordStart: number,
): { scale: number; bias: number } {
  let wMin = Number.POSITIVE_INFINITY;
  let wMax = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < groupSize; j++) {
    const v = w[start + j];
    if (!Number.isFinite(v)) throw new DTypeError(nonFiniteMessage(start + j, v));
    wMax = Math.max(wMax, v);
    wMin = Math.min(wMin, v);
  }
  const nBins = 2 ** bits - 1;
  const side = Math.abs(wMin) > Math.abs(wMax);
  let scale = Math.max(f32(f32(wMax - wMin) / nBins), EPS);
  scale = side ? scale : -scale;
  const edge = side ? wMin : wMax;
  const q0 = rint(f32(edge / scale));
  let bias = 0;
  if (q0 !== 0) {
    scale = f32(edge / q0);
    bias = edge;
  }
  for (let j = 0; j < groupSize; j++) {
    const q = Math.min(Math.max(rint(f32(f32(w[start + j] - bias) / scale)), 0), nBins);
    const bit = j * bits;
    const word = wordStart + (bit >>> 5);
    const shift = bit & 31;
    words[word] |= q << shift;
    if (shift + bits > 32) words[word + 1] |= q >>> (32 - shift);
  }
  return { scale, bias };
}

/** Code i of a packed row starting at word `rowStart`. */
export function unpackCode(words: ArrayLike<number>, rowStart: number, i: number, bits: number): number {
  const bit = i * bits;
  const word = rowStart + (bit >>> 5);
  const shift = bit & 31;
  let v = words[word] >>> shift;
  if (shift + bits > 32) v |= words[word + 1] << (32 - shift);
  return (v & ((1 << bits) - 1)) >>> 0;
}

const quantize: RefKernel<QuantAttrs> = ([w], { bits, groupSize }, [wqInfo, sInfo, bInfo]) => {
  const words = new Uint32Array(sizeOf(wqInfo.shape));
  const scales = allocOutput(sInfo);
  const biases = allocOutput(bInfo);
  const groups = scales.length;
  const wordsPerGroup = (groupSize * bits) / 32;
  for (let g = 0; g < groups; g++) {
    const { scale, bias } = quantizeGroup(w.data, g * groupSize, groupSize, bits, words, g * wordsPerGroup);
    scales[g] = scale;
    biases[g] = bias;
  }
  return [words, scales, biases];
};

/** Row `row` of a packed weight with rows of k elements, dequantized (in f64) into out at `at`. */
function dequantizeRow(
  [words, scales, biases]: readonly HostData[],
  row: number,
  k: number,
  { bits, groupSize }: QuantAttrs,
  out: HostData,
  at: number,
): void {
  const rowStart = (row * k * bits) / 32;
  const groupStart = (row * k) / groupSize;
  for (let j = 0; j < k; j++) {
    const g = groupStart + Math.floor(j / groupSize);
    out[at + j] = unpackCode(words, rowStart, j, bits) * scales[g] + biases[g];
  }
}

const dequantize: RefKernel<QuantAttrs> = ([wq, scales, biases], attrs, [out]) => {
  const y = allocOutput(out);
  const k = out.shape[out.shape.length - 1];
  const packed = [wq.data, scales.data, biases.data];
  for (let r = 0; r < y.length / k; r++) dequantizeRow(packed, r, k, attrs, y, r * k);
  return [y];
};

const quantizedMatmul: RefKernel<QuantizedMatmulAttrs> = ([x, wq, scales, biases], attrs, [out]) => {
  const y = allocOutput(out);
  const k = x.shape[x.shape.length - 1];
  const n = out.shape[out.shape.length - 1];
  const m = x.data.length / k;
  // W as stored is [rows, cols]: [N, K] with the transpose (x · Wᵀ), else [K, N] (x · W).
  const [rows, cols] = attrs.transpose ? [n, k] : [k, n];
  const w = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) dequantizeRow([wq.data, scales.data, biases.data], r, cols, attrs, w, r * cols);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < n; c++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += x.data[i * k + p] * (attrs.transpose ? w[c * k + p] : w[p * n + c]);
      y[i * n + c] = acc;
    }
  }
  return [y];
};

/** The message every backend gives for an id outside the table. */
export function idRangeMessage(id: number, vocab: number): string {
  return `quantizedEmbedding: id ${id} is out of range for a table of ${vocab} rows`;
}

const quantizedEmbedding: RefKernel<QuantAttrs> = ([wq, scales, biases, ids], attrs, [out]) => {
  const y = allocOutput(out);
  const vocab = wq.shape[0];
  const dims = out.shape[out.shape.length - 1];
  for (let t = 0; t < ids.data.length; t++) {
    const id = ids.data[t];
    if (id < -vocab || id >= vocab) throw new ShapeError(idRangeMessage(id, vocab));
    dequantizeRow([wq.data, scales.data, biases.data], id < 0 ? id + vocab : id, dims, attrs, y, t * dims);
  }
  return [y];
};

export const refKernels: RefKernelTable = { quantize, dequantize, quantizedMatmul, quantizedEmbedding };
