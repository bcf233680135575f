/**
 * Native pooling: every op is one window walk per plane in native.cc ('max', 'avg',
 * their gradients, and 'select' for maxPool2dGrad's vjp), sharing the argmax tie rule.
 */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, outputF32 } from '../../backends/native/kernel.js';
import type { AvgPool2dAttrs, AvgPool2dGradAttrs, MaxPool2dAttrs } from './pool.js';
import { refKernels } from './ref.js';

/** The functions kernels/pool/native.cc adds to the addon: window [N, C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw].. */
export interface NativeFunctions {
  // max/avg: x → pooled y; select: keys x, values → pooled y; maxGrad: keys x, pooled grad → y;
  // avgGrad: pooled grad x → y.
  pool2d(
    mode: 'max' | 'select' | 'maxGrad' | 'avg' | 'avgGrad',
    x: F32,
    other: F32 | null,
    y: F32,
    window: number[],
    countIncludePad: boolean,
  ): void;
}

interface WindowAttrs {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation?: readonly number[];
}

/** [N, C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw] for input shape and pooled shape. */
function window(input: readonly number[], pooled: readonly number[], a: WindowAttrs): number[] {
  const [dh, dw] = a.dilation ?? [1, 1];
  return [
    ...input,
    pooled[2],
    pooled[3],
    a.kernel[0],
    a.kernel[1],
    a.stride[0],
    a.stride[1],
    a.padding[0],
    a.padding[2],
    dh,
    dw,
  ];
}

const MAX_ATTRS = ['kernel', 'stride', 'padding', 'dilation'];
const AVG_ATTRS = ['kernel', 'stride', 'padding', 'countIncludePad'];

const maxPool2d = nativeKernel<MaxPool2dAttrs>({
  op: 'maxPool2d',
  attrs: MAX_ATTRS,
  ref: refKernels.maxPool2d,
  run(addon, [x], attrs, [out]) {
    const y = outputF32(out.shape.reduce((a, b) => a * b, 1));
    addon.pool2d('max', f32(x.data), null, y, window(x.shape, out.shape, attrs), false);
    return [y];
  },
});

const maxPool2dSelect = nativeKernel<MaxPool2dAttrs>({
  op: 'maxPool2dSelect',
  attrs: MAX_ATTRS,
  ref: refKernels.maxPool2dSelect,
  run(addon, [x, v], attrs, [out]) {
    const y = outputF32(out.shape.reduce((a, b) => a * b, 1));
    addon.pool2d('select', f32(x.data), f32(v.data), y, window(x.shape, out.shape, attrs), false);
    return [y];
  },
});

const maxPool2dGrad = nativeKernel<MaxPool2dAttrs>({
  op: 'maxPool2dGrad',
  attrs: MAX_ATTRS,
  ref: refKernels.maxPool2dGrad,
  run(addon, [x, g], attrs) {
    const y = outputF32(x.data.length);
    addon.pool2d('maxGrad', f32(x.data), f32(g.data), y, window(x.shape, g.shape, attrs), false);
    return [y];
  },
});

const avgPool2d = nativeKernel<AvgPool2dAttrs>({
  op: 'avgPool2d',
  attrs: AVG_ATTRS,
  ref: refKernels.avgPool2d,
  run(addon, [x], attrs, [out]) {
    const y = outputF32(out.shape.reduce((a, b) => a * b, 1));
    addon.pool2d('avg', f32(x.data), null, y, window(x.shape, out.shape, attrs), attrs.countIncludePad);
    return [y];
  },
});

const avgPool2dGrad = nativeKernel<AvgPool2dGradAttrs>({
  op: 'avgPool2dGrad',
  attrs: [...AVG_ATTRS, 'inputShape'],
  ref: refKernels.avgPool2dGrad,
  run(addon, [g], attrs, [out]) {
    const y = outputF32(out.shape.reduce((a, b) => a * b, 1));
    addon.pool2d('avgGrad', f32(g.data), null, y, window(attrs.inputShape, g.shape, attrs), attrs.countIncludePad);
    return [y];
  },
});

export const nativeKernels = kernelTable({ maxPool2d, maxPool2dSelect, maxPool2dGrad, avgPool2d, avgPool2dGrad });
