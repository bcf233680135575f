/**
 * The page's handle on the style worker. Kernels run synchronously inside the worker, so the
 * only way to cancel a run is to end the worker: `restart()` does that and starts a fresh one
 * (models come back from the Cache API, so this is quick).
 */
import * as Comlink from 'comlink';
import type { StyleWorkerApi } from './protocol.js';

export class WorkerClient {
  #worker: Worker;
  #api: Comlink.Remote<StyleWorkerApi>;
  #onCrash: (message: string) => void = () => {};

  constructor() {
    [this.#worker, this.#api] = this.#start();
  }

  #start(): [Worker, Comlink.Remote<StyleWorkerApi>] {
    const worker = new Worker(new URL('./worker/worker.ts', import.meta.url), {
      type: 'module',
      name: 'style-transfer',
    });
    worker.addEventListener('error', (event) => this.#onCrash(event.message || 'the worker stopped unexpectedly'));
    return [worker, Comlink.wrap<StyleWorkerApi>(worker)];
  }

  get api(): Comlink.Remote<StyleWorkerApi> {
    return this.#api;
  }

  /** Errors the worker throws outside a call (its script failed to load, out of memory). */
  onCrash(handler: (message: string) => void): void {
    this.#onCrash = handler;
  }

  restart(): void {
    this.#api[Comlink.releaseProxy]();
    this.#worker.terminate();
    [this.#worker, this.#api] = this.#start();
  }
}
