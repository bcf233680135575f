/**
 * wasm elementwise kernels (kernels/elementwise/wasm.as): f32x4 unary ops (exp, tanh, sigmoid
 * as vector polynomials; log, sin, cos, erf, gelu per element), broadcasting binary ops and
 * comparisons on rows described by `broadcastRecord`, where on raw elements, clamp and cast.
 * Integer arithmetic that the reference defines through doubles (div, pow) and f64 run the
 * reference kernel.
 */
import type { WasmStorage } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmKernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import type { Kernel, TensorInfo } from '../../core/backend.js';
import { type DType, isHalf } from '../../core/dtype.js';
import { broadcastStrides, sizeOf } from '../../core/shape.js';
import type { CastAttrs, ClampAttrs } from './elementwise.js';
import { BINARY, COMPARE, UNARY } from './math.js';
import { refKernels } from './ref.js';

/**
 * The broadcast record the row kernels read: [k, R, n, inner strides (k), outer shape (R),
 * outer strides (k × R)], after dropping size-1 axes and merging axes every input walks
 * contiguously. `rows` is the unit count (product of the outer shape).
 */
export function broadcastRecord(
  outShape: readonly number[],
  inputShapes: readonly (readonly number[])[],
): { record: number[]; rows: number; n: number } {
  const k = inputShapes.length;
  const strides = inputShapes.map((s) => broadcastStrides(s, outShape));
  const shape: number[] = [];
  const merged: number[][] = inputShapes.map(() => []);
  for (let axis = 0; axis < outShape.length; axis++) {
    const d = outShape[axis];
    if (d === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && strides.every((s, i) => merged[i][last] === s[axis] * d)) {
      shape[last] *= d;
      for (let i = 0; i < k; i++) merged[i][last] = strides[i][axis];
    } else {
      shape.push(d);
      for (let i = 0; i < k; i++) merged[i].push(strides[i][axis]);
    }
  }
  const n = shape.length ? shape[shape.length - 1] : 1;
  const outer = shape.slice(0, -1);
  const inner = merged.map((s) => (s.length ? s[s.length - 1] : 0));
  const record = [k, outer.length, n, ...inner, ...outer];
  for (let i = 0; i < k; i++) record.push(...merged[i].slice(0, -1));
  return { record, rows: sizeOf(outer), n };
}

function runRows(
  rt: WasmRuntime,
  fn: string,
  lead: readonly number[],
  inputs: readonly WasmTensor[],
  y: WasmTensor,
  tail: readonly number[] = [],
): void {
  if (y.size === 0) return;
  const { record, rows, n } = broadcastRecord(
    y.shape,
    inputs.map((t) => t.shape),
  );
  const meta = rt.record(record);
  try {
    rt.run(fn, [...lead, ...inputs.map((t) => t.ptr), y.ptr, ...tail, meta], rows, n * 0.5 + 20);
  } finally {
    rt.free(meta);
  }
}

const UNARY_CODES = Object.keys(UNARY);
/** Ops computed element by element in f64 (no vector form): about 10 ns each instead of 0.5. */
const SCALAR_UNARY = new Set(['log', 'sin', 'cos', 'erf', 'gelu']);

function unaryKernel(name: string): Kernel<never, WasmStorage> {
  const code = UNARY_CODES.indexOf(name);
  const cost = SCALAR_UNARY.has(name) ? 10 : 0.5;
  return wasmKernel<unknown>({
    op: name,
    ref: refKernels[name],
    run(rt, [x], _attrs, [y]) {
      rt.run('unary_f32', [code, x.ptr, y.ptr], y.size, cost);
    },
  }) as Kernel<never, WasmStorage>;
}

const BINARY_CODES = Object.keys(BINARY);
const INT_BINARY = new Set(['add', 'sub', 'mul', 'maximum', 'minimum']);

function binaryKernel(name: string): Kernel<never, WasmStorage> {
  const code = BINARY_CODES.indexOf(name);
  return wasmKernel<unknown>({
    op: name,
    ref: refKernels[name],
    accepts: ([a, b]) => a.dtype === b.dtype && (a.dtype === 'f32' || (a.dtype === 'i32' && INT_BINARY.has(name))),
    run(rt, inputs, _attrs, [y]) {
      runRows(rt, inputs[0].dtype === 'i32' ? 'binary_i32' : 'binary_f32', [code], inputs, y);
    },
  }) as Kernel<never, WasmStorage>;
}

const COMPARE_CODES = Object.keys(COMPARE);

function compareKernel(name: string): Kernel<never, WasmStorage> {
  const code = COMPARE_CODES.indexOf(name);
  return wasmKernel<unknown>({
    op: name,
    ref: refKernels[name],
    accepts: ([a, b]) => a.dtype === b.dtype && (a.dtype === 'f32' || a.dtype === 'i32'),
    run(rt, inputs, _attrs, [y]) {
      runRows(rt, 'compare_32', [code, inputs[0].dtype === 'i32' ? 1 : 0], inputs, y);
    },
  }) as Kernel<never, WasmStorage>;
}

const ELEM_BYTES: Partial<Record<DType, number>> = { f32: 4, i32: 4, u8: 1 };

const where = wasmKernel<unknown>({
  op: 'where',
  ref: refKernels.where,
  accepts: ([c, a, b]: readonly TensorInfo[]) => c.dtype === 'u8' && a.dtype === b.dtype && a.dtype in ELEM_BYTES,
  run(rt, inputs, _attrs, [y]) {
    if (y.size === 0) return;
    const { record, rows, n } = broadcastRecord(
      y.shape,
      inputs.map((t) => t.shape),
    );
    const meta = rt.record(record);
    try {
      const [c, a, b] = inputs;
      rt.run('where_any', [c.ptr, a.ptr, b.ptr, y.ptr, ELEM_BYTES[a.dtype]!, meta], rows, n + 20);
    } finally {
      rt.free(meta);
    }
  },
});

const clamp = wasmKernel<ClampAttrs>({
  op: 'clamp',
  ref: refKernels.clamp,
  run(rt, [x], { min, max }, [y]) {
    rt.run('clamp_f32', [x.ptr, y.ptr, min, max], y.size, 0.5);
  },
});

const CAST_CODES: Partial<Record<DType, number>> = { f32: 0, i32: 1, u8: 2, i8: 3, u32: 4 };

const cast = wasmKernel<CastAttrs>({
  op: 'cast',
  ref: refKernels.cast,
  // f16/bf16 arrive widened and leave narrowed, so only the compute dtypes matter here.
  accepts: ([x], { dtype }) => x.dtype in CAST_CODES && (isHalf(dtype) || dtype in CAST_CODES),
  run(rt, [x], _attrs, [y]) {
    rt.run('cast_32', [CAST_CODES[x.dtype]!, CAST_CODES[y.dtype]!, x.ptr, y.ptr], y.size, 1);
  },
});

export const wasmKernels: WasmKernelTable = kernelTable({
  ...Object.fromEntries(Object.keys(UNARY).map((n) => [n, unaryKernel(n)])),
  ...Object.fromEntries(Object.keys(BINARY).map((n) => [n, binaryKernel(n)])),
  ...Object.fromEntries(Object.keys(COMPARE).map((n) => [n, compareKernel(n)])),
  where: where as Kernel<never, WasmStorage>,
  clamp: clamp as Kernel<never, WasmStorage>,
  cast: cast as Kernel<never, WasmStorage>,
});
