/**
 * Native layout kernels. Copies move elements of any dtype as raw bytes (gather, pad,
 * sliceScatter in native.cc; copy and concat as typed-array block copies); the gradient
 * scatters (scatterAdd, padGrad) add in f32. Indices are checked here first: an
 * out-of-range one runs the reference, which raises its error.
 */
import type { F32 } from '../../backends/native/addon.js';
import { checkAttrs, f32, kernelTable, nativeKernel, outputF32, runReference } from '../../backends/native/kernel.js';
import { nativeAddon } from '../../backends/native/loader.js';
import { type NativeStorage, nativeStorage } from '../../backends/native/storage.js';
import type { Kernel } from '../../core/backend.js';
import { toHost } from '../../core/creation.js';
import { allocHost, isHalf, type TypedArray } from '../../core/dtype.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import type { ConcatAttrs, GatherAttrs, PadAttrs, SliceAttrs } from './layout.js';
import { refKernels } from './ref.js';

/** The functions kernels/layout/native.cc adds to the addon. */
export interface NativeFunctions {
  gatherRows(
    x: ArrayBufferView,
    indices: Int32Array,
    y: ArrayBufferView,
    outer: number,
    dim: number,
    inner: number,
  ): void;
  scatterAddRows(g: F32, indices: Int32Array, y: F32, outer: number, dim: number, inner: number): void;
  pad(
    x: ArrayBufferView,
    y: ArrayBufferView,
    shape: number[],
    pads: number[],
    mode: string,
    fill: ArrayBufferView,
  ): void;
  padGrad(g: F32, y: F32, shape: number[], pads: number[], mode: string): void;
}

type Scatter<A> = A & { readonly inputShape: readonly number[] };

function indicesInRange(indices: TypedArray, dim: number): boolean {
  for (let i = 0; i < indices.length; i++) if (indices[i] < -dim || indices[i] >= dim) return false;
  return true;
}

const copy: Kernel<Record<string, never>, NativeStorage> = ([x], attrs) => {
  checkAttrs('copy', attrs, []);
  return [nativeStorage(x.storage.data.slice())];
};

const concat: Kernel<ConcatAttrs, NativeStorage> = (inputs, attrs, [out]) => {
  checkAttrs('concat', attrs, ['axis']);
  const { axis } = attrs;
  const y = allocHost(out.dtype, sizeOf(out.shape));
  const outer = sizeOf(out.shape.slice(0, axis));
  const inner = sizeOf(out.shape.slice(axis + 1));
  const outRow = out.shape[axis] * inner;
  let col = 0;
  for (const t of inputs) {
    const rowLen = t.shape[axis] * inner;
    const src = t.storage.data;
    if (rowLen === outRow) y.set(src, 0);
    else for (let o = 0; o < outer; o++) y.set(src.subarray(o * rowLen, (o + 1) * rowLen), o * outRow + col);
    col += rowLen;
  }
  return [nativeStorage(y)];
};

const gather: Kernel<GatherAttrs, NativeStorage> = (inputs, attrs, outputs) => {
  checkAttrs('gather', attrs, ['axis']);
  const [x, indices] = inputs;
  const { axis } = attrs;
  const dim = x.shape[axis];
  if (indices.dtype !== 'i32') return runReference('gather', refKernels.gather, inputs, attrs, outputs);
  // The reference raises the out-of-range error, naming the index.
  if (!indicesInRange(indices.storage.data, dim)) {
    return runReference('gather', refKernels.gather, inputs, attrs, outputs, null);
  }
  const y = allocHost(x.dtype, sizeOf(outputs[0].shape));
  nativeAddon().gatherRows(
    x.storage.data,
    indices.storage.data as Int32Array,
    y,
    sizeOf(x.shape.slice(0, axis)),
    dim,
    sizeOf(x.shape.slice(axis + 1)),
  );
  return [nativeStorage(y)];
};

const scatterAdd = nativeKernel<Scatter<GatherAttrs>>({
  op: 'scatterAdd',
  attrs: ['axis', 'inputShape'],
  ref: refKernels.scatterAdd,
  accepts: ([g, indices], { axis, inputShape }) =>
    (g.dtype === 'f32' || isHalf(g.dtype)) &&
    indices.dtype === 'i32' &&
    indicesInRange(indices.storage.data, inputShape[axis]),
  run(addon, [g, indices], { axis, inputShape }, [out]) {
    const y = outputF32(sizeOf(out.shape));
    addon.scatterAddRows(
      f32(g.data),
      indices.data as Int32Array,
      y,
      sizeOf(inputShape.slice(0, axis)),
      inputShape[axis],
      sizeOf(inputShape.slice(axis + 1)),
    );
    return [y];
  },
});

const sliceScatter: Kernel<Scatter<SliceAttrs>, NativeStorage> = ([g], attrs, [out]) => {
  checkAttrs('sliceScatter', attrs, ['begin', 'size', 'step', 'inputShape']);
  const { begin, size, step, inputShape } = attrs;
  const y = allocHost(out.dtype, sizeOf(out.shape));
  const strides = contiguousStrides(inputShape);
  const offset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
  nativeAddon().stridedWrite(
    g.storage.data,
    y,
    [...size],
    strides.map((s, i) => s * step[i]),
    offset,
  );
  return [nativeStorage(y)];
};

const MODES = ['constant', 'reflect', 'edge'];

function flatPads(pads: PadAttrs['pads']): number[] {
  return pads.flat();
}

const pad: Kernel<PadAttrs, NativeStorage> = ([x], attrs, [out]) => {
  checkAttrs('pad', attrs, ['pads', 'mode', 'value']);
  if (!MODES.includes(attrs.mode))
    throw new Error(`native pad: unsupported mode '${attrs.mode}' (constant, reflect, edge)`);
  const y = allocHost(out.dtype, sizeOf(out.shape));
  const fill = toHost([attrs.value], x.dtype);
  nativeAddon().pad(x.storage.data, y, [...x.shape], flatPads(attrs.pads), attrs.mode, fill);
  return [nativeStorage(y)];
};

const padGrad = nativeKernel<Scatter<PadAttrs>>({
  op: 'padGrad',
  attrs: ['pads', 'mode', 'value', 'inputShape'],
  ref: refKernels.padGrad,
  run(addon, [g], { pads, mode, inputShape }, [out]) {
    if (!MODES.includes(mode)) throw new Error(`native padGrad: unsupported mode '${mode}' (constant, reflect, edge)`);
    const y = outputF32(sizeOf(out.shape));
    addon.padGrad(f32(g.data), y, [...inputShape], flatPads(pads), mode);
    return [y];
  },
});

export const nativeKernels = kernelTable({ copy, concat, gather, scatterAdd, sliceScatter, pad, padGrad });
