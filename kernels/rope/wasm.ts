/** wasm rope (kernels/rope/wasm.as): a cos/sin table per position, then a rotation per feature pair. */
import { viewOf } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import { refKernels } from './ref.js';
import type { RopeAttrs } from './rope.js';

/** rope_table's layout ((cos, sin) f32 pairs per position and pair) from per-pair periods, in f64 as the reference. */
function periodTable(
  rt: WasmRuntime,
  table: number,
  freqs: WasmTensor,
  seq: number,
  half: number,
  offset: number,
  scale: number,
  sign: number,
): void {
  const periods = viewOf(rt, 'f32', freqs.ptr, half);
  const out = viewOf(rt, 'f32', table, seq * half * 2);
  for (let t = 0; t < seq; t++) {
    const position = (offset + t) * scale;
    for (let i = 0; i < half; i++) {
      const angle = (sign * position) / periods[i];
      out[(t * half + i) * 2] = Math.cos(angle);
      out[(t * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
}

const rope = wasmKernel<RopeAttrs>({
  op: 'rope',
  ref: refKernels.rope,
  run(rt, [x, freqs], { offset, base, traditional, dims, scale, inverse }, [y]) {
    const rank = x.shape.length;
    const seq = x.shape[rank - 2];
    const d = x.shape[rank - 1];
    if (y.size === 0 || d === 0) return;
    const half = dims / 2;
    const table = rt.alloc(Math.max(seq * half * 8, 4));
    try {
      if (freqs) periodTable(rt, table, freqs, seq, half, offset, scale, inverse ? -1 : 1);
      else rt.run('rope_table', [table, half, offset, scale, Math.log(base), inverse ? -1 : 1], seq, half * 40);
      rt.run('rope_f32', [x.ptr, y.ptr, table, seq, d, dims, traditional ? 1 : 0], y.size / d, d + 20);
    } finally {
      rt.free(table);
    }
  },
});

export const wasmKernels = kernelTable({ rope });
