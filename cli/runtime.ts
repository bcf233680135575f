/**
 * The part of the core the CLI drives, loaded on first use: `--help` and usage
 * errors never pay for importing the tensor core and probing backends.
 * Tests inject a fake with the same shape.
 */
import type * as Core from '../index.js';

export type Runtime = Pick<
  typeof Core,
  | 'BACKEND_NAMES'
  | 'backendAvailability'
  | 'availableBackendNames'
  | 'setBackend'
  | 'getBackendName'
  | 'kernelNames'
  | 'allOpNames'
  | 'memory'
  | 'fallbackLedger'
  | 'setStrictBackend'
  | 'setWarningHandler'
  | 'setAbortSignal'
  | 'setInterrupter'
  | 'tensor'
  | 'dispose'
  | 'add'
>;

let loaded: Promise<Runtime> | undefined;

export function loadRuntime(): Promise<Runtime> {
  // backends/node.js registers the Node backend plug-ins (native, wasm, webgpu) before the core is used.
  loaded ??= import('../backends/node.js').then(() => import('../index.js'));
  return loaded;
}
