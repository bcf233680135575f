/**
 * efficientai-toolkit: the tensor core (core/), every op family's ops (kernels/ops.ts) and the js
 * backend, installed (always available). Browser-safe. Other backends register their plug-ins:
 * import 'efficientai-toolkit/backends/node' (native, wasm, WebGPU through Dawn) in Node, or
 * 'efficientai-toolkit/backends/browser' (wasm, WebGPU) in a page or worker.
 */
import { installJsBackend } from './backends/js/index.js';

installJsBackend();

export * from './core/index.js';
export * from './kernels/ops.js';
