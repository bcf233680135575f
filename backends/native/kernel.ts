/**
 * How kernels/<family>/native.ts turn addon calls into engine kernels:
 * - attrs are checked against the keys the native code understands, so an op definition
 *   that grows a new attr makes the native kernel throw instead of silently ignoring it;
 * - f16 tensors are widened to f32 by the addon, computed in f32 and narrowed back
 *   (f16 has no native arithmetic of its own);
 * - dtypes the native code does not cover (i32 arithmetic, f64) run the family's
 *   reference kernel on the same host arrays, recorded in the fallback ledger (core/ledger.ts).
 */
import type { Kernel, KernelTensor, TensorInfo } from '../../core/backend.js';
import { type DType, f16ArrayToF32, f32ArrayToF16, type TypedArray } from '../../core/dtype.js';
import { BackendError } from '../../core/errors.js';
import { recordFallback } from '../../core/ledger.js';
import { sizeOf } from '../../core/shape.js';
import { computeDType, type HostData, type RefKernel } from '../../kernels/host.js';
import type { NativeAddon } from './addon.js';
import { nativeAddon } from './loader.js';
import { type NativeStorage, nativeStorage } from './storage.js';

export { allocFor, outputArray, outputF32, overwrittenF32 } from './storage.js';

/** A kernel input as native code sees it: contiguous host data (f16 already widened to f32). */
export interface NativeTensor {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface NativeKernelSpec<A> {
  readonly op: string;
  /** Every attr key the native code understands. */
  readonly attrs: readonly string[];
  /** The family's reference kernel: the path for dtypes `accepts` turns down. */
  readonly ref: RefKernel<A>;
  /**
   * Whether the native code takes these inputs. Default: every input is f32 or f16
   * (dtypes listed in `other` may appear at their positions, e.g. i32 indices).
   */
  readonly accepts?: (inputs: readonly KernelTensor<NativeStorage>[], attrs: A) => boolean;
  /** Non-float inputs the native code takes as they are: position → dtype. */
  readonly other?: Readonly<Record<number, DType>>;
  /**
   * The native computation on f32 data (f16 inputs widened); returns one array per output
   * in its compute dtype (f32 where the output is f16). May throw to reject bad values.
   */
  readonly run: (
    addon: NativeAddon,
    inputs: readonly NativeTensor[],
    attrs: A,
    outputs: readonly TensorInfo[],
  ) => TypedArray[];
}

export function checkAttrs(op: string, attrs: unknown, known: readonly string[]): void {
  if (attrs === null || typeof attrs !== 'object') return;
  for (const key of Object.keys(attrs)) {
    if (!known.includes(key)) {
      throw new BackendError(
        `native ${op}: unsupported attr '${key}' (this kernel understands ${known.length ? known.join(', ') : 'no attrs'}); ` +
          `update kernels/<family>/native.ts or run the op on the js backend`,
      );
    }
  }
}

function defaultAccepts(inputs: readonly KernelTensor[], other: Readonly<Record<number, DType>> | undefined): boolean {
  return inputs.every((t, i) => t.dtype === 'f32' || t.dtype === 'f16' || other?.[i] === t.dtype);
}

export function widen(addon: NativeAddon, data: TypedArray): Float32Array {
  const out = new Float32Array(data.length);
  addon.f16ToF32(data as Uint16Array, out);
  return out;
}

export function narrow(addon: NativeAddon, data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  addon.f32ToF16(data, out);
  return out;
}

/**
 * The reference kernel on native storages (what the js backend would do, without copies in),
 * recorded in the fallback ledger with `why` — or not at all when `why` is null: a call that
 * only lets the reference raise its error on bad input.
 */
export function runReference<A>(
  op: string,
  ref: RefKernel<A>,
  inputs: readonly KernelTensor<NativeStorage>[],
  attrs: A,
  outputs: readonly TensorInfo[],
  why: string | null = `no native code for ${inputs.map((t) => t.dtype).join(', ')} inputs`,
): NativeStorage[] {
  if (why !== null) recordFallback(op, 'reference', 'native', 'js', why);
  const host = inputs.map((t) => ({
    data: (t.dtype === 'f16' ? f16ArrayToF32(t.storage.data as Uint16Array) : t.storage.data) as HostData,
    shape: t.shape,
    dtype: computeDType(t.dtype),
  }));
  const results = ref(
    host,
    attrs,
    outputs.map((o) => ({ shape: o.shape, dtype: computeDType(o.dtype) })),
  );
  return results.map((data, i) =>
    nativeStorage(outputs[i].dtype === 'f16' ? f32ArrayToF16(data) : owned(data as TypedArray, inputs)),
  );
}

/**
 * `data`, or a copy when it is one of the inputs' arrays: a kernel that passes an input
 * through must not make two storages share one array (a freed storage's array is reused).
 */
function owned(data: TypedArray, inputs: readonly KernelTensor<NativeStorage>[]): TypedArray {
  return inputs.some((t) => t.storage.data === data) ? data.slice() : data;
}

export function nativeKernel<A>(spec: NativeKernelSpec<A>): Kernel<A, NativeStorage> {
  return (inputs, attrs, outputs) => {
    checkAttrs(spec.op, attrs, spec.attrs);
    const accepted = spec.accepts ? spec.accepts(inputs, attrs) : defaultAccepts(inputs, spec.other);
    if (!accepted) return runReference(spec.op, spec.ref, inputs, attrs, outputs);
    const addon = nativeAddon();
    const tensors = inputs.map((t) => ({
      data: t.dtype === 'f16' ? widen(addon, t.storage.data) : t.storage.data,
      shape: t.shape,
      dtype: computeDType(t.dtype),
    }));
    const computeOutputs = outputs.map((o) => ({ shape: o.shape, dtype: computeDType(o.dtype) }));
    const results = spec.run(addon, tensors, attrs, computeOutputs);
    return results.map((data, i) => {
      if (data.length !== sizeOf(outputs[i].shape)) {
        throw new BackendError(
          `native ${spec.op}: output ${i} has ${data.length} elements, expected ${sizeOf(outputs[i].shape)}`,
        );
      }
      return nativeStorage(outputs[i].dtype === 'f16' ? narrow(addon, data as Float32Array) : owned(data, inputs));
    });
  };
}

/** A table entry as registerKernels wants it. */
export type NativeKernelTable = Readonly<Record<string, Kernel<never, never>>>;

export function kernelTable(entries: Record<string, Kernel<never, NativeStorage>>): NativeKernelTable {
  return entries as unknown as NativeKernelTable;
}

export function f32(data: TypedArray): Float32Array {
  if (!(data instanceof Float32Array)) throw new BackendError('native kernel: expected f32 data');
  return data;
}
