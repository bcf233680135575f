/**
 * The wasm backend in Node: the module is read from dist/backends/wasm/kernels.wasm (built by
 * `npm run build:wasm`, which `prepare` runs on install), threads are worker_threads sharing the
 * memory, and EAI_WASM_THREADS picks their number (default: one per core). Workers are unref'd,
 * so an idle pool never keeps the process alive.
 */
import { access, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WasmPlatform } from './plugin.js';
import type { SpawnedWorker, SpawnWorker } from './pool.js';
import { NODE_WORKER_SOURCE } from './worker-source.js';

/** dist/backends/wasm/kernels.wasm seen from compiled code (beside it) and from sources (backends/wasm/). */
const MODULE_CANDIDATES = [
  new URL('./kernels.wasm', import.meta.url),
  new URL('../../dist/backends/wasm/kernels.wasm', import.meta.url),
];

export const spawnNodeWorker: SpawnWorker = (init) =>
  new Promise<SpawnedWorker>((resolve, reject) => {
    const worker = new Worker(NODE_WORKER_SOURCE, { eval: true, workerData: init, name: `eai-wasm-${init.slot}` });
    const exited = new Promise<number>((done) => worker.once('exit', done));
    let ready = false;
    worker.on('error', (err) => {
      if (!ready) reject(err);
    });
    worker.once('message', (message: { ready?: boolean; error?: string }) => {
      if (message.ready) {
        ready = true;
        // From now on the worker sleeps in Atomics.wait between jobs: it must not keep the process alive.
        worker.unref();
        resolve({
          exited,
          keepAlive(on: boolean) {
            if (on) worker.ref();
            else worker.unref();
          },
          async terminate() {
            await worker.terminate();
          },
        });
      } else reject(new Error(message.error ?? 'the worker failed to start'));
    });
    exited.then((code) => {
      if (!ready) reject(new Error(`the worker exited with code ${code} before it was ready`));
    });
  });

export interface NodeWasmOptions {
  /** Use this module file instead of the built one (tests point it at a missing file). */
  readonly modulePath?: string;
  /** Thread count instead of EAI_WASM_THREADS. */
  readonly threads?: number;
}

export function nodeWasmPlatform(options: NodeWasmOptions = {}): WasmPlatform {
  const candidates = options.modulePath ? [options.modulePath] : MODULE_CANDIDATES.map((u) => fileURLToPath(u));
  let found: string | null = null;
  const locate = async (): Promise<string | null> => {
    if (found) return found;
    for (const file of candidates) {
      try {
        await access(file);
        found = file;
        return file;
      } catch {
        // try the next place
      }
    }
    return null;
  };
  return {
    name: 'node',
    moduleLocation: () => found ?? candidates[0],
    async checkModule() {
      const file = await locate();
      if (!file)
        return `the wasm kernels are not built (${candidates.join(' or ')} is missing): run npm run build:wasm`;
      // Validating 50 KiB is cheap and turns a truncated or foreign file into a reason, not a crash in create().
      if (!WebAssembly.validate(await readFile(file))) {
        return `${file} is not a valid WebAssembly module for this engine: rebuild it with npm run build:wasm`;
      }
      return null;
    },
    async loadModule() {
      const file = await locate();
      if (!file) throw new Error(`wasm backend: ${candidates[0]} is missing: run npm run build:wasm`);
      return new Uint8Array(await readFile(file));
    },
    cores: () => availableParallelism(),
    requestedThreads: () => options.threads ?? process.env.EAI_WASM_THREADS,
    crossOriginIsolated: () => undefined,
    spawn: spawnNodeWorker,
  };
}
