/**
 * The native backend plug-in: C++ kernels in a node-addon-api addon (native-metal/).
 * Probing loads the addon once and never throws: a missing compiler at install time,
 * a hidden or stale binary all become the reason `info`/`doctor` print. Families
 * without a native kernel table fall back per op to the next backend (js last).
 */
import type { Availability, BackendPlugin } from '../../core/backend.js';
import { registerBackend, registerKernels } from '../../core/dispatch.js';
import { metalState } from './apple.js';
import { families } from './families.js';
import { loadNativeAddon } from './loader.js';
import { type NativeStorage, nativeBackend } from './storage.js';

export { metalState } from './apple.js';
export { conv2dAsync, matmulAsync } from './async.js';
export { loadNativeAddon, loadNativeAddonFrom, resetNativeAddonCache } from './loader.js';
export { clearNativePool, type NativeStorage, nativePoolStats, setNativePoolPoison } from './storage.js';

/** Ops the native kernels cover. */
export function nativeOpNames(): string[] {
  return Object.values(families).flatMap((f) => Object.keys(f.nativeKernels));
}

/** CPU-only rank; with Metal enabled (EAI_NATIVE_METAL=1 and its self-test passed) it ranks above WebGPU. */
const RANK_CPU = 80;
const RANK_METAL = 100;

async function probe(): Promise<Availability> {
  const loaded = loadNativeAddon();
  if (!loaded.ok) return { available: false, reason: loaded.reason, autoRank: RANK_CPU };
  const { addon, path } = loaded;
  const info = addon.info();
  const metal = metalState(addon);
  const details: Record<string, string | number | boolean> = {
    addon: path,
    isa: info.isa,
    cpuFeatures: info.cpuFeatures,
    gemm: info.gemmKernel,
    threads: info.threads,
    nativeOps: nativeOpNames().length,
    f16: 'stored as f16, computed in f32 (converted at kernel boundaries)',
    metal: metal.status,
  };
  if (info.compiler) details.compiler = info.compiler;
  if (addon.apple) details.coreml = addon.apple.info().coreml;
  const where = metal.enabled ? `, Metal (${metal.status.slice(4)})` : '';
  return {
    available: true,
    reason: `C++ addon: ${info.gemmKernel} GEMM, ${info.threads} thread${info.threads === 1 ? '' : 's'}${where}`,
    autoRank: metal.enabled ? RANK_METAL : RANK_CPU,
    details,
  };
}

export const nativePlugin: BackendPlugin<NativeStorage> = {
  name: 'native',
  probe,
  async create() {
    const loaded = loadNativeAddon();
    if (!loaded.ok) throw new Error(`native backend: ${loaded.reason}`);
    return nativeBackend;
  },
};

registerBackend(nativePlugin);
// Kernels call the addon only when they run, which needs the backend created: registering
// them now costs nothing and lets `info` list them even where the addon is missing.
for (const family of Object.values(families)) registerKernels('native', family.nativeKernels);
