/**
 * wasm matmul: the packed 4x8 f32x4 GEMM in wasm.as, one dispatch for the whole broadcast
 * batch (batch offsets computed here), split across threads by row strips or column strips.
 * f16 is computed in f32; i32 runs exact wrapping loops; other dtypes run the reference.
 */

import type { WasmStorage } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import { NS_PER_FLOP, type WasmRuntime } from '../../backends/wasm/runtime.js';
import type { Kernel, KernelTensor } from '../../core/backend.js';
import { broadcastStrides, sizeOf } from '../../core/shape.js';
import { wasmKernels as elementwise } from '../elementwise/wasm.js';
import { type MatmulAttrs, matmulDims } from './matmul.js';
import { refKernels } from './ref.js';

/** Micro-tile of the GEMM (MR x NR in wasm.as). */
export const MR = 4;
export const NR = 8;
/** B descriptor modes (B_* in wasm.as). */
export const B_MATRIX = 0;
export const B_IM2COL = 1;
export const B_IM2COL_T = 2;

/**
 * Element offsets (aOff, bOff) of each batch's matrices, interleaved, or null when the batch
 * is a single product at offset 0.
 */
export function batchOffsets(
  aShape: readonly number[],
  bShape: readonly number[],
  batch: readonly number[],
  aMatrix: number,
  bMatrix: number,
): number[] | null {
  const count = sizeOf(batch);
  if (count === 1) return null;
  const aStrides = broadcastStrides(aShape.slice(0, -2), batch);
  const bStrides = broadcastStrides(bShape.slice(0, -2), batch);
  const out = new Array<number>(count * 2);
  const index = new Array<number>(batch.length).fill(0);
  for (let t = 0; t < count; t++) {
    let ai = 0;
    let bi = 0;
    for (let d = 0; d < batch.length; d++) {
      ai += index[d] * aStrides[d];
      bi += index[d] * bStrides[d];
    }
    out[2 * t] = ai * aMatrix;
    out[2 * t + 1] = bi * bMatrix;
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Split a product into row strips when it has at least as many rows as columns (each thread
 * then packs all of B, which costs k·n next to its share of m·k·n), else into column strips.
 */
export function splitByRows(m: number, n: number): boolean {
  return m >= n;
}

function matmulF32(
  rt: WasmRuntime,
  [a, b]: readonly WasmTensor[],
  attrs: MatmulAttrs,
  [y]: readonly WasmTensor[],
): void {
  const { m, k, n, batch } = matmulDims(a, b, attrs);
  if (y.size === 0) return;
  const offsets = batchOffsets(a.shape, b.shape, batch, m * k, k * n);
  const batches = sizeOf(batch);
  const [ars, acs] = attrs.transposeA ? [1, m] : [k, 1];
  const [brs, bcs] = attrs.transposeB ? [1, k] : [n, 1];
  const desc = rt.record([B_MATRIX, b.ptr, brs, bcs]);
  const table = offsets ? rt.record(offsets) : 0;
  try {
    const rows = splitByRows(m, n);
    const per = rows ? Math.ceil(m / MR) : Math.ceil(n / NR);
    const cost = 2 * k * (rows ? MR * n : NR * m) * NS_PER_FLOP;
    rt.run('matmul_f32', [a.ptr, ars, acs, desc, y.ptr, m, n, k, table, rows ? 1 : 0], batches * per, cost);
  } finally {
    rt.free(desc);
    if (table) rt.free(table);
  }
}

function matmulI32(
  rt: WasmRuntime,
  [a, b]: readonly WasmTensor[],
  attrs: MatmulAttrs,
  [y]: readonly WasmTensor[],
): void {
  const { m, k, n, batch } = matmulDims(a, b, attrs);
  if (y.size === 0) return;
  const offsets = batchOffsets(a.shape, b.shape, batch, m * k, k * n);
  const [ars, acs] = attrs.transposeA ? [1, m] : [k, 1];
  const [brs, bcs] = attrs.transposeB ? [1, k] : [n, 1];
  const table = offsets ? rt.record(offsets) : 0;
  try {
    rt.run('matmul_i32', [a.ptr, ars, acs, b.ptr, brs, bcs, y.ptr, m, n, k, table], sizeOf(batch) * m, n * k + 20);
  } finally {
    if (table) rt.free(table);
  }
}

const matmul = wasmKernel<MatmulAttrs>({
  op: 'matmul',
  ref: refKernels.matmul,
  accepts: ([a, b]) => a.dtype === b.dtype && (a.dtype === 'f32' || a.dtype === 'i32'),
  run(rt, inputs, attrs, outputs) {
    if (inputs[0].dtype === 'i32') matmulI32(rt, inputs, attrs, outputs);
    else matmulF32(rt, inputs, attrs, outputs);
  },
});

type Run = Kernel<unknown, WasmStorage>;

/** Two products through the GEMM, then the elementwise silu and mul: four wasm passes, one engine op. */
const swiglu: Kernel<Record<string, never>, WasmStorage> = ([x, wg, wu], _attrs, [out], backend) => {
  const product = matmul as unknown as Run;
  const silu = elementwise.silu as unknown as Run;
  const times = elementwise.mul as unknown as Run;
  const made: WasmStorage[] = [];
  const as = (storage: WasmStorage): KernelTensor<WasmStorage> => ({ storage, shape: out.shape, dtype: out.dtype });
  try {
    const transposed = { transposeA: false, transposeB: true };
    const [gate] = product([x, wg], transposed, [out], backend);
    made.push(gate);
    const [up] = product([x, wu], transposed, [out], backend);
    made.push(up);
    const [activated] = silu([as(gate)], {}, [out], backend);
    made.push(activated);
    return times([as(activated), as(up)], {}, [out], backend);
  } finally {
    for (const s of made) backend.free(s);
  }
};

export const wasmKernels = kernelTable({ matmul, swiglu });
