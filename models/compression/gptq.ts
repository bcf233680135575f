/**
 * GPTQ (Frantar et al. 2022; formats.md §5) writing MLX affine groups: columns are quantized one at a time
 * and each one's rounding error, weighted by the inverse Hessian of the layer's inputs (H = E[xxᵀ] over
 * calibration tokens), is pushed onto the columns not yet quantized. A group's scale and bias are MLX's
 * (ref.ts `groupScaleBias`) computed from the already error-updated weights when the loop reaches the
 * group's first column, as mlx-lm's GPTQ does. Host code in f64 (f32 for MLX's group arithmetic): its cost
 * is rows·cols² per matrix, fine for the models this runs on here (cols ≤ a few thousand).
 * @module
 */
import { affineCode, groupScaleBias, writeCode } from '../../kernels/quant/ref.js';
import type { QuantSpec } from '../llama/quantization.js';

/** An MLX affine triplet on the host: words [rows, cols·bits/32], f32 scales and biases [rows, cols/group]. */
export interface HostQuantized {
  readonly words: Uint32Array;
  readonly scales: Float32Array;
  readonly biases: Float32Array;
}

/** Lower Cholesky factor of a symmetric positive-definite n×n matrix (row-major), in place of a copy. */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`cholesky: the matrix is not positive definite (pivot ${i} is ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

/** The inverse of L·Lᵀ from its lower factor L. */
function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  // L⁻¹ by forward substitution, then (L·Lᵀ)⁻¹ = L⁻ᵀ·L⁻¹.
  const li = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    li[c * n + c] = 1 / l[c * n + c];
    for (let i = c + 1; i < n; i++) {
      let s = 0;
      for (let k = c; k < i; k++) s += l[i * n + k] * li[k * n + c];
      li[i * n + c] = -s / l[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}

export interface GptqOptions {
  /** Dampening as a fraction of the mean diagonal of H (GPTQ's percdamp, default 0.01). */
  readonly damp?: number;
}

/**
 * GPTQ of the float matrix `w` [rows, cols] (row-major) against `hessian` [cols, cols] (any positive
 * multiple of E[xxᵀ]); returns MLX's triplet. Columns whose inputs were always zero are zeroed (GPTQ's
 * dead columns).
 */
export function gptqQuantize(
  w: Float32Array,
  rows: number,
  cols: number,
  hessian: Float64Array,
  spec: QuantSpec,
  options: GptqOptions = {},
): HostQuantized {
  const { bits, groupSize } = spec;
  if (cols % groupSize !== 0) throw new RangeError(`gptq: ${cols} columns are not whole groups of ${groupSize}`);
  if (hessian.length !== cols * cols) throw new RangeError(`gptq: the Hessian must be [${cols}, ${cols}]`);
  const W = Float64Array.from(w);
  const H = Float64Array.from(hessian);
  let meanDiag = 0;
  for (let i = 0; i < cols; i++) {
    if (H[i * cols + i] === 0) {
      H[i * cols + i] = 1;
      for (let r = 0; r < rows; r++) W[r * cols + i] = 0;
    }
    meanDiag += H[i * cols + i] / cols;
  }
  const damp = (options.damp ?? 0.01) * meanDiag;
  for (let i = 0; i < cols; i++) H[i * cols + i] += damp;
  // U upper with H⁻¹ = Uᵀ·U: the transpose of the lower Cholesky factor of H⁻¹.
  const lower = cholesky(inverseFromCholesky(cholesky(H, cols), cols), cols);

  const groups = cols / groupSize;
  const wordsPerRow = (cols * bits) / 32;
  const wordsPerGroup = (groupSize * bits) / 32;
  const words = new Uint32Array(rows * wordsPerRow);
  const scales = new Float32Array(rows * groups);
  const biases = new Float32Array(rows * groups);
  const group = new Float32Array(groupSize);
  for (let i = 0; i < cols; i++) {
    const g = Math.floor(i / groupSize);
    if (i % groupSize === 0) {
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < groupSize; j++) group[j] = W[r * cols + i + j];
        const { scale, bias } = groupScaleBias(group, 0, groupSize, bits);
        scales[r * groups + g] = scale;
        biases[r * groups + g] = bias;
      }
    }
    const u = new Float64Array(cols - i);
    for (let j = i; j < cols; j++) u[j - i] = lower[j * cols + i];
    const d = u[0];
    for (let r = 0; r < rows; r++) {
      const scale = scales[r * groups + g];
      const bias = biases[r * groups + g];
      const v = W[r * cols + i];
      const q = affineCode(Math.fround(v), scale, bias, bits);
      writeCode(words, r * wordsPerRow + g * wordsPerGroup, i - g * groupSize, bits, q);
      const err = (v - (q * scale + bias)) / d;
      if (err === 0) continue;
      const row = r * cols;
      for (let j = i + 1; j < cols; j++) W[row + j] -= err * u[j - i];
    }
  }
  return { words, scales, biases };
}
