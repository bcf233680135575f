/**
 * The wasm backend's public surface (platform-independent): import backends/wasm/node.js or
 * backends/wasm/browser.js to register the plug-in for that platform.
 */
import { getBackend, readyBackendNames } from '../../core/dispatch.js';
import { BackendError } from '../../core/errors.js';
import type { WasmBackend } from './backend.js';
import { MIN_WORK_PER_THREAD } from './runtime.js';
import { parseThreadCount } from './threads.js';

export type { WasmBackend, WasmStorage } from './backend.js';
export { createWasmBackend, probeWasm, type WasmPlatform, wasmOpNames } from './plugin.js';
export { chooseThreads, type ThreadDecision, type ThreadFacts } from './threads.js';

/** The registered wasm backend instance (after setBackend('wasm') or initBackend('wasm')). */
export function wasmBackend(): WasmBackend {
  if (!readyBackendNames().includes('wasm')) {
    throw new BackendError("the wasm backend is not initialised: call await setBackend('wasm') first");
  }
  return getBackend('wasm') as unknown as WasmBackend;
}

export interface WasmThreadOptions {
  /**
   * Work (≈ element operations) below which a kernel stays on the calling thread; default
   * 65536. 1 splits every kernel with two or more work units (the conformance suite uses it
   * so tiny cases still cross thread boundaries).
   */
  readonly minWorkPerThread?: number;
}

/**
 * Change the thread count of the running wasm backend (workers start or stop; storages stay).
 * Throws when threads > 1 are impossible here (no shared memory: a page without cross-origin
 * isolation).
 */
export async function setWasmThreads(threads: number, options: WasmThreadOptions = {}): Promise<void> {
  const n = parseThreadCount(threads, 'setWasmThreads');
  const rt = wasmBackend().rt;
  if (rt.threads !== n) await rt.setThreads(n);
  rt.minWorkPerThread = Math.max(1, options.minWorkPerThread ?? MIN_WORK_PER_THREAD);
}
