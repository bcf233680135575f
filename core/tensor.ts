/**
 * Tensor: shape, dtype and a strided view onto a storage owned by one backend.
 * Several tensors may view one storage (reshape, transpose, slice, expand); the
 * storage is freed when the last of them is disposed. Memory is released by
 * dispose() or a tidy() scope; a FinalizationRegistry is only a backstop.
 */
import type { BackendName, Storage, StridedView } from './backend.js';
import { hasInterrupter, interruptible, untilCancelled } from './cancel.js';
import { getBackend } from './dispatch.js';
import { bytesPerElement, type DType, type TypedArray, toCompute } from './dtype.js';
import { DisposedError } from './errors.js';
import { contiguousStrides, formatShape, sizeOf } from './shape.js';

/** A storage shared by the tensors that view it, with a reference count. */
export interface StorageRef {
  readonly storage: Storage;
  refs: number;
}

interface BackendMemory {
  tensors: number;
  storages: number;
  bytes: number;
}

const memoryByBackend = new Map<BackendName, BackendMemory>();
let liveBytes = 0;
let peakBytes = 0;

function memoryOf(backend: BackendName): BackendMemory {
  let m = memoryByBackend.get(backend);
  if (!m) {
    m = { tensors: 0, storages: 0, bytes: 0 };
    memoryByBackend.set(backend, m);
  }
  return m;
}

/**
 * Live tensors, storages and bytes per backend: what leak tests and `info` read. `peakBytes` is the most
 * bytes live at once (all backends together) since the process started or {@link resetPeakMemory}.
 */
export function memory(): {
  tensors: number;
  bytes: number;
  peakBytes: number;
  backends: Record<string, BackendMemory>;
} {
  let tensors = 0;
  let bytes = 0;
  const backends: Record<string, BackendMemory> = {};
  for (const [name, m] of memoryByBackend) {
    backends[name] = { ...m };
    tensors += m.tensors;
    bytes += m.bytes;
  }
  return { tensors, bytes, peakBytes, backends };
}

/** Start measuring the peak afresh from the bytes live now; returns the peak that was reached before. */
export function resetPeakMemory(): number {
  const previous = peakBytes;
  peakBytes = liveBytes;
  return previous;
}

export function newStorageRef(storage: Storage): StorageRef {
  const m = memoryOf(storage.backend);
  m.storages++;
  m.bytes += storage.byteLength;
  liveBytes += storage.byteLength;
  if (liveBytes > peakBytes) peakBytes = liveBytes;
  return { storage, refs: 0 };
}

function releaseStorageRef(ref: StorageRef): void {
  ref.refs--;
  if (ref.refs > 0) return;
  const m = memoryOf(ref.storage.backend);
  m.storages--;
  m.bytes -= ref.storage.byteLength;
  liveBytes -= ref.storage.byteLength;
  getBackend(ref.storage.backend).free(ref.storage);
}

// Backstop for tensors dropped without dispose(): the storage reference still gets released.
const finalizer = new FinalizationRegistry<{ ref: StorageRef; backend: BackendName }>((held) => {
  memoryOf(held.backend).tensors--;
  releaseStorageRef(held.ref);
});

let nextId = 1;
const scopeStack: Set<Tensor>[] = [];

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly strides: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** @internal the storage this tensor views */
  readonly ref: StorageRef;
  #disposed = false;
  readonly #token = {};

  /** @internal tensors are made by ops and creation functions, not constructed directly */
  constructor(ref: StorageRef, shape: readonly number[], dtype: DType, strides?: readonly number[], offset = 0) {
    this.ref = ref;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.size = sizeOf(shape);
    ref.refs++;
    memoryOf(ref.storage.backend).tensors++;
    finalizer.register(this, { ref, backend: ref.storage.backend }, this.#token);
    scopeStack[scopeStack.length - 1]?.add(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get backend(): BackendName {
    return this.ref.storage.backend;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * True when the storage holds exactly this tensor's elements, row-major from
   * offset 0: the form every kernel input and every read takes.
   */
  get isContiguous(): boolean {
    if (this.offset !== 0) return false;
    if (this.size * bytesPerElement(this.dtype) !== this.ref.storage.byteLength) return false;
    const expected = contiguousStrides(this.shape);
    for (let i = 0; i < this.shape.length; i++) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected[i]) return false;
    }
    return true;
  }

  /** @internal throws a clear error when a disposed tensor is used */
  assertAlive(what: string): void {
    if (this.#disposed) {
      throw new DisposedError(
        `${what}: tensor #${this.id} ${formatShape(this.shape)} ${this.dtype} was already disposed`,
      );
    }
  }

  /** @internal the view as a kernel input description */
  view(): StridedView {
    return {
      storage: this.ref.storage,
      shape: this.shape,
      dtype: this.dtype,
      strides: this.strides,
      offset: this.offset,
    };
  }

  /** Row-major host copy of the elements. f16 and bf16 are widened to a Float32Array. */
  async data(): Promise<TypedArray> {
    this.assertAlive('data()');
    const backend = getBackend(this.backend);
    const { storage, owned } = contiguousStorage(this);
    try {
      return toCompute(await untilCancelled(backend.read(storage, this.dtype)), this.dtype);
    } finally {
      if (owned) backend.free(storage);
    }
  }

  /** Synchronous read, for backends whose memory the CPU can see (js, wasm, native). */
  dataSync(): TypedArray {
    this.assertAlive('dataSync()');
    const backend = getBackend(this.backend);
    if (!backend.readSync) {
      throw new DisposedError(`dataSync(): the ${this.backend} backend reads asynchronously; use await tensor.data()`);
    }
    const { storage, owned } = contiguousStorage(this);
    try {
      return toCompute(backend.readSync(storage, this.dtype), this.dtype);
    } finally {
      if (owned) backend.free(storage);
    }
  }

  /** Nested arrays of numbers, row-major. */
  async array(): Promise<NestedArray> {
    return nest(Array.from(await this.data()), this.shape);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new DisposedError(`item(): tensor has ${this.size} elements ${formatShape(this.shape)}, not 1`);
    return (await this.data())[0];
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    finalizer.unregister(this.#token);
    memoryOf(this.backend).tensors--;
    releaseStorageRef(this.ref);
    for (const scope of scopeStack) scope.delete(this);
  }

  toString(): string {
    return `Tensor(#${this.id} ${formatShape(this.shape)} ${this.dtype} on ${this.backend})`;
  }
}

export type NestedArray = number | NestedArray[];

function nest(flat: number[], shape: readonly number[]): NestedArray {
  if (shape.length === 0) return flat[0];
  const [n, ...rest] = shape;
  const inner = sizeOf(rest);
  return Array.from({ length: n }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), rest));
}

/** The tensor's elements as a contiguous storage; `owned` when a copy was made for the caller. */
export function contiguousStorage(t: Tensor): { storage: Storage; owned: boolean } {
  if (t.isContiguous) return { storage: t.ref.storage, owned: false };
  return { storage: getBackend(t.backend).contiguous(t.view()), owned: true };
}

/** Collect every tensor inside a value returned from a scope (tensor, array, or plain object). */
export function collectTensors(value: unknown, into = new Set<Tensor>()): Set<Tensor> {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
  return into;
}

/**
 * Run fn and dispose every tensor it created except those it returns (inside arrays
 * or plain objects) and those passed to keep(). fn must be synchronous: an awaited
 * gap would let unrelated work join the scope.
 */
export function tidy<T>(fn: () => T): T {
  if (scopeStack.length > 0 || !hasInterrupter()) return runScope(fn);
  // The outermost scope is where a long synchronous stretch of work starts: the host may stop it there
  // (core/cancel.ts). JavaScript stopped that way skips its finally blocks, so scopes left open are closed here.
  try {
    return interruptible(() => runScope(fn));
  } finally {
    while (scopeStack.length > 0) {
      for (const t of scopeStack.pop()!) {
        try {
          t.dispose();
        } catch {
          // A backend stopped in the middle of a kernel may refuse; the interruption is the error to report.
        }
      }
    }
  }
}

function runScope<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopeStack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopeStack.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopeStack.pop();
  if (result instanceof Promise) {
    throw new TypeError(
      'tidy(fn): fn returned a Promise; tidy scopes are synchronous (dispose async results yourself)',
    );
  }
  const kept = collectTensors(result);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  // Returned tensors belong to the enclosing scope now.
  const parent = scopeStack[scopeStack.length - 1];
  if (parent) for (const t of kept) if (!t.disposed) parent.add(t);
  return result;
}

/** Exempt a tensor from every enclosing tidy scope. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopeStack) scope.delete(t);
  return t;
}

/** Dispose every tensor found in a value (tensor, array or plain object). */
export function dispose(value: unknown): void {
  for (const t of collectTensors(value)) t.dispose();
}
