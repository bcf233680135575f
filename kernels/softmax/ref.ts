/** Reference kernels for softmax and logSoftmax: per line along the axis, max first, then exp(x − max). */
import { sizeOf } from '../../core/shape.js';
import { allocOutput, type HostData, type RefKernel, type RefKernelTable } from '../host.js';
import type { SoftmaxAttrs } from './softmax.js';

/** Visit each line along `axis` as (first flat index, stride between its elements, length). */
function forEachLine(
  shape: readonly number[],
  axis: number,
  visit: (start: number, stride: number, n: number) => void,
): void {
  const outer = sizeOf(shape.slice(0, axis));
  const n = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) visit(o * n * inner + i, inner, n);
  }
}

/** max and Σ exp(x − max) of one line; a line of all −∞ gives max −∞ (its softmax is NaN, as in NumPy). */
function lineStats(x: HostData, start: number, stride: number, n: number): { max: number; sum: number } {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const v = x[start + j * stride];
    if (v > max || Number.isNaN(v)) max = v;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(x[start + j * stride] - max);
  return { max, sum };
}

const softmax: RefKernel<SoftmaxAttrs> = ([x], { axis }, [out]) => {
  const y = allocOutput(out);
  forEachLine(x.shape, axis, (start, stride, n) => {
    const { max, sum } = lineStats(x.data, start, stride, n);
    for (let j = 0; j < n; j++) y[start + j * stride] = Math.exp(x.data[start + j * stride] - max) / sum;
  });
  return [y];
};

const logSoftmax: RefKernel<SoftmaxAttrs> = ([x], { axis }, [out]) => {
  const y = allocOutput(out);
  forEachLine(x.shape, axis, (start, stride, n) => {
    const { max, sum } = lineStats(x.data, start, stride, n);
    const logSum = Math.log(sum);
    for (let j = 0; j < n; j++) y[start + j * stride] = x.data[start + j * stride] - max - logSum;
  });
  return [y];
};

export const refKernels: RefKernelTable = { softmax, logSoftmax };
