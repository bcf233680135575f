/** Native resize and its gradient: separable tap tables and a per-plane walk in native.cc. */
import { f32, kernelTable, nativeKernel, outputF32, overwrittenF32 } from '../../backends/native/kernel.js';
import { sizeOf } from '../../core/shape.js';
import type { ResizeAttrs, ResizeGradAttrs } from './image.js';
import { refKernels } from './ref.js';

const ATTRS = ['size', 'mode', 'coordinate'];

const resize = nativeKernel<ResizeAttrs>({
  op: 'resize',
  attrs: ATTRS,
  ref: refKernels.resize,
  run(addon, [x], { size, mode, coordinate }, [out]) {
    const y = overwrittenF32(sizeOf(out.shape));
    addon.resize(f32(x.data), y, [...x.shape, size[0], size[1]], mode, coordinate, false);
    return [y];
  },
});

const resizeGrad = nativeKernel<ResizeGradAttrs>({
  op: 'resizeGrad',
  attrs: [...ATTRS, 'inputShape'],
  ref: refKernels.resizeGrad,
  run(addon, [g], { size, mode, coordinate, inputShape }, [out]) {
    const y = outputF32(sizeOf(out.shape));
    addon.resize(f32(g.data), y, [...inputShape, size[0], size[1]], mode, coordinate, true);
    return [y];
  },
});

export const nativeKernels = kernelTable({ resize, resizeGrad });
