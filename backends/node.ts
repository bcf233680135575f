/**
 * Registers every backend plug-in that can run in Node (the CLI, tests and benchmarks
 * import this). Each plug-in probes lazily: a missing package, addon or adapter makes
 * that backend unavailable with a reason, never a crash at import time.
 * Browser builds register their own set in backends/browser.ts.
 */
import '../index.js';
import './native/index.js';
import './webgpu/node.js';
import './wasm/node.js';

/** One line per backend plug-in. */
export const nodeBackendsRegistered = true;
