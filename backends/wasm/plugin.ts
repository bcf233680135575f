/**
 * The wasm backend plug-in, independent of where it runs: a platform (backends/wasm/node.ts,
 * backends/wasm/browser.ts) supplies the module bytes, the core count and worker threads.
 * Probing is cheap and never throws; create() compiles the module once and starts the pool.
 */
import type { Availability, BackendPlugin } from '../../core/backend.js';
import { registerKernels } from '../../core/dispatch.js';
import { WasmBackend, type WasmStorage } from './backend.js';
import { families } from './families.js';
import { sharedMemorySupported, simdSupported, unshareMemoryImport } from './features.js';
import type { SpawnWorker } from './pool.js';
import { WasmRuntime } from './runtime.js';
import { chooseThreads, type ThreadDecision } from './threads.js';

export function wasmOpNames(): string[] {
  return Object.values(families).flatMap((f) => Object.keys(f.wasmKernels));
}

export function registerWasmKernels(): void {
  for (const family of Object.values(families)) registerKernels('wasm', family.wasmKernels);
}

export const WASM_AUTO_RANK = 50;

/** Where the backend runs: what differs between Node and browsers. */
export interface WasmPlatform {
  readonly name: 'node' | 'browser';
  /** Where the module comes from (a path or URL), for `info`. */
  moduleLocation(): string;
  /** Why the module cannot be loaded, or null when it looks present (cheap: no compile). */
  checkModule(): Promise<string | null>;
  loadModule(): Promise<Uint8Array>;
  cores(): number;
  /** The requested thread count (EAI_WASM_THREADS or a configured value). */
  requestedThreads(): string | number | undefined;
  /** Browsers: self.crossOriginIsolated; undefined in Node. */
  crossOriginIsolated(): boolean | undefined;
  readonly spawn: SpawnWorker;
}

export function decideThreads(platform: WasmPlatform, requested = platform.requestedThreads()): ThreadDecision {
  return chooseThreads({
    requested,
    cores: platform.cores(),
    sharedMemory: sharedMemorySupported(),
    crossOriginIsolated: platform.crossOriginIsolated(),
  });
}

export async function probeWasm(platform: WasmPlatform): Promise<Availability> {
  const unavailable = (reason: string): Availability => ({ available: false, reason, autoRank: WASM_AUTO_RANK });
  if (typeof WebAssembly !== 'object') return unavailable('this JavaScript engine has no WebAssembly');
  if (!simdSupported()) return unavailable('this engine lacks WebAssembly SIMD128, which every wasm kernel uses');
  let decision: ThreadDecision;
  try {
    decision = decideThreads(platform);
  } catch (err) {
    return unavailable((err as Error).message);
  }
  const missing = await platform.checkModule();
  if (missing) return unavailable(missing);
  return {
    available: true,
    reason: `WebAssembly SIMD128 kernels, ${decision.reason}`,
    autoRank: WASM_AUTO_RANK,
    details: {
      threads: decision.threads,
      simd: true,
      sharedMemory: decision.shared,
      threadChoice: decision.reason,
      module: platform.moduleLocation(),
      wasmOps: wasmOpNames().length,
      otherDTypes: 'f64 and integer arithmetic the reference defines through doubles run the reference in place',
      f16: 'stored as f16, computed in f32 (converted at kernel boundaries)',
    },
  };
}

/** Compile the module and start a runtime with `threads` threads (a standalone backend instance). */
export async function createWasmBackend(platform: WasmPlatform, requested?: string | number): Promise<WasmBackend> {
  const decision = decideThreads(platform, requested ?? platform.requestedThreads());
  const bytes = await platform.loadModule();
  const module = await WebAssembly.compile((decision.shared ? bytes : unshareMemoryImport(bytes)) as BufferSource);
  const rt = await WasmRuntime.create({
    module,
    shared: decision.shared,
    threads: decision.threads,
    spawn: platform.spawn,
  });
  return new WasmBackend(rt, decision);
}

/**
 * The plug-in for a platform. node.ts and browser.ts register it, and the kernel tables, at
 * import (as the other backends do).
 */
export function wasmPlugin(platform: WasmPlatform): BackendPlugin<WasmStorage> {
  return {
    name: 'wasm',
    probe: () => probeWasm(platform),
    create: () => createWasmBackend(platform),
  };
}
