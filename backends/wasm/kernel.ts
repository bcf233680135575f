/**
 * How kernels/<family>/wasm.ts turn wasm exports into engine kernels:
 * - half-precision inputs (f16, bf16) are widened to f32 inside the wasm memory and such outputs
 *   computed in f32 and narrowed back (SIMD128 has no half arithmetic), so each kernel is
 *   written for f32 once;
 * - outputs are allocated here, in the compute dtype, and handed to the kernel as pointers;
 * - inputs a kernel does not take (dtypes it has no code for, e.g. f64 or integer pow) run the
 *   family's reference kernel directly on views of the wasm memory, recorded in the fallback
 *   ledger (core/ledger.ts).
 */
import type { Kernel, KernelTensor, TensorInfo } from '../../core/backend.js';
import {
  bytesPerElement,
  computeDType,
  type DType,
  fromCompute,
  type HalfDType,
  isHalf,
  toCompute,
} from '../../core/dtype.js';
import { BackendError } from '../../core/errors.js';
import { recordFallback } from '../../core/ledger.js';
import { sizeOf } from '../../core/shape.js';
import type { HostData, RefKernel } from '../../kernels/host.js';
import type { WasmBackend, WasmStorage } from './backend.js';
import type { WasmRuntime } from './runtime.js';

/** A tensor as wasm code sees it: a pointer into the runtime's memory. */
export interface WasmTensor {
  readonly ptr: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
}

export interface WasmKernelSpec<A> {
  readonly op: string;
  /** The family's reference kernel: the path for inputs `accepts` turns down. */
  readonly ref: RefKernel<A>;
  /** Whether the wasm code takes these inputs (after f16/bf16 widening). Default: every input is f32. */
  readonly accepts?: (inputs: readonly TensorInfo[], attrs: A) => boolean;
  /**
   * Data movement that never does arithmetic (copies, gathers, padding): tensors arrive and
   * outputs are allocated in their stored dtype, f16/bf16 included, with no widening. `accepts`
   * then sees stored dtypes too.
   */
  readonly raw?: boolean;
  /** Compute into the preallocated outputs (f32 where the output is f16/bf16, unless raw). */
  readonly run: (rt: WasmRuntime, inputs: readonly WasmTensor[], attrs: A, outputs: readonly WasmTensor[]) => void;
}

function allF32(inputs: readonly TensorInfo[]): boolean {
  return inputs.every((t) => t.dtype === 'f32');
}

/** The reference kernel over views of the wasm memory; results are uploaded as new storages. */
export function runReference<A>(
  backend: WasmBackend,
  op: string,
  ref: RefKernel<A>,
  inputs: readonly KernelTensor<WasmStorage>[],
  attrs: A,
  outputs: readonly TensorInfo[],
): WasmStorage[] {
  recordFallback(op, 'reference', 'wasm', 'js', `no wasm code for ${inputs.map((t) => t.dtype).join(', ')} inputs`);
  const host = inputs.map((t) => {
    const view = backend.view(backend.own(t.storage), t.dtype);
    return {
      data: toCompute(view, t.dtype) as HostData,
      shape: t.shape,
      dtype: computeDType(t.dtype),
    };
  });
  const results = ref(
    host,
    attrs,
    outputs.map((o) => ({ shape: o.shape, dtype: computeDType(o.dtype) })),
  );
  return results.map((data, i) => backend.upload(fromCompute(data, outputs[i].dtype), outputs[i].dtype));
}

/** Widen half-precision bits (f16 or bf16) to f32 values inside the wasm memory. */
export function widenHalf(rt: WasmRuntime, dtype: HalfDType, src: number, dst: number, n: number): void {
  rt.run(dtype === 'f16' ? 'f16_to_f32' : 'bf16_to_f32', [src, dst], n, 1);
}

/** Narrow f32 values to half-precision bits (nearest even) inside the wasm memory. */
export function narrowHalf(rt: WasmRuntime, dtype: HalfDType, src: number, dst: number, n: number): void {
  rt.run(dtype === 'f16' ? 'f32_to_f16' : 'f32_to_bf16', [src, dst], n, 1);
}

export function wasmKernel<A>(spec: WasmKernelSpec<A>): Kernel<A, WasmStorage> {
  return (inputs, attrs, outputs, backend) => {
    const be = backend as unknown as WasmBackend;
    const rt = be.rt;
    const widen = (dtype: DType): DType => (spec.raw ? dtype : computeDType(dtype));
    const compute = inputs.map((t) => ({ shape: t.shape, dtype: widen(t.dtype) }));
    const accepted = spec.accepts ? spec.accepts(compute, attrs) : allF32(compute);
    if (!accepted) return runReference(be, spec.op, spec.ref, inputs, attrs, outputs);
    const temporaries: number[] = [];
    const results: WasmStorage[] = [];
    try {
      const ins = inputs.map((t): WasmTensor => {
        const size = sizeOf(t.shape);
        const ptr = be.own(t.storage).ptr;
        if (!isHalf(t.dtype) || spec.raw) return { ptr, shape: t.shape, dtype: t.dtype, size };
        const wide = rt.alloc(size * 4);
        temporaries.push(wide);
        widenHalf(rt, t.dtype, ptr, wide, size);
        return { ptr: wide, shape: t.shape, dtype: 'f32', size };
      });
      const outs = outputs.map((o): WasmTensor => {
        const size = sizeOf(o.shape);
        const dtype = widen(o.dtype);
        if (o.dtype !== dtype) {
          const wide = rt.alloc(size * 4);
          temporaries.push(wide);
          return { ptr: wide, shape: o.shape, dtype, size };
        }
        const storage = be.allocStorage(size * bytesPerElement(dtype));
        results.push(storage);
        return { ptr: storage.ptr, shape: o.shape, dtype, size };
      });
      spec.run(rt, ins, attrs, outs);
      let next = 0;
      return outputs.map((o, i) => {
        if (!isHalf(o.dtype) || o.dtype === outs[i].dtype) return results[next++];
        const storage = be.allocStorage(outs[i].size * 2);
        results.push(storage);
        narrowHalf(rt, o.dtype, outs[i].ptr, storage.ptr, outs[i].size);
        return storage;
      });
    } catch (err) {
      for (const s of results) rt.free(s.ptr);
      if (err instanceof Error && !(err instanceof BackendError) && err.name === 'RuntimeError') {
        throw new BackendError(
          `wasm ${spec.op}: the kernel trapped (${err.message}); this is a bug in the wasm kernel`,
        );
      }
      throw err;
    } finally {
      for (const p of temporaries) rt.free(p);
    }
  };
}

/** A table entry as registerKernels wants it. */
export type WasmKernelTable = Readonly<Record<string, Kernel<never, never>>>;

export function kernelTable(entries: Record<string, Kernel<never, WasmStorage>>): WasmKernelTable {
  return entries as unknown as WasmKernelTable;
}
