/**
 * wasm pooling (kernels/pool/wasm.as): a window walk per output position, planes split across
 * threads. f32 (f16 widened).
 */
import { kernelTable, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import type { AvgPool2dAttrs, AvgPool2dGradAttrs, MaxPool2dAttrs } from './pool.js';
import { refKernels } from './ref.js';

const AVG = 0;
const MAX = 1;
const MAX_SELECT = 2;

interface Window {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation?: readonly number[];
  readonly countIncludePad?: boolean;
}

/** Run `fn` over the planes of input shape [N, C, H, W] pooled to [.., OH, OW]. */
function runPool(
  rt: WasmRuntime,
  fn: string,
  args: readonly number[],
  input: readonly number[],
  pooled: readonly number[],
  w: Window,
): void {
  const [n, c, h, wd] = input;
  const [, , oh, ow] = pooled;
  if (n * c === 0 || h * wd === 0) return;
  const dilation = w.dilation ?? [1, 1];
  const p = rt.record([
    h,
    wd,
    oh,
    ow,
    w.kernel[0],
    w.kernel[1],
    w.stride[0],
    w.stride[1],
    w.padding[0],
    w.padding[2],
    dilation[0],
    dilation[1],
    w.countIncludePad ? 1 : 0,
  ]);
  try {
    rt.run(fn, [...args, p], n * c, Math.max(oh * ow, 1) * w.kernel[0] * w.kernel[1]);
  } finally {
    rt.free(p);
  }
}

const avgPool2d = wasmKernel<AvgPool2dAttrs>({
  op: 'avgPool2d',
  ref: refKernels.avgPool2d,
  run: (rt, [x], attrs, [y]) => runPool(rt, 'pool_f32', [AVG, x.ptr, 0, y.ptr], x.shape, y.shape, attrs),
});

const maxPool2d = wasmKernel<MaxPool2dAttrs>({
  op: 'maxPool2d',
  ref: refKernels.maxPool2d,
  run: (rt, [x], attrs, [y]) => runPool(rt, 'pool_f32', [MAX, x.ptr, 0, y.ptr], x.shape, y.shape, attrs),
});

const maxPool2dSelect = wasmKernel<MaxPool2dAttrs>({
  op: 'maxPool2dSelect',
  ref: refKernels.maxPool2dSelect,
  run: (rt, [x, v], attrs, [y]) => runPool(rt, 'pool_f32', [MAX_SELECT, x.ptr, v.ptr, y.ptr], x.shape, y.shape, attrs),
});

const avgPool2dGrad = wasmKernel<AvgPool2dGradAttrs>({
  op: 'avgPool2dGrad',
  ref: refKernels.avgPool2dGrad,
  run(rt, [g], attrs, [y]) {
    runPool(rt, 'pool_grad_f32', [AVG, 0, g.ptr, y.ptr], attrs.inputShape, g.shape, attrs);
  },
});

const maxPool2dGrad = wasmKernel<MaxPool2dAttrs>({
  op: 'maxPool2dGrad',
  ref: refKernels.maxPool2dGrad,
  run(rt, [x, g], attrs, [y]) {
    runPool(rt, 'pool_grad_f32', [MAX, x.ptr, g.ptr, y.ptr], x.shape, g.shape, attrs);
  },
});

export const wasmKernels = kernelTable({ avgPool2d, avgPool2dGrad, maxPool2d, maxPool2dGrad, maxPool2dSelect });
