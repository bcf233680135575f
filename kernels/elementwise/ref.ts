/** Reference kernels for the elementwise family: broadcasting loops over the scalar tables in math.ts. */
import type { DType } from '../../core/dtype.js';
import { broadcastStrides, sizeOf } from '../../core/shape.js';
import { allocOutput, type HostData, type HostTensor, type RefKernel, type RefKernelTable } from '../host.js';
import type { CastAttrs, ClampAttrs } from './elementwise.js';
import { BINARY, COMPARE, UNARY } from './math.js';

function unaryKernel(fn: (x: number) => number): RefKernel<unknown> {
  return ([x], _attrs, [out]) => {
    const y = allocOutput(out);
    const src = x.data;
    for (let i = 0; i < y.length; i++) y[i] = fn(src[i]);
    return [y];
  };
}

/** Visit every output index of a broadcast, giving each input's flat offset. */
export function forEachBroadcast(
  outShape: readonly number[],
  inputs: readonly HostTensor[],
  visit: (outIndex: number, offsets: number[]) => void,
): void {
  const rank = outShape.length;
  const strides = inputs.map((t) => broadcastStrides(t.shape, outShape));
  const n = sizeOf(outShape);
  const offsets = new Array<number>(inputs.length).fill(0);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    visit(i, offsets);
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      for (let k = 0; k < inputs.length; k++) offsets[k] += strides[k][axis];
      if (index[axis] < outShape[axis]) break;
      for (let k = 0; k < inputs.length; k++) offsets[k] -= strides[k][axis] * outShape[axis];
      index[axis] = 0;
    }
  }
}

function binaryKernel(fn: (a: number, b: number) => number): RefKernel<unknown> {
  return ([a, b], _attrs, [out]) => {
    const y = allocOutput(out);
    const ad = a.data;
    const bd = b.data;
    forEachBroadcast(out.shape, [a, b], (i, [ia, ib]) => {
      y[i] = fn(ad[ia], bd[ib]);
    });
    return [y];
  };
}

const where: RefKernel<unknown> = ([c, a, b], _attrs, [out]) => {
  const y = allocOutput(out);
  forEachBroadcast(out.shape, [c, a, b], (i, [ic, ia, ib]) => {
    y[i] = c.data[ic] !== 0 ? a.data[ia] : b.data[ib];
  });
  return [y];
};

const clamp: RefKernel<ClampAttrs> = ([x], { min, max }, [out]) => {
  const y = allocOutput(out);
  for (let i = 0; i < y.length; i++) {
    const v = x.data[i];
    y[i] = Number.isNaN(v) ? v : Math.min(max, Math.max(min, v));
  }
  return [y];
};

/** The range an integer dtype saturates to; null for floats. */
export const INT_RANGES: Readonly<Partial<Record<DType, readonly [number, number]>>> = {
  i32: [-2147483648, 2147483647],
  u32: [0, 4294967295],
  u8: [0, 255],
  i8: [-128, 127],
};

/** Casts to an integer dtype truncate toward zero and saturate to its range (as WGSL does); NaN becomes 0. */
const cast: RefKernel<CastAttrs> = ([x], { dtype }, [out]) => {
  const y: HostData = allocOutput(out);
  const range = INT_RANGES[dtype];
  if (!range) {
    y.set(x.data);
    return [y];
  }
  const [lo, hi] = range;
  for (let i = 0; i < y.length; i++) {
    const v = x.data[i];
    y[i] = Number.isNaN(v) ? 0 : Math.min(hi, Math.max(lo, Math.trunc(v)));
  }
  return [y];
};

export const refKernels: RefKernelTable = {
  ...Object.fromEntries(Object.entries(UNARY).map(([name, fn]) => [name, unaryKernel(fn)])),
  ...Object.fromEntries(Object.entries(BINARY).map(([name, fn]) => [name, binaryKernel(fn)])),
  ...Object.fromEntries(Object.entries(COMPARE).map(([name, fn]) => [name, binaryKernel(fn)])),
  where,
  clamp,
  cast,
};
