/** Reference kernel for rotary position embedding: one pass over rows, one rotation per feature pair. */
import { allocOutput, type RefKernel, type RefKernelTable } from '../host.js';
import type { RopeAttrs } from './rope.js';

const rope: RefKernel<RopeAttrs> = ([x, freqs], { offset, base, traditional, dims, scale, inverse }, [out]) => {
  const y = allocOutput(out);
  const src = x.data;
  const rank = x.shape.length;
  const seq = x.shape[rank - 2];
  const d = x.shape[rank - 1];
  const half = dims / 2;
  const sign = inverse ? -1 : 1;
  // theta_i = base^(-2i/dims), computed as MLX does: exp(-i·ln(base)/half); or 1/freqs[i].
  const invFreq = Array.from({ length: half }, (_, i) =>
    freqs ? 1 / freqs.data[i] : Math.exp((-i * Math.log(base)) / half),
  );
  const rows = d === 0 ? 0 : src.length / d;
  for (let row = 0; row < rows; row++) {
    const t = row % seq;
    const position = (offset + t) * scale;
    const o = row * d;
    for (let i = 0; i < half; i++) {
      const angle = sign * position * invFreq[i];
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const a = o + (traditional ? 2 * i : i);
      const b = o + (traditional ? 2 * i + 1 : i + half);
      const x0 = src[a];
      const x1 = src[b];
      y[a] = x0 * c - x1 * s;
      y[b] = x0 * s + x1 * c;
    }
    for (let j = dims; j < d; j++) y[o + j] = src[o + j];
  }
  return [y];
};

export const refKernels: RefKernelTable = { rope };
