/**
 * efficientai-toolkit core: tensors, ops, autograd, dispatch. Importing it installs
 * the js backend (always available); other backends register their plug-ins.
 */
import { installJsBackend } from '../backends/js/index.js';

installJsBackend();

export * from './autograd.js';
export type {
  Availability,
  Backend,
  BackendName,
  BackendPlugin,
  Kernel,
  KernelTensor,
  Storage,
  StridedView,
  TensorInfo,
} from './backend.js';
export { BACKEND_NAMES } from './backend.js';
export { type Interrupter, setAbortSignal, setInterrupter, throwIfCancelled, untilCancelled } from './cancel.js';
export * from './creation.js';
export {
  allOpNames,
  availableBackendNames,
  backendAvailability,
  fallbackStats,
  getBackendName,
  hasKernel,
  initBackend,
  kernelNames,
  probeBackend,
  readyBackendNames,
  registerBackend,
  registerKernel,
  registerKernels,
  resetFallbackStats,
  setBackend,
  setWarningHandler,
} from './dispatch.js';
export * from './dtype.js';
export { defineOp, type OpDef, opDefinitions, opRunCounts, run1, runOp, type VjpContext } from './engine.js';
export * from './errors.js';
export * from './ops.js';
export { Rng, setSeed } from './random.js';
export * from './shape.js';
export { dispose, keep, memory, type NestedArray, Tensor, tidy } from './tensor.js';
