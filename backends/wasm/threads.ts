/**
 * How many threads the wasm backend runs, decided from plain facts so it is unit-testable:
 * the requested count (EAI_WASM_THREADS, or setWasmThreads), the cores, and whether shared
 * memory is possible. Browsers only allow shared memory on cross-origin isolated pages
 * (COOP/COEP headers); elsewhere the backend runs one thread on an unshared memory.
 */

/** More threads than this buys nothing on a wasm32 heap and risks exhausting the browser's workers. */
export const MAX_WASM_THREADS = 64;

export interface ThreadFacts {
  /** The raw request: EAI_WASM_THREADS's value, a number from setWasmThreads, or undefined for the default. */
  readonly requested?: string | number;
  /** Logical cores (os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers). */
  readonly cores: number;
  /** A shared WebAssembly.Memory can be constructed here. */
  readonly sharedMemory: boolean;
  /** Browsers: self.crossOriginIsolated. Undefined in Node, where isolation does not apply. */
  readonly crossOriginIsolated?: boolean;
}

export interface ThreadDecision {
  /** Threads running kernels, the calling thread included. */
  readonly threads: number;
  /** Whether the memory is shared (needed for threads > 1, and to add threads later). */
  readonly shared: boolean;
  /** One line for `info`: why this count. */
  readonly reason: string;
}

/** Parse a thread count; throws naming the value and the fix. */
export function parseThreadCount(value: string | number, what = 'EAI_WASM_THREADS'): number {
  const text = String(value).trim();
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new RangeError(
      `${what}=${JSON.stringify(value)} is not a thread count: use an integer from 1 to ${MAX_WASM_THREADS}, or unset it to use every core`,
    );
  }
  return n;
}

export function chooseThreads(facts: ThreadFacts): ThreadDecision {
  const cores = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(facts.cores) || 1));
  const unset = facts.requested === undefined || facts.requested === '' || facts.requested === 'auto';
  const wanted = unset ? cores : parseThreadCount(facts.requested as string | number);
  if (facts.crossOriginIsolated === false) {
    return {
      threads: 1,
      shared: false,
      reason:
        'one thread: the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and ' +
        'Cross-Origin-Embedder-Policy: require-corp to enable threads)',
    };
  }
  if (!facts.sharedMemory) {
    return { threads: 1, shared: false, reason: 'one thread: this engine has no shared WebAssembly memory' };
  }
  const source = unset ? `one per core (${cores})` : `EAI_WASM_THREADS / setWasmThreads asked for ${wanted}`;
  return { threads: wanted, shared: true, reason: `${wanted} thread${wanted === 1 ? '' : 's'}: ${source}` };
}
