/**
 * How kernels/<family>/native.ts turn addon calls into engine kernels:
 * - attrs are checked against the keys the native code understands, so an op definition
 *   that grows a new attr makes the native kernel throw instead of silently ignoring it;
 * - half-precision tensors (f16, bf16) are widened to f32 by the addon, computed in f32 and
 *   narrowed back (the halves have no native arithmetic of their own);
 * - dtypes the native code does not cover (i32 arithmetic, f64) run the family's
 *   reference kernel on the same host arrays, recorded in the fallback ledger (core/ledger.ts).
 */
import type { Kernel, KernelTensor, TensorInfo } from '../../core/backend.js';
import {
  computeDType,
  type DType,
  fromCompute,
  type HalfDType,
  isHalf,
  type TypedArray,
  toCompute,
} from '../../core/dtype.js';
import { BackendError, CancelledError } from '../../core/errors.js';
import { recordFallback } from '../../core/ledger.js';
import { sizeOf } from '../../core/shape.js';
import type { HostData, RefKernel } from '../../kernels/host.js';
import type { NativeAddon } from './addon.js';
import { nativeAddon } from './loader.js';
import { type NativeStorage, nativeStorage } from './storage.js';

export { allocFor, outputArray, outputF32, overwrittenF32 } from './storage.js';

/** A kernel input as native code sees it: contiguous host data (f16/bf16 already widened to f32). */
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
   * Whether the native code takes these inputs. Default: every input is f32, f16 or bf16
   * (dtypes listed in `other` may appear at their positions, e.g. i32 indices).
   */
  readonly accepts?: (inputs: readonly KernelTensor<NativeStorage>[], attrs: A) => boolean;
  /** Non-float inputs the native code takes as they are: position → dtype. */
  readonly other?: Readonly<Record<number, DType>>;
  /**
   * The native computation on f32 data (f16/bf16 inputs widened); returns one array per output
   * in its compute dtype (f32 where the output is f16/bf16). May throw to reject bad values.
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
  for (const key in attrs) {
    if (!known.includes(key)) {
      throw new BackendError(
        `native ${op}: unsupported attr '${key}' (this kernel understands ${known.length ? known.join(', ') : 'no attrs'}); ` +
          `update kernels/<family>/native.ts or run the op on the js backend`,
      );
    }
  }
}

function defaultAccepts(inputs: readonly KernelTensor[], other: Readonly<Record<number, DType>> | undefined): boolean {
  return inputs.every((t, i) => t.dtype === 'f32' || isHalf(t.dtype) || other?.[i] === t.dtype);
}

/** Half-precision bits widened to f32 by the addon (vectorised and threaded). */
export function widen(addon: NativeAddon, data: TypedArray, dtype: HalfDType): Float32Array {
  const out = new Float32Array(data.length);
  if (dtype === 'f16') addon.f16ToF32(data as Uint16Array, out);
  else addon.bf16ToF32(data as Uint16Array, out);
  return out;
}

/** f32 values rounded (nearest even) to half-precision bits by the addon. */
export function narrow(addon: NativeAddon, data: Float32Array, dtype: HalfDType): Uint16Array {
  const out = new Uint16Array(data.length);
  if (dtype === 'f16') addon.f32ToF16(data, out);
  else addon.f32ToBf16(data, out);
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
    data: toCompute(t.storage.data, t.dtype) as HostData,
    shape: t.shape,
    dtype: computeDType(t.dtype),
  }));
  const results = ref(
    host,
    attrs,
    outputs.map((o) => ({ shape: o.shape, dtype: computeDType(o.dtype) })),
  );
  return results.map((data, i) =>
    nativeStorage(isHalf(outputs[i].dtype) ? fromCompute(data, outputs[i].dtype) : owned(data, inputs)),
  );
}

/**
 * `data`, or a copy when it is one of the inputs' arrays: a kernel that passes an input
 * through must not make two storages share one array (a freed storage's array is reused).
 */
function owned(data: TypedArray, inputs: readonly KernelTensor<NativeStorage>[]): TypedArray {
  return inputs.some((t) => t.storage.data === data) ? data.slice() : data;
}

/** What the addon's thread pool throws when Ctrl-C stops a kernel (native-metal/src/threadpool.cc). */
const POOL_INTERRUPTED = 'interrupted (SIGINT)';

/**
 * Run a native call, turning the thread pool's Ctrl-C stop into the core's CancelledError. The pool sees
 * SIGINT before Node's own handler has run (the call is still on the stack), so nothing else can tell a
 * stopped kernel from a failed one: without this a Ctrl-C during a long kernel ended as a failure (exit 1).
 */
function runInterruptible<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof Error && err.message === POOL_INTERRUPTED) {
      throw new CancelledError('interrupted (Ctrl-C)');
    }
    throw err;
  }
}

export function nativeKernel<A>(spec: NativeKernelSpec<A>): Kernel<A, NativeStorage> {
  return (inputs, attrs, outputs) => {
    checkAttrs(spec.op, attrs, spec.attrs);
    const accepted = spec.accepts ? spec.accepts(inputs, attrs) : defaultAccepts(inputs, spec.other);
    if (!accepted) return runReference(spec.op, spec.ref, inputs, attrs, outputs);
    const addon = nativeAddon();
    const tensors = inputs.map((t) => ({
      data: isHalf(t.dtype) ? widen(addon, t.storage.data, t.dtype) : t.storage.data,
      shape: t.shape,
      dtype: computeDType(t.dtype),
    }));
    const computeOutputs = outputs.map((o) => ({ shape: o.shape, dtype: computeDType(o.dtype) }));
    const results = runInterruptible(() => spec.run(addon, tensors, attrs, computeOutputs));
    return results.map((data, i) => {
      if (data.length !== sizeOf(outputs[i].shape)) {
        throw new BackendError(
          `native ${spec.op}: output ${i} has ${data.length} elements, expected ${sizeOf(outputs[i].shape)}`,
        );
      }
      const dtype = outputs[i].dtype;
      return nativeStorage(isHalf(dtype) ? narrow(addon, data as Float32Array, dtype) : owned(data, inputs));
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
