/**
 * Storages of the wasm backend are blocks of the runtime's memory: kernels read their inputs
 * and write their outputs in place (zero copies inside one shared memory); only upload and
 * read copy, once each way. f16 and bf16 are stored as their bits, like every other backend.
 */
import type { Backend, Storage, StridedView } from '../../core/backend.js';
import { allocHost, bytesPerElement, type DType, hostView, type TypedArray } from '../../core/dtype.js';
import { BackendError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import type { WasmRuntime } from './runtime.js';
import type { ThreadDecision } from './threads.js';

export interface WasmStorage extends Storage {
  readonly backend: 'wasm';
  /** Byte offset of the block in the runtime's memory. */
  readonly ptr: number;
  /** The runtime whose memory holds the block. */
  readonly rt: WasmRuntime;
}

/** A typed view of `n` elements of `dtype` at `ptr` (valid until the memory next grows). */
export function viewOf(rt: WasmRuntime, dtype: DType, ptr: number, n: number): TypedArray {
  return hostView(dtype, rt.buffer, ptr, n);
}

/**
 * Drop size-1 axes and merge axes that are contiguous with the next, so a strided copy runs
 * as few, long rows as possible.
 */
export function simplifyStrides(
  shape: readonly number[],
  strides: readonly number[],
): { shape: number[]; strides: number[] } {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && outStrides[last] === strides[i] * shape[i]) {
      outShape[last] *= shape[i];
      outStrides[last] = strides[i];
    } else {
      outShape.push(shape[i]);
      outStrides.push(strides[i]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Copy the strided view (shape, strides, offset in elements) of the block at `src` row-major
 * into `dst`, on the runtime's threads.
 */
export function stridedCopy(
  rt: WasmRuntime,
  src: number,
  dst: number,
  elemBytes: number,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const simple = simplifyStrides(shape, strides);
  const meta = rt.record([simple.shape.length, ...simple.shape, ...simple.strides]);
  try {
    const rowLength = simple.shape.length === 0 ? 1 : simple.shape[simple.shape.length - 1];
    rt.run('strided_copy', [src, dst, elemBytes, offset, meta], n / rowLength, rowLength * 0.5);
  } finally {
    rt.free(meta);
  }
}

export class WasmBackend implements Backend<WasmStorage> {
  readonly name = 'wasm' as const;
  readonly rt: WasmRuntime;
  readonly decision: ThreadDecision;

  constructor(rt: WasmRuntime, decision: ThreadDecision) {
    this.rt = rt;
    this.decision = decision;
  }

  /** A fresh block for `bytes` logical bytes. */
  allocStorage(bytes: number): WasmStorage {
    return { backend: 'wasm', ptr: this.rt.alloc(bytes), byteLength: bytes, rt: this.rt };
  }

  /** Throws unless the storage lives in this backend's memory. */
  own(storage: WasmStorage): WasmStorage {
    if (storage.rt !== this.rt) {
      throw new BackendError(
        `wasm backend: a storage from another wasm runtime (#${storage.rt?.id}) was passed to runtime #${this.rt.id}`,
      );
    }
    return storage;
  }

  view(storage: WasmStorage, dtype: DType): TypedArray {
    return viewOf(this.rt, dtype, storage.ptr, storage.byteLength / bytesPerElement(dtype));
  }

  upload(data: TypedArray, dtype: DType): WasmStorage {
    if (data.length * bytesPerElement(dtype) !== data.byteLength) {
      throw new BackendError(`wasm upload: a ${data.constructor.name} does not hold ${dtype} elements`);
    }
    const storage = this.allocStorage(data.byteLength);
    new Uint8Array(this.rt.buffer, storage.ptr, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return storage;
  }

  async read(storage: WasmStorage, dtype: DType): Promise<TypedArray> {
    return this.readSync(storage, dtype);
  }

  readSync(storage: WasmStorage, dtype: DType): TypedArray {
    const out = allocHost(dtype, storage.byteLength / bytesPerElement(dtype));
    out.set(this.view(this.own(storage), dtype));
    return out;
  }

  free(storage: WasmStorage): void {
    this.own(storage);
    this.rt.free(storage.ptr);
  }

  contiguous(view: StridedView<WasmStorage>): WasmStorage {
    const elem = bytesPerElement(view.dtype);
    const n = sizeOf(view.shape);
    const out = this.allocStorage(n * elem);
    try {
      stridedCopy(this.rt, this.own(view.storage).ptr, out.ptr, elem, view.shape, view.strides, view.offset);
    } catch (err) {
      this.rt.free(out.ptr);
      throw err;
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.rt.dispose();
  }
}
