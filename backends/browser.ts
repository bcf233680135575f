/**
 * Registers every backend plug-in that can run in browsers (the demo's worker imports this;
 * backends/node.ts is the Node counterpart). Each plug-in probes lazily: no adapter, no
 * SIMD or a module that fails to load makes that backend unavailable with a reason, never a
 * crash at import time. The native addon has no browser build.
 */
import '../index.js';
import './wasm/browser.js';
import { registerBrowserWebGPU } from './webgpu/browser.js';

registerBrowserWebGPU();

export { configureBrowserWasm } from './wasm/browser.js';

export const browserBackendsRegistered = true;
