/**
 * What a backend is to the core: somewhere storages live and kernels run.
 * A backend implements memory movement here and one kernel file per kernel
 * family (kernels/<family>/<backend>.ts); the registry in dispatch.ts joins them.
 */
import type { DType, TypedArray } from './dtype.js';

export type BackendName = 'js' | 'wasm' | 'webgpu' | 'native';
export const BACKEND_NAMES: readonly BackendName[] = ['js', 'wasm', 'webgpu', 'native'];

/** An opaque handle to memory owned by one backend. */
export interface Storage {
  readonly backend: BackendName;
  readonly byteLength: number;
}

/** Shape and dtype of a tensor, without its data: what shape rules work on. */
export interface TensorInfo {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** A tensor as a kernel sees it. Kernels always receive contiguous inputs (offset 0, row-major). */
export interface KernelTensor<S extends Storage = Storage> extends TensorInfo {
  readonly storage: S;
}

/** A strided window onto a storage: what view ops produce and `contiguous` consumes. */
export interface StridedView<S extends Storage = Storage> extends KernelTensor<S> {
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface Availability {
  readonly available: boolean;
  /** Why it is unavailable, or what it runs on (adapter, threads, addon path). */
  readonly reason: string;
  /** Higher wins when the backend is chosen automatically (see dispatch.ts). */
  readonly autoRank: number;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export interface Backend<S extends Storage = Storage> {
  readonly name: BackendName;
  /** Copy host data in. The array's layout must match dtype (f16 as Uint16Array bits). */
  upload(data: TypedArray, dtype: DType): S;
  /** Read a whole storage back as its dtype's host array (f16 as Uint16Array bits). */
  read(storage: S, dtype: DType): Promise<TypedArray>;
  /** Synchronous read, for backends whose memory the CPU can see (js, wasm, native). */
  readSync?(storage: S, dtype: DType): TypedArray;
  free(storage: S): void;
  /** Materialise a strided view as a fresh row-major storage. */
  contiguous(view: StridedView<S>): S;
  /** Resolve once all issued work has completed (asynchronous backends). */
  sync?(): Promise<void>;
  /**
   * Backends without `readSync` (WebGPU): run an op whose kernel lives on a CPU-visible
   * fallback backend without a synchronous read. Allocate the outputs now; once the inputs
   * can be read, `compute` maps their host copies (dtype host layouts) to the outputs' host
   * arrays, which fill the outputs. Later work on the outputs is ordered after it; an error
   * from `compute` surfaces at the next read.
   */
  deferToHost?(
    inputs: readonly KernelTensor<S>[],
    outputs: readonly TensorInfo[],
    compute: (inputs: readonly TypedArray[]) => TypedArray[],
  ): S[];
}

/** How a backend runs one op. Inputs are contiguous; outputs follow the op's inferred infos. */
export type Kernel<A = unknown, S extends Storage = Storage> = (
  inputs: readonly KernelTensor<S>[],
  attrs: A,
  outputs: readonly TensorInfo[],
  backend: Backend<S>,
) => S[];

/** A backend plug-in: probing is cheap and may be asynchronous (WebGPU adapters are). */
export interface BackendPlugin<S extends Storage = Storage> {
  readonly name: BackendName;
  probe(): Promise<Availability>;
  create(): Promise<Backend<S>>;
}
