/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend plug-in. The environment (node.ts: the `webgpu` package; browser.ts:
 * navigator.gpu) supplies the GPU and the WGSL loader; probing asks for an adapter and
 * reports it, creating requests the device and loads every declared WGSL file.
 *
 * Auto rank: 90 on a real adapter, 20 on a CPU-emulated one (SwiftShader, a fallback
 * adapter), so `auto` never prefers an emulated GPU over the CPU backends.
 */
import type { Availability, BackendPlugin } from '../../core/backend.js';
import { registerKernels } from '../../core/dispatch.js';
import { type GpuStorage, WebGPUBackend, type WebGPUOptions, webgpuKernels } from './backend.js';
import { type AdapterReport, type GpuEnvironment, requestAdapter, requestDevice } from './device.js';
import { families } from './families.js';
import { declaredShaders, withIncludes } from './shaders.js';

for (const family of Object.values(families)) registerKernels('webgpu', webgpuKernels(family.gpuKernels));

export const AUTO_RANK_REAL = 90;
/** Below js (10): a CPU-emulated adapter (SwiftShader) is for correctness checks; `auto` never picks it. */
export const AUTO_RANK_EMULATED = 5;

export function createWebGPUPlugin(env: GpuEnvironment, options: WebGPUOptions = {}): BackendPlugin<GpuStorage> {
  let report: AdapterReport | null = null;
  let probed: Promise<Availability> | null = null;

  async function probe(): Promise<Availability> {
    const found = await requestAdapter(env);
    if (!found.report) return { available: false, reason: found.reason, autoRank: -1 };
    report = found.report;
    const d = report.details;
    const kind = report.emulated ? 'CPU-emulated adapter: correct, never fast' : 'GPU adapter';
    return {
      available: true,
      reason: `${d.description} (${d.vendor}/${d.architecture}; ${kind}) via ${env.label}`,
      autoRank: report.emulated ? AUTO_RANK_EMULATED : AUTO_RANK_REAL,
      details: d,
    };
  }

  return {
    name: 'webgpu',
    probe() {
      probed ??= probe();
      return probed;
    },
    async create() {
      const avail = await this.probe();
      if (!avail.available || !report) throw new Error(`WebGPU is unavailable: ${avail.reason}`);
      // Sources first: an adapter gives one device only, so a failure after requestDevice
      // would leave the next create() a consumed adapter. A failed device request forgets
      // the adapter for the same reason, so a retry probes a fresh one.
      const refs = declaredShaders();
      const texts = await Promise.all(refs.map((r) => env.loadSource(r.url)));
      const files = new Map(refs.map((r, i) => [r.name, texts[i]]));
      const sources = new Map(refs.map((r, i) => [r.name, withIncludes(r.name, texts[i], (path) => files.get(path))]));
      let device: GPUDevice;
      try {
        device = await requestDevice(report);
      } catch (err) {
        probed = null;
        report = null;
        throw err;
      }
      return new WebGPUBackend(device, report, sources, options);
    },
  };
}

export { GpuStorage, WebGPUBackend } from './backend.js';
export type { GpuEnvironment } from './device.js';
