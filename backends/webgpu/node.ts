/// <reference types="@webgpu/types" />
/**
 * WebGPU in Node through the `webgpu` package (Dawn). On Linux machines without a GPU
 * driver, Debian's chromium package ships SwiftShader and a Vulkan loader: when no
 * system Vulkan driver is installed and VK_ICD_FILENAMES is unset, this points Vulkan at
 * SwiftShader, and when the system has no libvulkan.so.1 it preloads chromium's copy
 * (Dawn opens the loader by its soname, which then resolves to the loaded one). Both
 * appear in the probe's details. EAI_WEBGPU_RECOVERY=0 turns off device-loss recovery;
 * EAI_WEBGPU_VARIANT=tiled|blocked forces the matmul/conv kernel variant.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { registerBackend } from '../../core/dispatch.js';
import type { WebGPUOptions } from './backend.js';
import type { Details, GpuEnvironment } from './device.js';
import { createWebGPUPlugin } from './index.js';

const CHROMIUM = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM}/vk_swiftshader_icd.json`;
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const LOADER_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
];
// Not in os.constants.dlopen: keeps the library loaded after Node's failed addon init closes it.
const RTLD_NODELETE = 0x1000;
const RTLD_NOW = 2;
const RTLD_GLOBAL = 256;

function hasSystemDriver(): boolean {
  return ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
}

function hasSystemLoader(): boolean {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LOADER_DIRS];
  return dirs.some((d) => existsSync(`${d}/libvulkan.so.1`));
}

let vulkanNotes: Details | null = null;

/** Once per process, before Dawn creates its Vulkan instance. */
function setUpVulkan(): Details {
  if (vulkanNotes) return vulkanNotes;
  const notes: Details = {};
  if (process.platform === 'linux') {
    if (process.env.VK_ICD_FILENAMES) notes.vulkanDriver = `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}`;
    else if (!hasSystemDriver() && existsSync(SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      notes.vulkanDriver = `SwiftShader: set VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (no system Vulkan driver found)`;
    }
    const chromiumLoader = `${CHROMIUM}/libvulkan.so.1`;
    if (!hasSystemLoader() && existsSync(chromiumLoader)) {
      try {
        process.dlopen({ exports: {} }, chromiumLoader, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
      } catch (err) {
        // Expected: it is not a Node addon. The library stays loaded (RTLD_NODELETE).
        if (!/self-register|module/i.test((err as Error).message)) notes.vulkanLoaderError = (err as Error).message;
      }
      notes.vulkanLoader = `${chromiumLoader} (preloaded: no system libvulkan.so.1)`;
    }
  }
  vulkanNotes = notes;
  return notes;
}

let gpu: GPU | null = null;

export const nodeEnvironment: GpuEnvironment = {
  label: "the 'webgpu' package (Dawn)",
  async gpu() {
    const notes = setUpVulkan();
    if (gpu) return { gpu, reason: '', notes };
    let mod: { create(options: string[]): GPU };
    try {
      mod = (await import('webgpu')) as unknown as { create(options: string[]): GPU };
    } catch (err) {
      return {
        gpu: null,
        reason: `the 'webgpu' package could not be loaded (${(err as Error).message}); install it with npm install webgpu`,
        notes,
      };
    }
    try {
      gpu = mod.create([]);
    } catch (err) {
      return { gpu: null, reason: `webgpu create() failed: ${(err as Error).message}`, notes };
    }
    return { gpu, reason: '', notes };
  },
  async loadSource(url: URL) {
    const path = fileURLToPath(url);
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      // Compiled code in dist/ reads the sources beside the TypeScript ones.
      const source = path.replace(/([/\\])dist([/\\])(?!.*[/\\]dist[/\\])/, '$1');
      if (source !== path && existsSync(source)) return readFile(source, 'utf8');
      throw new Error(
        `WebGPU: cannot read WGSL source ${path} (${(err as Error).message}); the build must copy kernels/**/*.wgsl and backends/webgpu/wgsl/*.wgsl beside the compiled modules`,
      );
    }
  },
};

function envOptions(): WebGPUOptions {
  const v = process.env.EAI_WEBGPU_VARIANT;
  if (v !== undefined && v !== 'tiled' && v !== 'blocked') {
    throw new Error(`EAI_WEBGPU_VARIANT=${v}: use 'tiled' or 'blocked' (or unset it to choose per adapter)`);
  }
  return { recovery: process.env.EAI_WEBGPU_RECOVERY !== '0', variant: v };
}

/** The plug-in registered for Node (exported so tests can create extra devices). */
export const webgpuPlugin = createWebGPUPlugin(nodeEnvironment, envOptions());

registerBackend(webgpuPlugin);
