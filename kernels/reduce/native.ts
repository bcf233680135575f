/**
 * Native reductions: the input is viewed as [outer, r, inner] with the reduced axes
 * in the middle; when they are not adjacent the addon first permutes them last.
 * f32 and f16 (computed in f32) run natively; integer tensors run the reference.
 */
import type { F32, NativeAddon } from '../../backends/native/addon.js';
import { f32, kernelTable, type NativeTensor, nativeKernel, outputF32 } from '../../backends/native/kernel.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import type { ArgAttrs, ReduceAttrs, VarianceAttrs } from './reduce.js';
import { refKernels } from './ref.js';

/** The functions kernels/reduce/native.cc adds to the addon: x viewed as [outer, r, inner], y as [outer, inner]. */
export interface NativeFunctions {
  reduce(op: string, x: F32, y: F32, outer: number, r: number, inner: number, correction: number): void;
  argReduce(op: 'argmax' | 'argmin', x: F32, y: Int32Array, outer: number, r: number, inner: number): void;
}

interface Blocks {
  readonly data: Float32Array;
  readonly outer: number;
  readonly r: number;
  readonly inner: number;
}

/** x as [outer, r, inner]: free when the axes are adjacent, one permuting copy otherwise. */
export function reduceBlocks(addon: NativeAddon, x: NativeTensor, axes: readonly number[]): Blocks {
  const shape = x.shape;
  const sorted = [...axes].sort((a, b) => a - b);
  const data = f32(x.data);
  if (sorted.length === 0) return { data, outer: sizeOf(shape), r: 1, inner: 1 };
  const adjacent = sorted.every((a, i) => a === sorted[0] + i);
  if (adjacent) {
    const first = sorted[0];
    const last = sorted[sorted.length - 1];
    return {
      data,
      outer: sizeOf(shape.slice(0, first)),
      r: sizeOf(shape.slice(first, last + 1)),
      inner: sizeOf(shape.slice(last + 1)),
    };
  }
  const kept = shape.map((_, i) => i).filter((i) => !sorted.includes(i));
  const perm = [...kept, ...sorted];
  const strides = contiguousStrides(shape);
  const permuted = new Float32Array(data.length);
  addon.stridedCopy(
    data,
    permuted,
    perm.map((p) => shape[p]),
    perm.map((p) => strides[p]),
    0,
  );
  return { data: permuted, outer: sizeOf(kept.map((a) => shape[a])), r: sizeOf(sorted.map((a) => shape[a])), inner: 1 };
}

function reducer(op: string) {
  return nativeKernel<ReduceAttrs>({
    op,
    attrs: ['axes', 'keepDims'],
    ref: refKernels[op],
    run(addon, [x], { axes }, [out]) {
      const b = reduceBlocks(addon, x, axes);
      const y = outputF32(sizeOf(out.shape));
      addon.reduce(op, b.data, y, b.outer, b.r, b.inner, 0);
      return [y];
    },
  });
}

const variance = nativeKernel<VarianceAttrs>({
  op: 'variance',
  attrs: ['axes', 'keepDims', 'correction'],
  ref: refKernels.variance,
  run(addon, [x], { axes, correction }, [out]) {
    const b = reduceBlocks(addon, x, axes);
    const y = outputF32(sizeOf(out.shape));
    addon.reduce('variance', b.data, y, b.outer, b.r, b.inner, correction);
    return [y];
  },
});

function arg(op: 'argmax' | 'argmin') {
  return nativeKernel<ArgAttrs>({
    op,
    attrs: ['axis', 'keepDims'],
    ref: refKernels[op],
    run(addon, [x], { axis }, [out]) {
      const y = new Int32Array(sizeOf(out.shape));
      const shape = x.shape;
      addon.argReduce(op, f32(x.data), y, sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1)));
      return [y];
    },
  });
}

export const nativeKernels = kernelTable({
  ...Object.fromEntries(['sum', 'mean', 'max', 'min', 'prod', 'logsumexp'].map((op) => [op, reducer(op)])),
  variance,
  argmax: arg('argmax'),
  argmin: arg('argmin'),
});
