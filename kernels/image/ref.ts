/**
 * Reference kernels for resizing. Both axes are separable: each output row (column)
 * reads at most two input rows (columns) with fixed weights, so one tap table per axis
 * drives the forward pass and its adjoint alike. Taps of weight 0 (the far neighbour
 * at an exact sample, or past the border) are skipped, so an Inf or NaN there stays out.
 */
import { sizeOf } from '../../core/shape.js';
import { allocOutput, type RefKernel, type RefKernelTable } from '../host.js';
import type { ResizeAttrs, ResizeGradAttrs } from './image.js';

interface Tap {
  readonly i0: number;
  readonly i1: number;
  /** Weight of i1; i0 gets 1 − w1. */
  readonly w1: number;
}

/** Source index for nearest: exact integer arithmetic (see the table in image.ts). */
function nearestSource(d: number, inSize: number, outSize: number, coordinate: ResizeAttrs['coordinate']): number {
  let s: number;
  if (coordinate === 'asymmetric') s = Math.floor((d * inSize) / outSize);
  else if (coordinate === 'halfPixel') s = Math.floor(((2 * d + 1) * inSize) / (2 * outSize));
  // round(d·(in−1)/(out−1)) with halves rounding up, as floor((2·d·(in−1) + (out−1)) / (2·(out−1)))
  else s = outSize > 1 ? Math.floor((2 * d * (inSize - 1) + (outSize - 1)) / (2 * (outSize - 1))) : 0;
  return Math.min(s, inSize - 1);
}

function bilinearSource(d: number, inSize: number, outSize: number, coordinate: ResizeAttrs['coordinate']): number {
  if (coordinate === 'asymmetric') return (d * inSize) / outSize;
  if (coordinate === 'halfPixel') return Math.max(((d + 0.5) * inSize) / outSize - 0.5, 0);
  return outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
}

function taps(inSize: number, outSize: number, { mode, coordinate }: ResizeAttrs): Tap[] {
  return Array.from({ length: outSize }, (_, d) => {
    if (mode === 'nearest') {
      const s = nearestSource(d, inSize, outSize, coordinate);
      return { i0: s, i1: s, w1: 0 };
    }
    const src = bilinearSource(d, inSize, outSize, coordinate);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), w1: src - i0 };
  });
}

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
