/** wasm rope (kernels/rope/wasm.as): a cos/sin table per position, then a rotation per feature pair. */
import { kernelTable, wasmKernel } from '../../backends/wasm/kernel.js';
import { refKernels } from './ref.js';
import type { RopeAttrs } from './rope.js';

const rope = wasmKernel<RopeAttrs>({
  op: 'rope',
  ref: refKernels.rope,
  run(rt, [x], { offset, base, traditional, dims, scale, inverse }, [y]) {
    const rank = x.shape.length;
    const seq = x.shape[rank - 2];
    const d = x.shape[rank - 1];
    if (y.size === 0 || d === 0) return;
    const half = dims / 2;
    const table = rt.alloc(Math.max(seq * half * 8, 4));
    try {
      rt.run('rope_table', [table, half, offset, scale, Math.log(base), inverse ? -1 : 1], seq, half * 40);
      rt.run('rope_f32', [x.ptr, y.ptr, table, seq, d, dims, traditional ? 1 : 0], y.size / d, d + 20);
    } finally {
      rt.free(table);
    }
  },
});

export const wasmKernels = kernelTable({ rope });
