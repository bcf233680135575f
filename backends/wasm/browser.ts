/**
 * Registers the wasm backend for browsers (a browser build imports this instead of node.ts):
 * the plug-in over the browser platform (browser-platform.ts) and every wasm kernel table.
 */
import { registerBackend } from '../../core/dispatch.js';
import { browserWasmPlatform } from './browser-platform.js';
import { registerWasmKernels, wasmPlugin } from './plugin.js';

export { type BrowserWasmOptions, configureBrowserWasm } from './browser-platform.js';

registerBackend(wasmPlugin(browserWasmPlatform()));
registerWasmKernels();
