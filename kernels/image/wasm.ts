/**
 * wasm resize and its gradient (kernels/image/wasm.as): the host builds one tap table per axis
 * with the reference's arithmetic (the same formulas as `taps` in ref.ts), the kernel walks
 * planes.
 */
import { kernelTable, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import type { ResizeAttrs, ResizeGradAttrs } from './image.js';
import { refKernels } from './ref.js';

/** Source index for nearest: exact integer arithmetic (kernels/image/ref.ts nearestSource). */
function nearestSource(d: number, inSize: number, outSize: number, coordinate: ResizeAttrs['coordinate']): number {
  let s: number;
  if (coordinate === 'asymmetric') s = Math.floor((d * inSize) / outSize);
  else if (coordinate === 'halfPixel') s = Math.floor(((2 * d + 1) * inSize) / (2 * outSize));
  else s = outSize > 1 ? Math.floor((2 * d * (inSize - 1) + (outSize - 1)) / (2 * (outSize - 1))) : 0;
  return Math.min(s, inSize - 1);
}

function bilinearSource(d: number, inSize: number, outSize: number, coordinate: ResizeAttrs['coordinate']): number {
  if (coordinate === 'asymmetric') return (d * inSize) / outSize;
  if (coordinate === 'halfPixel') return Math.max(((d + 0.5) * inSize) / outSize - 0.5, 0);
  return outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
}

/** (i0, i1, w1) per output index as f64 triples in the wasm memory. */
function tapTable(rt: WasmRuntime, inSize: number, outSize: number, { mode, coordinate }: ResizeAttrs): number {
  const ptr = rt.alloc(Math.max(outSize * 24, 8));
  const t = new Float64Array(rt.buffer, ptr, outSize * 3);
  for (let d = 0; d < outSize; d++) {
    if (mode === 'nearest') {
      const s = nearestSource(d, inSize, outSize, coordinate);
      t.set([s, s, 0], d * 3);
    } else {
      const src = bilinearSource(d, inSize, outSize, coordinate);
      const i0 = Math.min(Math.floor(src), inSize - 1);
      t.set([i0, Math.min(i0 + 1, inSize - 1), src - i0], d * 3);
    }
  }
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
