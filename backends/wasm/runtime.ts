/**
 * One instance of the wasm kernels: the memory every storage lives in, the JS-side heap that
 * hands out its blocks, the module instance of the calling thread, and the thread pool whose
 * workers instantiate the same module over the same (shared) memory.
 *
 * Kernels call `run(name, args, units, cost)`: the export runs over work units [0, units),
 * split across the threads when the work (units × cost, estimated nanoseconds) is large enough
 * to pay for waking them.
 *
 * Each instantiation rewrites the module's static data (math lookup tables below heap_base)
 * with the same bytes; nothing else is shared except through the heap.
 */
import { BackendError } from '../../core/errors.js';
import { Heap } from './heap.js';
import { type SpawnWorker, ThreadPool } from './pool.js';

const PAGE = 65536;
/** The module's declared maximum (4 GiB, the wasm32 ceiling): see ASC_FLAGS in build.mjs. */
export const MODULE_MAX_PAGES = 65536;
/**
 * Work is counted in estimated nanoseconds of one thread's time (kernels pass units × cost).
 * Another thread is woken only for at least this much work: a futex wake-up and the final
 * wait cost tens of microseconds on a busy machine.
 */
export const MIN_WORK_PER_THREAD = 40_000;
/** Estimated cost of one flop in the packed GEMM (about 40 GFLOPS on one core). */
export const NS_PER_FLOP = 1 / 40;
/** Estimated cost of one byte moved by a plain copy (about 10 GB/s). */
export const NS_PER_BYTE = 0.1;

export interface WasmRuntimeOptions {
  readonly module: WebAssembly.Module;
  /** A shared memory (threads possible) or an unshared one (one thread). */
  readonly shared: boolean;
  readonly threads: number;
  /** Starts workers; required for threads > 1. */
  readonly spawn?: SpawnWorker;
  /** Largest memory to reserve, in 64 KiB pages (shared memories reserve their maximum up front). */
  readonly maxPages?: number;
}

type WasmFunction = (...args: number[]) => unknown;

function createMemory(shared: boolean, maxPages: number): { memory: WebAssembly.Memory; maxPages: number } {
  // A shared memory reserves its maximum address space at once; halve the request until the
  // engine grants it (32-bit browsers, tight address-space limits).
  let max = Math.min(maxPages, MODULE_MAX_PAGES);
  for (;;) {
    try {
      return { memory: new WebAssembly.Memory({ initial: Math.min(256, max), maximum: max, shared }), maxPages: max };
    } catch (err) {
      if (max <= 1024) throw new BackendError(`wasm backend: cannot create its memory: ${(err as Error).message}`);
      max >>= 1;
    }
  }
}

let nextRuntimeId = 1;

export class WasmRuntime {
  readonly id = nextRuntimeId++;
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly maxBytes: number;
  readonly heap: Heap;
  readonly exports: Readonly<Record<string, WasmFunction>>;
  /** Exported kernel names, sorted: pool jobs carry an index into this list. */
  readonly names: readonly string[];
  readonly #index: ReadonlyMap<string, number>;
  readonly #module: WebAssembly.Module;
  readonly #pool: ThreadPool | null;
  readonly #spawn: SpawnWorker | undefined;
  readonly #scratchBytes: number;
  readonly #scratch: number[] = [];
  #disposed = false;
  /**
   * Work (units × cost) below which a kernel stays on one thread. Tests set 1 so that every
   * kernel with two or more units splits, exercising the range arithmetic on small shapes.
   */
  minWorkPerThread = MIN_WORK_PER_THREAD;
  /** Kernel calls run on the calling thread alone, and split across the pool. */
  readonly calls = { direct: 0, parallel: 0 };

  private constructor(
    options: WasmRuntimeOptions,
    memory: WebAssembly.Memory,
    maxPages: number,
    instance: WebAssembly.Instance,
  ) {
    this.#module = options.module;
    this.#spawn = options.spawn;
    this.memory = memory;
    this.shared = options.shared;
    const exports = instance.exports as Record<string, unknown>;
    this.exports = Object.fromEntries(Object.entries(exports).filter(([, v]) => typeof v === 'function')) as Record<
      string,
      WasmFunction
    >;
    this.names = Object.keys(this.exports).sort();
    this.#index = new Map(this.names.map((n, i) => [n, i]));
    this.maxBytes = maxPages * PAGE;
    this.heap = new Heap({
      base: Number(this.exports.heap_base()),
      end: () => this.memory.buffer.byteLength,
      growTo: (bytes) => this.#growTo(bytes),
      maxBytes: this.maxBytes,
    });
    this.#scratchBytes = Number(this.exports.scratch_bytes());
    const scratch = this.heap.alloc(this.#scratchBytes);
    this.#scratch.push(scratch);
    this.exports.thread_init(scratch, this.#scratchBytes);
    this.#pool = options.shared ? new ThreadPool(this.names.map((n) => this.exports[n])) : null;
  }

  static async create(options: WasmRuntimeOptions): Promise<WasmRuntime> {
    const { memory, maxPages } = createMemory(options.shared, options.maxPages ?? MODULE_MAX_PAGES);
    const instance = await WebAssembly.instantiate(options.module, { env: { memory } });
    const runtime = new WasmRuntime(options, memory, maxPages, instance);
    try {
      await runtime.setThreads(options.threads);
    } catch (err) {
      await runtime.dispose();
      throw err;
    }
    return runtime;
  }

  /** Threads taking work, the calling thread included. */
  get threads(): number {
    return this.#pool?.size ?? 1;
  }

  /** The pool's workers (tests watch them exit). */
  get workers(): readonly { readonly exited: Promise<number> }[] {
    return [...(this.#pool?.workers ?? [])];
  }

  async setThreads(threads: number): Promise<void> {
    if (this.#disposed) throw new BackendError('wasm runtime: already disposed');
    if (threads > 1 && !this.#pool) {
      throw new BackendError(
        `wasm backend: ${threads} threads need shared memory, which this page or engine does not allow; it runs one thread`,
      );
    }
    if (threads > 1 && !this.#spawn) throw new BackendError('wasm backend: this platform cannot start worker threads');
    const pool = this.#pool;
    if (!pool) return;
    while (pool.size > threads) {
      await pool.removeLast();
      this.heap.free(this.#scratch.pop()!);
    }
    while (pool.size < threads) {
      const scratch = this.heap.alloc(this.#scratchBytes);
      try {
        await pool.add(this.#spawn!, {
          module: this.#module,
          memory: this.memory,
          scratch,
          scratchBytes: this.#scratchBytes,
          names: this.names,
        });
      } catch (err) {
        this.heap.free(scratch);
        throw new BackendError(`wasm backend: could not start worker thread ${pool.size}: ${(err as Error).message}`);
      }
      this.#scratch.push(scratch);
    }
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#pool?.dispose();
  }

  #growTo(bytes: number): boolean {
    const have = this.memory.buffer.byteLength / PAGE;
    const need = Math.ceil(bytes / PAGE);
    if (need * PAGE > this.maxBytes) return false;
    // Grow by at least a quarter so a sequence of allocations does not grow page by page.
    const want = Math.min(Math.max(need, Math.ceil(have * 1.25)), this.maxBytes / PAGE);
    try {
      this.memory.grow(want - have);
    } catch {
      try {
        this.memory.grow(need - have);
      } catch {
        return false;
      }
    }
    return true;
  }

  /**
   * The memory's current buffer: make views from it after any allocation (growth replaces it,
   * and an unshared buffer detaches).
   */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  alloc(bytes: number): number {
    return this.heap.alloc(bytes);
  }

  free(ptr: number): void {
    this.heap.free(ptr);
  }

  /** An i32 record for a kernel's parameters; free it after the call. */
  record(values: readonly number[]): number {
    const ptr = this.alloc(values.length * 4);
    new Int32Array(this.buffer, ptr, values.length).set(values);
    return ptr;
  }

  /**
   * Run `name(...args, u0, u1, tid)` over units [0, units): split into contiguous ranges across
   * threads when units × cost (estimated nanoseconds) is worth it, else on this thread alone.
   */
  run(name: string, args: readonly number[], units: number, cost = 1): void {
    if (units <= 0) return;
    const index = this.#index.get(name);
    if (index === undefined) {
      throw new BackendError(`wasm backend: the kernels module has no export '${name}' (rebuild: npm run build:wasm)`);
    }
    const parts = Math.min(this.threads, units, Math.max(1, Math.floor((units * cost) / this.minWorkPerThread)));
    if (parts <= 1 || !this.#pool) {
      this.calls.direct++;
      this.exports[name](...args, 0, units, 0);
      return;
    }
    this.calls.parallel++;
    const ranges: [number, number][] = [];
    for (let t = 0; t < parts; t++)
      ranges.push([Math.floor((units * t) / parts), Math.floor((units * (t + 1)) / parts)]);
    this.#pool.run(index, this.names, args, ranges);
  }
}
