/// <reference types="@webgpu/types" />
/**
 * WebGPU in browsers: navigator.gpu, and WGSL fetched from the URLs the kernel modules
 * declare (bundlers copy `new URL('./x.wgsl', import.meta.url)` assets). A browser
 * build registers `registerBrowserWebGPU()` from its backends/browser.ts.
 */
import { registerBackend } from '../../core/dispatch.js';
import type { WebGPUOptions } from './backend.js';
import type { GpuEnvironment } from './device.js';
import { createWebGPUPlugin } from './index.js';

export const browserEnvironment: GpuEnvironment = {
  label: 'navigator.gpu',
  async gpu() {
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    if (!nav?.gpu) {
      return {
        gpu: null,
        reason:
          'navigator.gpu is missing: this browser has no WebGPU (or it is disabled; Chromium: --enable-unsafe-webgpu)',
        notes: {},
      };
    }
    return { gpu: nav.gpu, reason: '', notes: {} };
  },
  async loadSource(url: URL) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`WebGPU: cannot fetch WGSL source ${url.href} (HTTP ${response.status})`);
    return response.text();
  },
};

export function registerBrowserWebGPU(options: WebGPUOptions = {}): void {
  registerBackend(createWebGPUPlugin(browserEnvironment, options));
}
