/**
 * Native storages are host typed arrays the addon reads and writes in place: the same
 * layout as the js backend's (f16 as Uint16Array bits), so uploads, reads and fallbacks
 * are plain copies and kernels pass the arrays to C++ without copying them.
 */
import type { Backend, Storage, StridedView } from '../../core/backend.js';
import { type DType, HOST_ARRAY, type TypedArray } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import { nativeAddon } from './loader.js';
import { HostArrayPool, type PoolStats, poolCapFromEnv } from './pool.js';

/** Outputs of native kernels come from here and go back here when their storage is freed. */
let shared: HostArrayPool | undefined;

/** Made on first use, so a bad EAI_NATIVE_POOL_MB fails the native op that needs it, not `info`. */
function pool(): HostArrayPool {
  shared ??= new HostArrayPool(poolCapFromEnv());
  return shared;
}

/** How the output pool is doing (bytes held, reuse counts). */
export function nativePoolStats(): PoolStats {
  return pool().stats();
}

/** Empty the output pool (its arrays go back to the garbage collector). */
export function clearNativePool(): void {
  pool().clear();
}

/** Tests: fill every overwrittenF32 output with NaN first (see HostArrayPool.poison). */
export function setNativePoolPoison(on: boolean): void {
  pool().poison = on;
}

export interface NativeStorage extends Storage {
  readonly backend: 'native';
  /** The dtype's host layout: f16 as Uint16Array bits. */
  readonly data: TypedArray;
}

export function nativeStorage(data: TypedArray): NativeStorage {
  return { backend: 'native', data, byteLength: data.byteLength };
}

export const nativeBackend: Backend<NativeStorage> = {
  name: 'native',
  upload(data: TypedArray): NativeStorage {
    return nativeStorage(data.slice());
  },
  async read(storage: NativeStorage): Promise<TypedArray> {
    return storage.data.slice();
  },
  readSync(storage: NativeStorage): TypedArray {
    return storage.data.slice();
  },
  free(storage: NativeStorage): void {
    // Every native storage owns its array (uploads and reads copy, kernels never return an
    // input's array: see nativeKernel), so a freed one can be handed to the next output.
    pool().give(storage.data);
  },
  contiguous(view: StridedView<NativeStorage>): NativeStorage {
    const out = allocFor(view.dtype, view.shape);
    nativeAddon().stridedCopy(view.storage.data, out, [...view.shape], [...view.strides], view.offset);
    return nativeStorage(out);
  },
};

/**
 * An output array for `dtype` (f16 as bits), reused from freed outputs where one fits: zeroed,
 * unless `zero` is false for a kernel that writes every element (see overwrittenF32).
 */
export function allocFor(dtype: DType, shape: readonly number[], zero = true): TypedArray {
  return pool().take(HOST_ARRAY[dtype], sizeOf(shape), zero);
}

/** A zeroed output array of `length` elements of `ctor`'s type (see allocFor). */
export function outputArray<T extends TypedArray>(ctor: new (length: number) => T, length: number): T {
  return pool().take(ctor, length);
}

export function outputF32(length: number): Float32Array {
  return outputArray(Float32Array, length);
}

/**
 * An f32 output the kernel writes in full: a reused array is not zeroed first (on a style
 * network that zeroing is hundreds of megabytes of single-threaded memset per image). The
 * conformance cases run on NaN-filled outputs (setNativePoolPoison) to hold kernels to that.
 */
export function overwrittenF32(length: number): Float32Array {
  return pool().take(Float32Array, length, false);
}
