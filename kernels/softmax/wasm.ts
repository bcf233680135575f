/**
 * wasm softmax and logSoftmax (kernels/softmax/wasm.as): x viewed as [outer, n, inner] around
 * the axis; rows when the axis is last, else blocks of four columns stepping down the axis.
 */
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import { sizeOf } from '../../core/shape.js';
import { refKernels } from './ref.js';
import type { SoftmaxAttrs } from './softmax.js';

function runSoftmax(rt: WasmRuntime, log: boolean, x: WasmTensor, axis: number, y: WasmTensor): void {
  if (y.size === 0) return;
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  if (inner === 1) rt.run('softmax_rows', [log ? 1 : 0, x.ptr, y.ptr, n], outer, n * 2 + 20);
  else rt.run('softmax_cols', [log ? 1 : 0, x.ptr, y.ptr, n, inner], outer * Math.ceil(inner / 4), n * 8 + 20);
}

const softmax = wasmKernel<SoftmaxAttrs>({
  op: 'softmax',
  ref: refKernels.softmax,
  run: (rt, [x], { axis }, [y]) => runSoftmax(rt, false, x, axis, y),
});

const logSoftmax = wasmKernel<SoftmaxAttrs>({
  op: 'logSoftmax',
  ref: refKernels.logSoftmax,
  run: (rt, [x], { axis }, [y]) => runSoftmax(rt, true, x, axis, y),
});

export const wasmKernels = kernelTable({ softmax, logSoftmax });
