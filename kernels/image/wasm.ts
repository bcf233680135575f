/**
 * wasm resize and its gradient (kernels/image/wasm.as): the host builds one tap table per axis
 * from taps.ts (the reference's own tables), the kernel walks
 * planes.
 */
import { kernelTable, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import type { ResizeAttrs, ResizeGradAttrs } from './image.js';
import { refKernels } from './ref.js';
import { resizeTaps } from './taps.js';

/** (i0, i1, w1) per output index as f64 triples in the wasm memory. */
function tapTable(rt: WasmRuntime, inSize: number, outSize: number, attrs: ResizeAttrs): number {
  const ptr = rt.alloc(Math.max(outSize * 24, 8));
  const t = new Float64Array(rt.buffer, ptr, outSize * 3);
  resizeTaps(inSize, outSize, attrs).forEach((tap, d) => {
    t.set([tap.i0, tap.i1, tap.w1], d * 3);
  });
  return ptr;
}

function runResize(
  rt: WasmRuntime,
  fn: string,
  src: number,
  dst: number,
  input: readonly number[],
  attrs: ResizeAttrs,
): void {
  const [n, c, h, w] = input;
  const [oh, ow] = attrs.size;
  if (n * c === 0 || h * w === 0 || oh * ow === 0) return;
  const rows = tapTable(rt, h, oh, attrs);
  const cols = tapTable(rt, w, ow, attrs);
  try {
    rt.run(fn, [src, dst, rows, cols, h, w, oh, ow], n * c, oh * ow * 4 + h * w);
  } finally {
    rt.free(rows);
    rt.free(cols);
  }
}

const resize = wasmKernel<ResizeAttrs>({
  op: 'resize',
  ref: refKernels.resize,
  run: (rt, [x], attrs, [y]) => runResize(rt, 'resize_f32', x.ptr, y.ptr, x.shape, attrs),
});

const resizeGrad = wasmKernel<ResizeGradAttrs>({
  op: 'resizeGrad',
  ref: refKernels.resizeGrad,
  run: (rt, [g], attrs, [y]) => runResize(rt, 'resize_grad_f32', g.ptr, y.ptr, attrs.inputShape, attrs),
});

export const wasmKernels = kernelTable({ resize, resizeGrad });
