/**
 * Native elementwise kernels: f32 (and f16, computed in f32) run in native.cc; integer
 * arithmetic runs the reference (its JavaScript number semantics are the definition).
 */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, outputArray, overwrittenF32 } from '../../backends/native/kernel.js';
import { allocHost } from '../../core/dtype.js';
import type { CastAttrs, ClampAttrs } from './elementwise.js';
import { BINARY, COMPARE, UNARY } from './math.js';
import { refKernels } from './ref.js';

/** The functions kernels/elementwise/native.cc adds to the addon. */
export interface NativeFunctions {
  unary(op: string, x: F32, y: F32): void;
  /** Arithmetic ops write a Float32Array, comparisons a Uint8Array. */
  binary(op: string, a: F32, b: F32, y: F32 | Uint8Array, aShape: number[], bShape: number[], outShape: number[]): void;
  where(
    cond: Uint8Array,
    a: F32,
    b: F32,
    y: F32,
    cShape: number[],
    aShape: number[],
    bShape: number[],
    outShape: number[],
  ): void;
  clamp(x: F32, y: F32, min: number, max: number): void;
  /** Between the f32, i32, u8, i8 and u32 arrays: floats truncate toward zero, integers saturate. */
  cast(x: CastArray, y: CastArray): void;
}

type CastArray = F32 | Int32Array | Uint8Array | Int8Array | Uint32Array;

type NoAttrs = Record<string, never>;

function unary(op: string) {
  return nativeKernel<NoAttrs>({
    op,
    attrs: [],
    ref: refKernels[op],
    run(addon, [x]) {
      const y = overwrittenF32(x.data.length);
      addon.unary(op, f32(x.data), y);
      return [y];
    },
  });
}

function binary(op: string, compare: boolean) {
  return nativeKernel<NoAttrs>({
    op,
    attrs: [],
    ref: refKernels[op],
    run(addon, [a, b], _attrs, [out]) {
      const n = out.shape.reduce((p, d) => p * d, 1);
      const y = compare ? outputArray(Uint8Array, n) : overwrittenF32(n);
      addon.binary(op, f32(a.data), f32(b.data), y, [...a.shape], [...b.shape], [...out.shape]);
      return [y];
    },
  });
}

const where = nativeKernel<NoAttrs>({
  op: 'where',
  attrs: [],
  ref: refKernels.where,
  other: { 0: 'u8' },
  run(addon, [c, a, b], _attrs, [out]) {
    const y = overwrittenF32(out.shape.reduce((p, d) => p * d, 1));
    addon.where(
      c.data as Uint8Array,
      f32(a.data),
      f32(b.data),
      y,
      [...c.shape],
      [...a.shape],
      [...b.shape],
      [...out.shape],
    );
    return [y];
  },
});

const clamp = nativeKernel<ClampAttrs>({
  op: 'clamp',
  attrs: ['min', 'max'],
  ref: refKernels.clamp,
  run(addon, [x], { min, max }) {
    const y = overwrittenF32(x.data.length);
    addon.clamp(f32(x.data), y, min, max);
    return [y];
  },
});

/** f16/bf16 sources arrive widened and such targets are narrowed by nativeKernel: the addon sees f32 and integers. */
const cast = nativeKernel<CastAttrs>({
  op: 'cast',
  attrs: ['dtype'],
  ref: refKernels.cast,
  accepts: ([x], { dtype }) => x.dtype !== 'f64' && dtype !== 'f64',
  run(addon, [x], _attrs, [out]) {
    const y = allocHost(out.dtype, x.data.length) as CastArray;
    addon.cast(x.data as CastArray, y);
    return [y];
  },
});

export const nativeKernels = kernelTable({
  ...Object.fromEntries(Object.keys(UNARY).map((op) => [op, unary(op)])),
  ...Object.fromEntries(Object.keys(BINARY).map((op) => [op, binary(op, false)])),
  ...Object.fromEntries(Object.keys(COMPARE).map((op) => [op, binary(op, true)])),
  where,
  clamp,
  cast,
});
