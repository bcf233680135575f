/** Reference kernels for the layout family. */
import { ShapeError } from '../../core/errors.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import { allocOutput, type HostData, type RefKernel, type RefKernelTable } from '../host.js';
import type { ConcatAttrs, GatherAttrs, PadAttrs, SliceAttrs, SliceUpdateAttrs } from './layout.js';

const copy: RefKernel<unknown> = ([x]) => [x.data.slice()];

/**
 * A copy of x with the update's rows written at `starts`. The reference never writes into its
 * inputs (recovery replays reuse their arrays); the backends' kernels write in place.
 */
const sliceUpdate: RefKernel<SliceUpdateAttrs> = ([x, update], { starts }) => {
  const y = x.data.slice();
  forEachUpdateRow(x.shape, update.shape, starts, (src, dst, len) => {
    y.set(update.data.subarray(src, src + len), dst);
  });
  return [y];
};

/**
 * Visit the update's rows (runs along the last axis): offset in the update, offset in x, length.
 * Shared by the backends that write in place from JavaScript.
 */
export function forEachUpdateRow(
  shape: readonly number[],
  updateShape: readonly number[],
  starts: readonly number[],
  visit: (src: number, dst: number, len: number) => void,
): void {
  const rank = shape.length;
  if (sizeOf(updateShape) === 0) return;
  if (rank === 0) {
    visit(0, 0, 1);
    return;
  }
  const strides = contiguousStrides(shape);
  const len = updateShape[rank - 1];
  const rows = sizeOf(updateShape) / len;
  const index = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let dst = starts[rank - 1];
    for (let a = 0; a < rank - 1; a++) dst += (starts[a] + index[a]) * strides[a];
    visit(r * len, dst, len);
    for (let a = rank - 2; a >= 0; a--) {
      if (++index[a] < updateShape[a]) break;
      index[a] = 0;
    }
  }
}

const concat: RefKernel<ConcatAttrs> = (inputs, { axis }, [out]) => {
  const y = allocOutput(out);
  const outer = sizeOf(out.shape.slice(0, axis));
  const inner = sizeOf(out.shape.slice(axis + 1));
  const outRow = out.shape[axis] * inner;
  let col = 0;
  for (const t of inputs) {
    const rowLen = t.shape[axis] * inner;
    for (let o = 0; o < outer; o++) y.set(t.data.subarray(o * rowLen, (o + 1) * rowLen), o * outRow + col);
    col += rowLen;
  }
  return [y];
};

function checkIndex(i: number, dim: number, axis: number): number {
  if (i < -dim || i >= dim) throw new ShapeError(`gather: index ${i} is out of range for axis ${axis} of size ${dim}`);
  return i < 0 ? i + dim : i;
}

/** Shared walk of gather and its vjp: (outer, index position, inner) ↔ (outer, source row, inner). */
function gatherWalk(
  shape: readonly number[],
  indices: HostData,
  axis: number,
  visit: (srcBase: number, dstBase: number, inner: number) => void,
): void {
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const dim = shape[axis];
  const n = indices.length;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) {
      const row = checkIndex(indices[k], dim, axis);
      visit((o * dim + row) * inner, (o * n + k) * inner, inner);
    }
  }
}

const gather: RefKernel<GatherAttrs> = ([x, indices], { axis }, [out]) => {
  const y = allocOutput(out);
  gatherWalk(x.shape, indices.data, axis, (src, dst, inner) => {
    y.set(x.data.subarray(src, src + inner), dst);
  });
  return [y];
};

const scatterAdd: RefKernel<GatherAttrs & { inputShape: readonly number[] }> = (
  [g, indices],
  { axis, inputShape },
  [out],
) => {
  const y = allocOutput(out);
  gatherWalk(inputShape, indices.data, axis, (dst, src, inner) => {
    for (let i = 0; i < inner; i++) y[dst + i] += g.data[src + i];
  });
  return [y];
};

/** Walk every element of a slice of `shape`, giving the flat index in the full tensor. */
function forEachSliced(
  shape: readonly number[],
  { begin, size, step }: SliceAttrs,
  visit: (full: number, i: number) => void,
): void {
  const strides = contiguousStrides(shape);
  const n = sizeOf(size);
  const index = new Array<number>(size.length).fill(0);
  for (let i = 0; i < n; i++) {
    let full = 0;
    for (let a = 0; a < size.length; a++) full += (begin[a] + index[a] * step[a]) * strides[a];
    visit(full, i);
    for (let a = size.length - 1; a >= 0; a--) {
      if (++index[a] < size[a]) break;
      index[a] = 0;
    }
  }
}

const sliceScatter: RefKernel<SliceAttrs & { inputShape: readonly number[] }> = ([g], attrs, [out]) => {
  const y = allocOutput(out);
  forEachSliced(attrs.inputShape, attrs, (full, i) => {
    y[full] = g.data[i];
  });
  return [y];
};

/** Source index along one axis for a padded position, or -1 for constant padding. */
export function padSource(p: number, before: number, dim: number, mode: PadAttrs['mode']): number {
  let i = p - before;
  if (i >= 0 && i < dim) return i;
  if (mode === 'constant') return -1;
  if (mode === 'edge') return i < 0 ? 0 : dim - 1;
  // reflect without repeating the edge: period 2(dim-1)
  if (dim === 1) return 0;
  const period = 2 * (dim - 1);
  i = ((i % period) + period) % period;
  return i < dim ? i : period - i;
}

/** Visit each padded output element with the flat index of its source (-1 for constants). */
function forEachPadded(
  inShape: readonly number[],
  { pads, mode }: PadAttrs,
  visit: (outIndex: number, srcIndex: number) => void,
): void {
  const outShape = inShape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const inStrides = contiguousStrides(inShape);
  const n = sizeOf(outShape);
  const index = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let a = 0; a < outShape.length; a++) {
      const s = padSource(index[a], pads[a][0], inShape[a], mode);
      if (s < 0) {
        src = -1;
        break;
      }
      src += s * inStrides[a];
    }
    visit(o, src);
    for (let a = outShape.length - 1; a >= 0; a--) {
      if (++index[a] < outShape[a]) break;
      index[a] = 0;
    }
  }
}

const pad: RefKernel<PadAttrs> = ([x], attrs, [out]) => {
  const y = allocOutput(out);
  forEachPadded(x.shape, attrs, (o, src) => {
    y[o] = src < 0 ? attrs.value : x.data[src];
  });
  return [y];
};

const padGrad: RefKernel<PadAttrs & { inputShape: readonly number[] }> = ([g], attrs, [out]) => {
  const y = allocOutput(out);
  forEachPadded(attrs.inputShape, attrs, (o, src) => {
    if (src >= 0) y[src] += g.data[o];
  });
  return [y];
};

export const refKernels: RefKernelTable = {
  sliceUpdate,
  copy,
  concat,
  gather,
  scatterAdd,
  sliceScatter,
  pad,
  padGrad,
};
