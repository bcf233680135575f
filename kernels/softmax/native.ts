/** Native softmax and logSoftmax: lines along the axis of x viewed as [outer, n, inner]. */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, outputF32 } from '../../backends/native/kernel.js';
import { sizeOf } from '../../core/shape.js';
import { refKernels } from './ref.js';
import type { SoftmaxAttrs } from './softmax.js';

/** The functions kernels/softmax/native.cc adds to the addon: lines of length n with stride inner. */
export interface NativeFunctions {
  softmax(x: F32, y: F32, outer: number, n: number, inner: number, log: boolean): void;
}

function softmaxKernel(op: 'softmax' | 'logSoftmax') {
  return nativeKernel<SoftmaxAttrs>({
    op,
    attrs: ['axis'],
    ref: refKernels[op],
    run(addon, [x], { axis }) {
      const y = outputF32(x.data.length);
      const { shape } = x;
      addon.softmax(
        f32(x.data),
        y,
        sizeOf(shape.slice(0, axis)),
        shape[axis],
        sizeOf(shape.slice(axis + 1)),
        op === 'logSoftmax',
      );
      return [y];
    },
  });
}

export const nativeKernels = kernelTable({
  softmax: softmaxKernel('softmax'),
  logSoftmax: softmaxKernel('logSoftmax'),
});
