/**
 * Reference kernels for resizing. Both axes are separable: each output row (column)
 * reads at most two input rows (columns) with fixed weights, so one tap table per axis
 * drives the forward pass and its adjoint alike. Taps of weight 0 (the far neighbour
 * at an exact sample, or past the border) are skipped, so an Inf or NaN there stays out.
 */
import { sizeOf } from '../../core/shape.js';
import { allocOutput, type RefKernel, type RefKernelTable } from '../host.js';
import type { ResizeAttrs, ResizeGradAttrs } from './image.js';
import { resizeTaps as taps } from './taps.js';

/** Visit every (output pixel, input pixel, weight) contribution, four per output pixel. */
function forEachContribution(
  inShape: readonly number[],
  attrs: ResizeAttrs,
  visit: (outIndex: number, inIndex: number, weight: number) => void,
): void {
  const [n, c, h, w] = inShape;
  const [oh, ow] = attrs.size;
  const rows = taps(h, oh, attrs);
  const cols = taps(w, ow, attrs);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (const r of rows) {
      for (const col of cols) {
        const base = plane * h;
        visit(o, (base + r.i0) * w + col.i0, (1 - r.w1) * (1 - col.w1));
        visit(o, (base + r.i0) * w + col.i1, (1 - r.w1) * col.w1);
        visit(o, (base + r.i1) * w + col.i0, r.w1 * (1 - col.w1));
        visit(o, (base + r.i1) * w + col.i1, r.w1 * col.w1);
        o++;
      }
    }
  }
}

const resize: RefKernel<ResizeAttrs> = ([x], attrs, [out]) => {
  const acc = new Float64Array(sizeOf(out.shape));
  forEachContribution(x.shape, attrs, (o, i, weight) => {
    if (weight !== 0) acc[o] += weight * x.data[i];
  });
  const y = allocOutput(out);
  y.set(acc);
  return [y];
};

const resizeGrad: RefKernel<ResizeGradAttrs> = ([g], attrs, [out]) => {
  const acc = new Float64Array(sizeOf(out.shape));
  forEachContribution(attrs.inputShape, attrs, (o, i, weight) => {
    if (weight !== 0) acc[i] += weight * g.data[o];
  });
  const y = allocOutput(out);
  y.set(acc);
  return [y];
};

export const refKernels: RefKernelTable = { resize, resizeGrad };
