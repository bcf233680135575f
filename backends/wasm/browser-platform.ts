/**
 * The wasm backend in browsers. The module is fetched (by default kernels.wasm beside this
 * module, which `npm run build:wasm` writes; bundlers such as Vite copy it as an asset through
 * the `new URL(..., import.meta.url)` pattern, or configureBrowserWasm gives another URL).
 * Threads are Web Workers sharing the memory, which browsers only allow when the page is
 * cross-origin isolated (COOP: same-origin + COEP: require-corp); otherwise the backend runs one
 * thread on an unshared memory. No DOM-only API is needed beyond Worker,
 * Blob and fetch, so it also runs inside a worker.
 */
import type { WasmPlatform } from './plugin.js';
import type { SpawnedWorker, SpawnWorker } from './pool.js';
import { BROWSER_WORKER_SOURCE, type WorkerInit } from './worker-source.js';

export interface BrowserWasmOptions {
  /** Where kernels.wasm is served from. */
  moduleUrl?: string | URL;
  /** Thread count (default: navigator.hardwareConcurrency when isolated, else 1). */
  threads?: number;
}

const settings: BrowserWasmOptions = {};

/** Set before the backend is created (setBackend('wasm') or 'auto'). */
export function configureBrowserWasm(options: BrowserWasmOptions): void {
  Object.assign(settings, options);
}

/** kernels.wasm beside this module: dist/backends/wasm/ in the package, backends/wasm/ in the sources (build:wasm writes both). */
function defaultModuleUrl(): URL {
  return new URL('./kernels.wasm', import.meta.url);
}

/** The minimal Worker surface used here (the DOM's Worker satisfies it; tests pass a stand-in). */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'message' | 'error', listener: (event: { data?: unknown; message?: string }) => void): void;
}

export type WorkerConstructor = new (url: string) => WorkerLike;

let workerUrl: string | null = null;

/** Start a Web Worker running the pool loop from a Blob URL (no separate script file to locate). */
export function spawnWebWorker(init: WorkerInit, WorkerCtor: WorkerConstructor): Promise<SpawnedWorker> {
  workerUrl ??= URL.createObjectURL(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new WorkerCtor(workerUrl);
  let markExited: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    markExited = resolve;
  });
  return new Promise<SpawnedWorker>((resolve, reject) => {
    let ready = false;
    worker.addEventListener('error', (event) => {
      if (!ready) reject(new Error(event.message ?? 'the worker failed to start'));
    });
    worker.addEventListener('message', (event) => {
      const message = event.data as { ready?: boolean; exited?: boolean; error?: string } | undefined;
      if (message?.exited) markExited(0);
      if (ready) return;
      if (message?.ready) {
        ready = true;
        resolve({
          exited,
          // Browsers have no event-loop reference counting: nothing to hold.
          keepAlive() {},
          async terminate() {
            worker.terminate();
            markExited(1);
          },
        });
        return;
      }
      if (message?.error) reject(new Error(message.error));
    });
    worker.postMessage(init);
  });
}

const spawnBrowserWorker: SpawnWorker = (init) => {
  const WorkerCtor = (globalThis as { Worker?: WorkerConstructor }).Worker;
  if (!WorkerCtor) return Promise.reject(new Error('this environment has no Worker'));
  return spawnWebWorker(init, WorkerCtor);
};

export function browserWasmPlatform(): WasmPlatform {
  const url = () => String(settings.moduleUrl ?? defaultModuleUrl());
  return {
    name: 'browser',
    moduleLocation: url,
    // Fetching to check would cost a download; create() reports a missing module instead.
    checkModule: async () =>
      typeof fetch === 'function' ? null : 'this environment has no fetch() to load kernels.wasm',
    async loadModule() {
      const response = await fetch(url());
      if (!response.ok) {
        throw new Error(
          `wasm backend: fetching ${url()} gave HTTP ${response.status}; build it (npm run build:wasm) and serve it, or call configureBrowserWasm({ moduleUrl })`,
        );
      }
      return new Uint8Array(await response.arrayBuffer());
    },
    cores: () => (typeof navigator === 'object' && navigator.hardwareConcurrency) || 1,
    requestedThreads: () => settings.threads,
    crossOriginIsolated: () => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    spawn: spawnBrowserWorker,
  };
}
