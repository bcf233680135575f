/**
 * Runs ops: validates inputs, infers output shapes and dtypes, dispatches to a
 * kernel (or, for view ops, shares the input's storage), and records the op on
 * the active autograd tape. Every op in kernels/<family>/<family>.ts is a defineOp.
 */
import type { Backend, BackendName, Kernel, Storage, TensorInfo } from './backend.js';
import { throwIfCancelled } from './cancel.js';
import { getBackend, getBackendName, resolveKernel } from './dispatch.js';
import { isStorageOnly } from './dtype.js';
import { DTypeError } from './errors.js';
import { recordFallback } from './ledger.js';
import { newStorageRef, Tensor } from './tensor.js';

/**
 * Saved state the vjp of an op receives. Inputs and outputs the op's `saves` left out arrive as released
 * tensors: their shape and dtype are there, their data is not (using it throws a DisposedError).
 */
export interface VjpContext<A> {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
  /** Per input: whether its gradient is wanted. A vjp may return null for the others and skip their work. */
  readonly needsGrad: readonly boolean[];
}

/** Indices of the inputs and outputs a vjp reads. */
export interface SavedTensors {
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

export interface ViewResult {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface OpDef<A> {
  readonly name: string;
  /** Output shapes and dtypes from the inputs'; throws a ShapeError/DTypeError naming the op and values. */
  infer(inputs: readonly TensorInfo[], attrs: A): TensorInfo[];
  /**
   * Gradients of the inputs given the gradients of the outputs, written with public ops
   * (so they run, and fall back, on any backend). null marks a non-differentiable input.
   * Absent: the op is not differentiable (indices, comparisons) and stops the tape.
   */
  vjp?(grads: readonly Tensor[], ctx: VjpContext<A>): (Tensor | null)[];
  /**
   * Which inputs and outputs the vjp reads, given which inputs need a gradient: the tape keeps only those
   * until the backward pass reaches the op (shapes and dtypes are always kept). Absent: all of them.
   */
  saves?(needsGrad: readonly boolean[], attrs: A): SavedTensors;
  /** View ops: a new strided window onto the single input's storage; no kernel runs. */
  view?(input: Tensor, attrs: A): ViewResult;
  /**
   * The op takes storage-only dtypes (u32 packed words): it moves elements without arithmetic
   * (copies, concat, gather, pad, cast) or interprets the words itself (quantized ops). Every
   * other op with a kernel rejects them before it runs. View ops take every dtype.
   */
  readonly storageDTypes?: boolean;
}

/** The recording hook autograd installs; the engine knows nothing else about tapes. */
export interface TapeRecorder {
  record<A>(def: OpDef<A>, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: A): void;
}

/** @internal the recorder in place now (checkpoint() records around a block) */
export function currentRecorder(): TapeRecorder | null {
  return recorder;
}

let recorder: TapeRecorder | null = null;

/** @internal autograd installs and removes its recorder around a traced function */
export function setRecorder(r: TapeRecorder | null): TapeRecorder | null {
  const previous = recorder;
  recorder = r;
  return previous;
}

const definitions = new Map<string, OpDef<unknown>>();
const runCounts = new Map<string, number>();

/** Declare an op. Names are unique: they key the kernel registry. */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  if (definitions.has(def.name)) throw new Error(`defineOp: an op named '${def.name}' is already defined`);
  definitions.set(def.name, def as OpDef<unknown>);
  return def;
}

/** Every op defined so far (the conformance suite checks each one is exercised). */
export function opDefinitions(): ReadonlyMap<string, OpDef<unknown>> {
  return definitions;
}

/** How many times each op has run in this process. */
export function opRunCounts(): Record<string, number> {
  return Object.fromEntries(runCounts);
}

/** Move a tensor's elements to another backend as a new contiguous storage. */
function transfer(t: Tensor, to: BackendName): Storage {
  const from = getBackend(t.backend);
  if (!from.readSync) {
    throw new Error(
      `cannot move tensor #${t.id} from ${t.backend} to ${to} synchronously; the ${t.backend} backend must provide this kernel`,
    );
  }
  const { storage, owned } = t.isContiguous
    ? { storage: t.ref.storage, owned: false }
    : { storage: from.contiguous(t.view()), owned: true };
  const host = from.readSync(storage, t.dtype);
  if (owned) from.free(storage);
  return getBackend(to).upload(host, t.dtype);
}

/**
 * Fallback for a caller backend that cannot read synchronously: the caller allocates the
 * outputs and later feeds host copies of the inputs through the fallback kernel.
 */
function runDeferred<A>(
  caller: Backend,
  target: Backend,
  kernel: Kernel,
  inputs: readonly Tensor[],
  attrs: A,
  infos: readonly TensorInfo[],
): Storage[] {
  const temporaries: Storage[] = [];
  const callerInputs = inputs.map((t) => {
    let storage: Storage;
    if (t.backend !== caller.name) storage = transfer(t, caller.name);
    else if (!t.isContiguous) storage = caller.contiguous(t.view());
    else return { storage: t.ref.storage, shape: t.shape, dtype: t.dtype };
    temporaries.push(storage);
    return { storage, shape: t.shape, dtype: t.dtype };
  });
  // The closure may be kept (WebGPU replays it after a device loss): it holds shapes, not tensors.
  const inputInfos = inputs.map((t) => ({ shape: t.shape, dtype: t.dtype }));
  try {
    return caller.deferToHost!(callerInputs, infos, (host) => {
      const targetInputs = host.map((data, i) => ({
        storage: target.upload(data, inputInfos[i].dtype),
        ...inputInfos[i],
      }));
      try {
        return kernel(targetInputs, attrs, infos, target).map((s, i) => {
          const out = target.readSync!(s, infos[i].dtype);
          target.free(s);
          return out;
        });
      } finally {
        for (const t of targetInputs) target.free(t.storage);
      }
    });
  } finally {
    for (const s of temporaries) caller.free(s);
  }
}

/** Storage-only dtypes (u32) reach only the ops that declare they take them. */
function rejectStorageDTypes(def: OpDef<unknown>, inputs: readonly Tensor[]): void {
  if (def.view || def.storageDTypes) return;
  inputs.forEach((t, i) => {
    if (!isStorageOnly(t.dtype)) return;
    throw new DTypeError(
      `${def.name}: input ${i} is ${t.dtype}, a storage dtype (packed words) that ${def.name} does not compute on; ` +
        `cast it first: cast(x, 'f32'), or cast(x, 'i32') for values below 2^31`,
    );
  });
}

/** Run an op on the current backend (or its fallback) and return its outputs. */
export function runOp<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
  throwIfCancelled();
  for (const t of inputs) t.assertAlive(def.name);
  rejectStorageDTypes(def as OpDef<unknown>, inputs);
  const infos = def.infer(inputs, attrs);
  runCounts.set(def.name, (runCounts.get(def.name) ?? 0) + 1);

  let outputs: Tensor[];
  if (def.view) {
    const v = def.view(inputs[0], attrs);
    outputs = [new Tensor(inputs[0].ref, v.shape, inputs[0].dtype, v.strides, v.offset)];
  } else {
    const preferred = getBackendName();
    // Inputs left on another backend are copied over: recorded (and refused in strict mode) first.
    for (const t of inputs) {
      if (t.backend !== preferred)
        recordFallback(def.name, 'copy', t.backend, preferred, `an input was made on ${t.backend}`);
    }
    const { backend: name, kernel } = resolveKernel(def.name, preferred);
    const backend = getBackend(name);
    const caller = getBackend(preferred);
    if (name !== preferred && caller.deferToHost) {
      const results = runDeferred(caller, backend, kernel, inputs, attrs, infos);
      outputs = results.map((s, i) => new Tensor(newStorageRef(s), infos[i].shape, infos[i].dtype));
      recorder?.record(def, inputs, outputs, attrs);
      return outputs;
    }
    const temporaries: Storage[] = [];
    const kernelInputs = inputs.map((t) => {
      let storage: Storage;
      if (t.backend !== name) storage = transfer(t, name);
      else if (!t.isContiguous) storage = backend.contiguous(t.view());
      else return { storage: t.ref.storage, shape: t.shape, dtype: t.dtype };
      temporaries.push(storage);
      return { storage, shape: t.shape, dtype: t.dtype };
    });
    let results: Storage[];
    try {
      results = kernel(kernelInputs, attrs, infos, backend);
    } finally {
      for (const s of temporaries) backend.free(s);
    }
    outputs = results.map((storage, i) => {
      let s = storage;
      if (name !== preferred) {
        // Results return to the backend the caller chose, so later ops stay there.
        const host = backend.readSync!(storage, infos[i].dtype);
        backend.free(storage);
        s = getBackend(preferred).upload(host, infos[i].dtype);
      }
      return new Tensor(newStorageRef(s), infos[i].shape, infos[i].dtype);
    });
  }
  recorder?.record(def, inputs, outputs, attrs);
  return outputs;
}

/** Run a single-output op. */
export function run1<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  return runOp(def, inputs, attrs)[0];
}
