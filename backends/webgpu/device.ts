/// <reference types="@webgpu/types" />
/**
 * Adapter and device acquisition, shared by Node (the `webgpu` package, Dawn) and
 * browsers (navigator.gpu). The environment supplies the GPU entry point and the
 * WGSL loader; everything else here is plain WebGPU.
 */

export type Details = Record<string, string | number | boolean>;

export interface GpuEnvironment {
  /** Where the GPU entry point comes from, for messages ('webgpu package (Dawn)', 'navigator.gpu'). */
  readonly label: string;
  /** The GPU object, or null with the reason; notes say what the environment set up. */
  gpu(): Promise<{ gpu: GPU | null; reason: string; notes: Details }>;
  /** Text of a WGSL file named by its module-relative URL. */
  loadSource(url: URL): Promise<string>;
}

/** Features the kernels can use; each is requested only when the adapter offers it. */
export const WANTED_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** Limits raised to the adapter's maximum: big tensors, big workgroups, many bindings. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export interface AdapterReport {
  readonly adapter: GPUAdapter;
  /** CPU-emulated (SwiftShader, llvmpipe, a fallback adapter): correct, never fast. */
  readonly emulated: boolean;
  readonly details: Details;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render|warp/i;

export function describeAdapter(adapter: GPUAdapter, notes: Details = {}): AdapterReport {
  const info = adapter.info;
  const fallback = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  const emulated = fallback || SOFTWARE.test(text);
  const details: Details = {
    ...notes,
    vendor: info.vendor || '(unknown)',
    architecture: info.architecture || '(unknown)',
    device: info.device || '(unknown)',
    description: info.description || '(unknown)',
    isFallbackAdapter: fallback,
    emulated,
    features: WANTED_FEATURES.filter((f) => adapter.features.has(f)).join(',') || 'none',
  };
  for (const name of RAISED_LIMITS) details[name] = adapter.limits[name];
  return { adapter, emulated, details };
}

/** Ask for an adapter; null with the reason when there is none. */
export async function requestAdapter(env: GpuEnvironment): Promise<{ report: AdapterReport | null; reason: string }> {
  const { gpu, reason, notes } = await env.gpu();
  if (!gpu) return { report: null, reason };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { report: null, reason: `${env.label}: requestAdapter() failed: ${(err as Error).message}` };
  }
  if (!adapter) {
    const hint = Object.entries(notes)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    return {
      report: null,
      reason: `${env.label}: requestAdapter() returned null (no usable GPU or software adapter${hint ? `; ${hint}` : ''})`,
    };
  }
  return { report: describeAdapter(adapter, notes), reason: '' };
}

/** Request a device with every wanted feature the adapter offers and the raised limits. */
export async function requestDevice(report: AdapterReport): Promise<GPUDevice> {
  const { adapter } = report;
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  try {
    return await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'efficientai-toolkit' });
  } catch (err) {
    throw new Error(
      `WebGPU: requestDevice() failed on ${report.details.description} (${(err as Error).message}); ` +
        `use another backend: setBackend('auto') picks the next available one`,
    );
  }
}
