/**
 * The main-thread side of the wasm thread pool. Kernels are synchronous in the engine, so a
 * parallel kernel posts one range of work units to each worker, runs the first range itself,
 * and blocks until every worker reports done (Atomics.wait where the thread may block, a spin
 * on a browser's main thread where it may not). Workers are started by a platform function
 * (worker_threads in Node, Web Workers in browsers) and never keep a Node process alive.
 */
import { BackendError } from '../../core/errors.js';
import { MAX_WASM_THREADS } from './threads.js';
import {
  ARGC,
  ARGS_BYTE,
  DONE,
  ERR_INT,
  ERRLEN,
  FN,
  MAX_ARGS,
  QUIT,
  SEQ,
  SLOT_BYTES,
  SLOT_INTS,
  SPIN,
  STATUS,
  type WorkerInit,
} from './worker-source.js';

export interface SpawnedWorker {
  /** Resolves with the exit code once the worker has ended. */
  readonly exited: Promise<number>;
  /** Let the worker hold the event loop open (while the pool waits for it to exit) or not (idle). */
  keepAlive(on: boolean): void;
  /** Stop it now (after QUIT was ignored or the worker is stuck). */
  terminate(): Promise<void>;
}

/** Start one worker running the pool loop; resolves once it is ready to take jobs. */
export type SpawnWorker = (init: WorkerInit) => Promise<SpawnedWorker>;

type WasmFunction = (...args: number[]) => unknown;

/** Whether this thread may block in Atomics.wait (browsers forbid it on the main thread). */
function threadCanBlock(i32: Int32Array): boolean {
  try {
    Atomics.wait(i32, 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class ThreadPool {
  readonly ctrl = new SharedArrayBuffer(SLOT_BYTES * (MAX_WASM_THREADS + 1));
  readonly #i32 = new Int32Array(this.ctrl);
  readonly #f64 = new Float64Array(this.ctrl);
  readonly #main: readonly WasmFunction[];
  readonly #canBlock: boolean;
  /** Workers by slot; slot 0 is the calling thread and has none. */
  readonly #workers: SpawnedWorker[] = [];
  readonly #seq: number[] = [];

  constructor(mainFunctions: readonly WasmFunction[]) {
    this.#main = mainFunctions;
    this.#canBlock = threadCanBlock(this.#i32);
  }

  /** Threads taking work, the calling thread included. */
  get size(): number {
    return this.#workers.length + 1;
  }

  get workers(): readonly SpawnedWorker[] {
    return this.#workers;
  }

  /** Add a worker in the next slot. `init` lacks only the slot and control buffer. */
  async add(spawn: SpawnWorker, init: Omit<WorkerInit, 'slot' | 'ctrl'>): Promise<void> {
    const slot = this.#workers.length + 1;
    if (slot > MAX_WASM_THREADS) throw new BackendError(`wasm: at most ${MAX_WASM_THREADS} threads`);
    const base = slot * SLOT_INTS;
    this.#i32.fill(0, base, base + SLOT_INTS);
    const worker = await spawn({ ...init, slot, ctrl: this.ctrl });
    this.#workers.push(worker);
    this.#seq[slot] = 0;
  }

  /** Ask the last worker to quit and wait for it to exit. */
  async removeLast(): Promise<void> {
    const slot = this.#workers.length;
    const worker = this.#workers.pop();
    if (!worker) return;
    worker.keepAlive(true);
    this.#post(slot, QUIT, []);
    const timeout = new Promise<'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), 2000);
      (t as { unref?: () => void }).unref?.();
    });
    if ((await Promise.race([worker.exited, timeout])) === 'timeout') await worker.terminate();
  }

  async dispose(): Promise<void> {
    while (this.#workers.length > 0) await this.removeLast();
  }

  #post(slot: number, fn: number, args: readonly number[]): void {
    if (args.length > MAX_ARGS) throw new BackendError(`wasm pool: ${args.length} arguments (at most ${MAX_ARGS})`);
    const base = slot * SLOT_INTS;
    const argBase = (slot * SLOT_BYTES + ARGS_BYTE) / 8;
    for (let i = 0; i < args.length; i++) this.#f64[argBase + i] = args[i];
    this.#i32[base + FN] = fn;
    this.#i32[base + ARGC] = args.length;
    this.#i32[base + STATUS] = 0;
    const seq = (this.#seq[slot] + 1) | 0;
    this.#seq[slot] = seq;
    Atomics.store(this.#i32, base + SEQ, seq);
    Atomics.notify(this.#i32, base + SEQ, 1);
  }

  #wait(slot: number): void {
    const at = slot * SLOT_INTS + DONE;
    const seq = this.#seq[slot];
    let spins = 0;
    for (;;) {
      const done = Atomics.load(this.#i32, at);
      if (done === seq) return;
      if (this.#canBlock && ++spins > SPIN) Atomics.wait(this.#i32, at, done, 50);
    }
  }

  #error(slot: number): string | null {
    const base = slot * SLOT_INTS;
    if (this.#i32[base + STATUS] === 0) return null;
    const n = Math.min(this.#i32[base + ERRLEN], SLOT_INTS - ERR_INT);
    let text = '';
    for (let i = 0; i < n; i++) text += String.fromCharCode(this.#i32[base + ERR_INT + i]);
    return text;
  }

  /**
   * Run function `fn` with `args` followed by (u0, u1, tid) for each range; range i runs on
   * thread i (0 is the caller). Returns once every range is done; rethrows the first failure.
   */
  run(
    fn: number,
    names: readonly string[],
    args: readonly number[],
    ranges: readonly (readonly [number, number])[],
  ): void {
    const posted: number[] = [];
    let failure: unknown = null;
    try {
      for (let t = 1; t < ranges.length; t++) {
        const [u0, u1] = ranges[t];
        if (u1 <= u0) continue;
        this.#post(t, fn, [...args, u0, u1, t]);
        posted.push(t);
      }
      const [u0, u1] = ranges[0];
      if (u1 > u0) this.#main[fn](...args, u0, u1, 0);
    } catch (err) {
      failure = err;
    }
    // Workers are still writing into the shared memory: wait for them even after a failure.
    for (const t of posted) this.#wait(t);
    if (failure) throw failure;
    for (const t of posted) {
      const message = this.#error(t);
      if (message !== null) throw new BackendError(`wasm kernel ${names[fn]} failed on worker thread ${t}: ${message}`);
    }
  }
}
