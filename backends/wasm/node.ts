/**
 * Registers the wasm backend for Node (backends/node.ts imports this): the plug-in over the
 * Node platform (node-platform.ts) and every wasm kernel table.
 */
import { registerBackend } from '../../core/dispatch.js';
import { nodeWasmPlatform } from './node-platform.js';
import { registerWasmKernels, wasmPlugin } from './plugin.js';

registerBackend(wasmPlugin(nodeWasmPlatform()));
registerWasmKernels();
