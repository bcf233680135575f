/** Native resize and its gradient: separable tap tables and a per-plane walk in native.cc. */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, outputF32, overwrittenF32 } from '../../backends/native/kernel.js';
import { sizeOf } from '../../core/shape.js';
import type { ResizeAttrs, ResizeGradAttrs } from './image.js';
import { refKernels } from './ref.js';

/** The functions kernels/image/native.cc adds to the addon: geometry [N, C, H, W, OH, OW]; grad: x is the output's. */
export interface NativeFunctions {
  // gradient and y the input's
  resize(x: F32, y: F32, geometry: number[], mode: string, coordinate: string, grad: boolean): void;
}

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
