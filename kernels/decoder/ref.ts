/** The decoder layer step by step in doubles, as models/llama/model.ts's block computes it with separate ops. */
import { allocOutput, type HostTensor, type RefKernel, type RefKernelTable } from '../host.js';
import type { DecoderLayerAttrs } from './decoder.js';

/** y [rows, out] = x [rows, in] · wᵀ for w [out, in]. */
function project(x: Float64Array, w: HostTensor, rows: number): Float64Array {
  const [out, inF] = w.shape;
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let p = 0; p < inF; p++) s += x[r * inF + p] * w.data[o * inF + p];
      y[r * out + o] = s;
    }
  }
  return y;
}

function rmsNorm(x: ArrayLike<number>, w: HostTensor, rows: number, eps: number): Float64Array {
  const n = w.shape[0];
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x[r * n + j] ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let j = 0; j < n; j++) y[r * n + j] = x[r * n + j] * inv * w.data[j];
  }
  return y;
}

/** Rotates each head of x [B·T, heads·d] in place at positions cached + t (MLX rope: base^(-2i/d)). */
function rope(x: Float64Array, B: number, T: number, heads: number, d: number, a: DecoderLayerAttrs): void {
  const half = d / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const position = (a.cached + t) * a.ropeScale;
      for (let head = 0; head < heads; head++) {
        const o = (b * T + t) * heads * d + head * d;
        for (let i = 0; i < half; i++) {
          const angle = position * Math.exp((-i * Math.log(a.ropeBase)) / half);
          const [p, q] = a.ropeTraditional ? [o + 2 * i, o + 2 * i + 1] : [o + i, o + i + half];
          const x0 = x[p];
          const x1 = x[q];
          x[p] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
          x[q] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
        }
      }
    }
  }
}

const decoderLayer: RefKernel<DecoderLayerAttrs> = (inputs, a, outputs) => {
  const [h, inputNorm, wq, wk, wv, wo, postNorm, wg, wu, wd, cacheK, cacheV] = inputs;
  const [B, T, H] = h.shape;
  const { numHeads, numKvHeads, headDim: d, cached } = a;
  const rows = B * T;
  const group = numHeads / numKvHeads;
  const x = rmsNorm(h.data, inputNorm, rows, a.eps);
  const q = project(x, wq, rows);
  const k = project(x, wk, rows);
  const v = project(x, wv, rows);
  rope(q, B, T, numHeads, d, a);
  rope(k, B, T, numKvHeads, d, a);
  const cap = cached > 0 ? cacheK.shape[2] : 0;
  const attended = new Float64Array(rows * numHeads * d);
  const scale = 1 / Math.sqrt(d);
  for (let b = 0; b < B; b++) {
    for (let head = 0; head < numHeads; head++) {
      const kvh = Math.floor(head / group);
      const keyAt = (j: number, c: number): number =>
        j < cached
          ? cacheK.data[((b * numKvHeads + kvh) * cap + j) * d + c]
          : k[((b * T + j - cached) * numKvHeads + kvh) * d + c];
      const valueAt = (j: number, c: number): number =>
        j < cached
          ? cacheV.data[((b * numKvHeads + kvh) * cap + j) * d + c]
          : v[((b * T + j - cached) * numKvHeads + kvh) * d + c];
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * numHeads + head) * d;
        const keys = cached + t + 1;
        const scores = new Float64Array(keys);
        for (let j = 0; j < keys; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += q[qo + c] * keyAt(j, c);
          scores[j] = s * scale;
        }
        const max = Math.max(...scores);
        let z = 0;
        for (let j = 0; j < keys; j++) {
          scores[j] = Math.exp(scores[j] - max);
          z += scores[j];
        }
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let j = 0; j < keys; j++) s += scores[j] * valueAt(j, c);
          attended[qo + c] = s / z;
        }
      }
    }
  }
  const o = project(attended, wo, rows);
  const h2 = new Float64Array(rows * H);
  for (let i = 0; i < h2.length; i++) h2[i] = h.data[i] + o[i];
  const n = rmsNorm(h2, postNorm, rows, a.eps);
  const g = project(n, wg, rows);
  const u = project(n, wu, rows);
  for (let i = 0; i < g.length; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
  const down = project(g, wd, rows);
  const y = allocOutput(outputs[0]);
  for (let i = 0; i < y.length; i++) y[i] = h2[i] + down[i];
  // New keys and values as [B, kvHeads, T, d].
  const newK = allocOutput(outputs[1]);
  const newV = allocOutput(outputs[2]);
  for (let b = 0; b < B; b++) {
    for (let kvh = 0; kvh < numKvHeads; kvh++) {
      for (let t = 0; t < T; t++) {
        for (let c = 0; c < d; c++) {
          const from = ((b * T + t) * numKvHeads + kvh) * d + c;
          const to = ((b * numKvHeads + kvh) * T + t) * d + c;
          newK[to] = k[from];
          newV[to] = v[from];
        }
      }
    }
  }
  return [y, newK, newV];
};

export const refKernels: RefKernelTable = { decoderLayer };
