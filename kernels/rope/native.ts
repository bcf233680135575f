/** Native rotary position embedding: one cos/sin table per call, rows split across threads. */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, outputF32 } from '../../backends/native/kernel.js';
import { refKernels } from './ref.js';
import type { RopeAttrs } from './rope.js';

/** The functions kernels/rope/native.cc adds to the addon. */
export interface NativeFunctions {
  rope(
    x: F32,
    y: F32,
    rows: number,
    seq: number,
    d: number,
    offset: number,
    base: number,
    traditional: boolean,
    dims: number,
    scale: number,
    inverse: boolean,
    freqs: F32 | null,
  ): void;
}

const rope = nativeKernel<RopeAttrs>({
  op: 'rope',
  attrs: ['offset', 'base', 'traditional', 'dims', 'scale', 'inverse'],
  ref: refKernels.rope,
  run(addon, [x, freqs], { offset, base, traditional, dims, scale, inverse }) {
    const rank = x.shape.length;
    const seq = x.shape[rank - 2];
    const d = x.shape[rank - 1];
    const y = outputF32(x.data.length);
    const rows = d === 0 ? 0 : x.data.length / d;
    const periods = freqs ? f32(freqs.data) : null;
    addon.rope(f32(x.data), y, rows, seq, d, offset, base, traditional, dims, scale, inverse, periods);
    return [y];
  },
});

export const nativeKernels = kernelTable({ rope });
