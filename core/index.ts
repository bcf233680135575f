/**
 * The tensor core: tensors, dtypes, shapes, dispatch, the op engine, autograd and the fallback
 * ledger. It knows no backend and no op family: the package entry (index.ts at the repository
 * root) installs the js backend and adds every family's ops; backends register their plug-ins.
 */
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
  getBackendName,
  hasKernel,
  initBackend,
  kernelNames,
  probeBackend,
  readyBackendNames,
  registerBackend,
  registerKernel,
  registerKernels,
  setBackend,
} from './dispatch.js';
export * from './dtype.js';
export {
  defineOp,
  type OpDef,
  opDefinitions,
  opRunCounts,
  run1,
  runOp,
  type SavedTensors,
  type VjpContext,
} from './engine.js';
export * from './errors.js';
export {
  type FallbackEntry,
  type FallbackKind,
  fallbackLedger,
  ledgerDelta,
  recordFallback,
  resetFallbackLedger,
  setStrictBackend,
  setWarningHandler,
  strictBackend,
} from './ledger.js';
export { defaultRng, Rng, type RngState, setDefaultRng, setSeed } from './random.js';
export * from './shape.js';
export { dispose, keep, memory, type NestedArray, resetPeakMemory, Tensor, tidy } from './tensor.js';
