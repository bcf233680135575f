/**
 * wasm MLX affine quantization (kernels/quant/wasm.as): quantize in exact f32, the decode
 * matrix-vector product over packed words (SIMD: four codes masked in place and scaled), the
 * prefill product through the wasm GEMM on per-thread blocks of dequantized rows, dequantize
 * and embedding rows. f16/bf16 scales arrive widened to f32; words and ids are taken as stored.
 */
import { viewOf } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import { NS_PER_FLOP, type WasmRuntime } from '../../backends/wasm/runtime.js';
import type { TensorInfo } from '../../core/backend.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import type { QuantAttrs, QuantizedMatmulAttrs } from './quant.js';
import { idRangeMessage, nonFiniteMessage, refKernels } from './ref.js';

/** Rows of x up to which the product streams the packed rows once per row of x (decode). */
const MATVEC_ROWS = 4;
/** Output columns per GEMM unit: the rows (or columns) of W a thread dequantizes at once. */
const CHUNK = 64;
/** B_MATRIX in kernels/matmul/wasm.as: B[p, j] = ptr[p·rs + j·cs]. */
const B_MATRIX = 0;

/** Inputs the kernels take after widening: f32 values, u32 words, i32 ids, at these positions. */
function takes(positions: Readonly<Record<number, string>>) {
  return (inputs: readonly TensorInfo[]): boolean => inputs.every((t, i) => t.dtype === (positions[i] ?? 'f32'));
}

const quantize = wasmKernel<QuantAttrs>({
  op: 'quantize',
  ref: refKernels.quantize,
  accepts: takes({}),
  run(rt, [w], { bits, groupSize }, [words, scales, biases]) {
    const values = viewOf(rt, 'f32', w.ptr, w.size) as Float32Array;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new DTypeError(nonFiniteMessage(i, values[i]));
    }
    rt.run('quant_quantize', [w.ptr, words.ptr, scales.ptr, biases.ptr, groupSize, bits], scales.size, groupSize * 12);
  },
});

const dequantize = wasmKernel<QuantAttrs>({
  op: 'dequantize',
  ref: refKernels.dequantize,
  accepts: takes({ 0: 'u32' }),
  run(rt, [wq, scales, biases], { bits, groupSize }, [y]) {
    const cols = y.shape[y.shape.length - 1];
    rt.run('quant_dequantize', [wq.ptr, scales.ptr, biases.ptr, y.ptr, cols, groupSize, bits], y.size / cols, cols);
  },
});

/** Σx over each group of each row of x: the bias term of a group is bias·Σx. */
function groupSums(rt: WasmRuntime, x: WasmTensor, m: number, k: number, groupSize: number): number {
  const values = viewOf(rt, 'f32', x.ptr, m * k) as Float32Array;
  const groups = k / groupSize;
  const sums = new Float32Array(m * groups);
  for (let i = 0; i < m; i++) {
    for (let g = 0; g < groups; g++) {
      let acc = 0;
      for (let j = 0; j < groupSize; j++) acc += values[i * k + g * groupSize + j];
      sums[i * groups + g] = acc;
    }
  }
  const ptr = rt.alloc(sums.byteLength);
  new Float32Array(rt.buffer, ptr, sums.length).set(sums);
  return ptr;
}

const quantizedMatmul = wasmKernel<QuantizedMatmulAttrs>({
  op: 'quantizedMatmul',
  ref: refKernels.quantizedMatmul,
  accepts: takes({ 1: 'u32' }),
  run(rt, [x, wq, scales, biases], { bits, groupSize, transpose }, [y]) {
    const k = x.shape[x.shape.length - 1];
    const n = y.shape[y.shape.length - 1];
    const m = x.size / k;
    if (transpose && m <= MATVEC_ROWS) {
      const sums = groupSums(rt, x, m, k, groupSize);
      try {
        const args = [x.ptr, wq.ptr, scales.ptr, biases.ptr, sums, y.ptr, m, n, k, groupSize, bits];
        rt.run('quant_matvec', args, n, m * k * 0.6);
      } finally {
        rt.free(sums);
      }
      return;
    }
    // One block of CHUNK dequantized rows (or columns) of W and one B descriptor per thread.
    const threads = rt.threads;
    const blockBytes = CHUNK * k * 4;
    const tmp = rt.alloc(threads * blockBytes);
    const descs = rt.record(
      Array.from({ length: threads }, (_, t) => [
        B_MATRIX,
        tmp + t * blockBytes,
        transpose ? 1 : CHUNK,
        transpose ? k : 1,
      ]).flat(),
    );
    try {
      const args = [
        x.ptr,
        wq.ptr,
        scales.ptr,
        biases.ptr,
        y.ptr,
        m,
        n,
        k,
        groupSize,
        bits,
        transpose ? 1 : 0,
        tmp,
        descs,
        CHUNK,
      ];
      rt.run('quant_gemm', args, Math.ceil(n / CHUNK), CHUNK * k * (4 + 2 * m * NS_PER_FLOP));
    } finally {
      rt.free(descs);
      rt.free(tmp);
    }
  },
});

const quantizedEmbedding = wasmKernel<QuantAttrs>({
  op: 'quantizedEmbedding',
  ref: refKernels.quantizedEmbedding,
  accepts: takes({ 0: 'u32', 3: 'i32' }),
  run(rt, [wq, scales, biases, ids], { bits, groupSize }, [y]) {
    const vocab = wq.shape[0];
    const dims = y.shape[y.shape.length - 1];
    const given = viewOf(rt, 'i32', ids.ptr, ids.size) as Int32Array;
    const rows = new Int32Array(given.length);
    for (let t = 0; t < given.length; t++) {
      const id = given[t];
      if (id < -vocab || id >= vocab) throw new ShapeError(idRangeMessage(id, vocab));
      rows[t] = id < 0 ? id + vocab : id;
    }
    const table = rt.record(Array.from(rows));
    try {
      const args = [wq.ptr, scales.ptr, biases.ptr, table, y.ptr, dims, groupSize, bits];
      rt.run('quant_embedding', args, rows.length, dims);
    } finally {
      rt.free(table);
    }
  },
});

export const wasmKernels = kernelTable({ quantize, dequantize, quantizedMatmul, quantizedEmbedding });
