/**
 * Native matmul: the packed AVX-512/AVX2/NEON GEMM in native.cc, one call for the whole
 * broadcast batch (batch offsets computed here). f16 is computed in f32; i32 runs the
 * reference. On macOS with EAI_NATIVE_METAL=1 a large product goes to MPS (backends/native/apple.ts).
 */
import type { F32 } from '../../backends/native/addon.js';
import { enabledApple } from '../../backends/native/apple.js';
import { f32, kernelTable, nativeKernel, overwrittenF32 } from '../../backends/native/kernel.js';
import { broadcastStrides, sizeOf } from '../../core/shape.js';
import { type MatmulAttrs, matmulDims } from './matmul.js';
import { refKernels } from './ref.js';

/** The functions kernels/matmul/native.cc adds to the addon: batch t multiplies a[aOffsets[t]…] by b[bOffsets[t]…]. */
export interface NativeFunctions {
  matmul(
    a: F32,
    b: F32,
    c: F32,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    aOffsets: number[],
    bOffsets: number[],
  ): void;
  matmulAsync(
    a: F32,
    b: F32,
    c: F32,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    aOffsets: number[],
    bOffsets: number[],
  ): Promise<F32>;
  /** y [rows, hidden] = silu(x·wgᵀ) ⊙ (x·wuᵀ) for x [rows, k] and weights [hidden, k]. */
  swiglu(x: F32, wg: F32, wu: F32, y: F32, rows: number, k: number, hidden: number): void;
}

/** Element offsets of each batch's matrix in a and b (0 stride where a batch dim broadcasts). */
export function batchOffsets(
  aShape: readonly number[],
  bShape: readonly number[],
  batch: readonly number[],
  aMatrix: number,
  bMatrix: number,
): { a: number[]; b: number[] } {
  const aStrides = broadcastStrides(aShape.slice(0, -2), batch);
  const bStrides = broadcastStrides(bShape.slice(0, -2), batch);
  const count = sizeOf(batch);
  const a = new Array<number>(count);
  const b = new Array<number>(count);
  const index = new Array<number>(batch.length).fill(0);
  for (let t = 0; t < count; t++) {
    let ai = 0;
    let bi = 0;
    for (let d = 0; d < batch.length; d++) {
      ai += index[d] * aStrides[d];
      bi += index[d] * bStrides[d];
    }
    a[t] = ai * aMatrix;
    b[t] = bi * bMatrix;
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  return { a, b };
}

/** Products at least this large (m·k·n) go to MPS on Macs where the addon has it. */
const MPS_MIN_WORK = 1 << 24;

const matmul = nativeKernel<MatmulAttrs>({
  op: 'matmul',
  attrs: ['transposeA', 'transposeB'],
  ref: refKernels.matmul,
  run(addon, [a, b], attrs, [out]) {
    const { m, k, n, batch } = matmulDims(a, b, attrs);
    const { transposeA, transposeB } = attrs;
    if (typeof transposeA !== 'boolean' || typeof transposeB !== 'boolean') {
      throw new TypeError(`native matmul: transposeA/transposeB must be booleans, got ${transposeA}, ${transposeB}`);
    }
    // sgemm writes every element (k = 0 clears them).
    const y = overwrittenF32(sizeOf(out.shape));
    const offsets = batchOffsets(a.shape, b.shape, batch, m * k, k * n);
    const apple = offsets.a.length === 1 && m * k * n >= MPS_MIN_WORK ? enabledApple(addon) : null;
    if (apple) {
      apple.mpsMatmul(f32(a.data), f32(b.data), y, m, k, n, transposeA, transposeB);
      return [y];
    }
    addon.matmul(f32(a.data), f32(b.data), y, m, k, n, transposeA, transposeB, offsets.a, offsets.b);
    return [y];
  },
});

const swiglu = nativeKernel<Record<string, never>>({
  op: 'swiglu',
  attrs: [],
  ref: refKernels.swiglu,
  run(addon, [x, wg, wu], _attrs, [out]) {
    const [hidden, k] = wg.shape;
    const y = overwrittenF32(sizeOf(out.shape));
    addon.swiglu(f32(x.data), f32(wg.data), f32(wu.data), y, k === 0 ? 0 : x.data.length / k, k, hidden);
    return [y];
  },
});

export const nativeKernels = kernelTable({ matmul, swiglu });
