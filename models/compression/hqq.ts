/**
 * HQQ, half-quadratic quantization (mobiusml/hqq `optimize_weights_proximal`; formats.md §5), in MLX's
 * affine layout and without calibration data. Per group HQQ keeps the min/max step (its s is the inverse
 * step) and refines the zero point z by proximal iterations that fit the error under an lp norm (p = 0.7),
 * which tolerates the few large outliers RTN's range has to cover:
 *   W_q = clamp(round(W·s + z)), Ŵ = (W_q − z)/s, W_e = shrink_p(W − Ŵ, β), z = mean(W_q − (W − W_e)·s), β ← κβ
 * for at most 20 rounds while mean|W − Ŵ| over the matrix improves. One difference from the reference: it
 * returns the zero points of the best round rather than of the last one. In MLX terms scale = 1/s and
 * bias = −z/s.
 * @module
 */
import { rint, writeCode } from '../../kernels/quant/ref.js';
import type { QuantSpec } from '../llama/quantization.js';
import type { HostQuantized } from './gptq.js';

export interface HqqOptions {
  readonly iterations?: number;
  readonly p?: number;
  readonly beta?: number;
  readonly kappa?: number;
}

/** shrink_p(x, β) = sign(x)·relu(|x| − |x|^(p−1)/β): the lp proximal step. */
function shrink(x: number, beta: number, p: number): number {
  const a = Math.abs(x);
  if (a === 0) return 0;
  const v = a - a ** (p - 1) / beta;
  return v > 0 ? Math.sign(x) * v : 0;
}

/** HQQ of the float matrix `w` [rows, cols] (row-major), groups along each row; MLX's triplet. */
export function hqqQuantize(
  w: Float32Array,
  rows: number,
  cols: number,
  spec: QuantSpec,
  options: HqqOptions = {},
): HostQuantized {
  const { bits, groupSize } = spec;
  const { iterations = 20, p = 0.7, kappa = 1.01 } = options;
  if (cols % groupSize !== 0) throw new RangeError(`hqq: ${cols} columns are not whole groups of ${groupSize}`);
  const maxq = 2 ** bits - 1;
  const nGroups = (rows * cols) / groupSize;
  const s = new Float64Array(nGroups);
  const z = new Float64Array(nGroups);
  for (let g = 0; g < nGroups; g++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < groupSize; j++) {
      const v = w[g * groupSize + j];
      if (!Number.isFinite(v)) throw new RangeError(`hqq: weight element ${g * groupSize + j} is ${v}`);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // HQQ clamps the inverse step at 2e4 (a constant group then has a tiny step and every code exact).
    s[g] = Math.min(maxq / (hi - lo), 2e4);
    z[g] = -lo * s[g];
  }
  const code = (g: number, v: number) => Math.min(Math.max(rint(v * s[g] + z[g]), 0), maxq);
  let beta = options.beta ?? 10;
  let best = Number.POSITIVE_INFINITY;
  let bestZ = Float64Array.from(z);
  for (let it = 0; it < iterations; it++) {
    let error = 0;
    const next = new Float64Array(nGroups);
    for (let g = 0; g < nGroups; g++) {
      let sum = 0;
      for (let j = 0; j < groupSize; j++) {
        const v = w[g * groupSize + j];
        const q = code(g, v);
        const r = (q - z[g]) / s[g];
        error += Math.abs(v - r);
        const e = shrink(v - r, beta, p);
        sum += q - (v - e) * s[g];
      }
      next[g] = sum / groupSize;
    }
    error /= rows * cols;
    if (!(error < best)) break;
    best = error;
    bestZ = Float64Array.from(z);
    z.set(next);
    beta *= kappa;
  }
  const wordsPerRow = (cols * bits) / 32;
  const wordsPerGroup = (groupSize * bits) / 32;
  const groupsPerRow = cols / groupSize;
  const words = new Uint32Array(rows * wordsPerRow);
  const scales = new Float32Array(nGroups);
  const biases = new Float32Array(nGroups);
  z.set(bestZ);
  for (let g = 0; g < nGroups; g++) {
    const r = Math.floor(g / groupsPerRow);
    const start = r * wordsPerRow + (g % groupsPerRow) * wordsPerGroup;
    for (let j = 0; j < groupSize; j++) writeCode(words, start, j, bits, code(g, w[g * groupSize + j]));
    scales[g] = 1 / s[g];
    biases[g] = -z[g] / s[g];
  }
  return { words, scales, biases };
}
