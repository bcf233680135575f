/**
 * Native storages are host typed arrays the addon reads and writes in place: the same
 * layout as the js backend's (f16 as Uint16Array bits), so uploads, reads and fallbacks
 * are plain copies and kernels pass the arrays to C++ without copying them.
 */
import type { Backend, Storage, StridedView } from '../../core/backend.js';
import { allocHost, type DType, type TypedArray } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import { nativeAddon } from './loader.js';

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
  free(): void {
    // Host arrays are garbage collected; the addon holds none beyond a call.
  },
  contiguous(view: StridedView<NativeStorage>): NativeStorage {
    const out = allocHost(view.dtype, sizeOf(view.shape));
    nativeAddon().stridedCopy(view.storage.data, out, [...view.shape], [...view.strides], view.offset);
    return nativeStorage(out);
  },
};

/** A fresh output array for `dtype` (f16 as bits). */
export function allocFor(dtype: DType, shape: readonly number[]): TypedArray {
  return allocHost(dtype, sizeOf(shape));
}
