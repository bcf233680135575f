/**
 * Creating the WebGPU backend: a failure part-way (an unreadable WGSL file) must not spend
 * the adapter, which gives one device only, so a retry after the cause is fixed succeeds.
 */
import { describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../backends/webgpu/backend.js';
import type { GpuEnvironment } from '../../backends/webgpu/device.js';
import { createWebGPUPlugin } from '../../backends/webgpu/index.js';
import { nodeEnvironment } from '../../backends/webgpu/node.js';

const available = (await createWebGPUPlugin(nodeEnvironment).probe()).available;

describe.runIf(available)('createWebGPUPlugin', () => {
  it('creates a device on a retry after a WGSL file could not be read', async () => {
    let failing = true;
    const env: GpuEnvironment = {
      label: nodeEnvironment.label,
      gpu: () => nodeEnvironment.gpu(),
      async loadSource(url) {
        if (failing) throw new Error(`cannot read ${url.pathname}`);
        return nodeEnvironment.loadSource(url);
      },
    };
    const plugin = createWebGPUPlugin(env);
    await expect(plugin.create()).rejects.toThrow(/cannot read/);
    failing = false;
    const backend = (await plugin.create()) as WebGPUBackend;
    expect(backend.name).toBe('webgpu');
    backend.destroy();
  });
});
