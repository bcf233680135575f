import * as T from '../../../index.js';
import { DEFAULT_TOL, type InputSpec, type OpCase, type Tolerance } from '../harness.js';

/** Any u32 word is a valid packed row: every bit pattern is a code sequence. */
const words = (shape: readonly number[]): InputSpec => ({ shape, dtype: 'u32', kind: 'int', range: [0, 2 ** 32] });
const scales = (shape: readonly number[], dtype: T.DType): InputSpec => ({
  shape,
  dtype,
  kind: 'uniform',
  range: [-0.05, 0.05],
});
const biases = (shape: readonly number[], dtype: T.DType): InputSpec => ({
  shape,
  dtype,
  kind: 'uniform',
  range: [-1, 1],
});

function packed(rows: number, cols: number, bits: number, groupSize: number, dtype: T.DType): InputSpec[] {
  const groups = [rows, cols / groupSize];
  return [words([rows, (cols * bits) / 32]), scales(groups, dtype), biases(groups, dtype)];
}

function weightOf([weight, s, b]: T.Tensor[], bits: number, groupSize: number): T.QuantizedWeight {
  return { weight, scales: s, biases: b, bits: bits as T.QuantBits, groupSize: groupSize as T.QuantGroupSize };
}

/**
 * The tolerance of a quantized product summing `terms` products: as sumOfTerms (harness.ts), scaled by the
 * largest dequantized weight these inputs give (|code·scale + bias| ≤ (2^bits − 1)·0.05 + 1), since the
 * kernels add the terms in another order than the reference (and fold the bias in as bias·Σx).
 */
function qTol(terms: number, bits: number): Partial<Record<T.DType, Tolerance>> {
  const maxWeight = (2 ** bits - 1) * 0.05 + 1;
  return { f32: { rtol: DEFAULT_TOL.f32.rtol, atol: 1e-7 * terms * maxWeight } };
}

const TOKENS = [1, 7, 33, 257];
const pairs = T.QUANT_BITS.flatMap((bits) => T.QUANT_GROUP_SIZES.map((groupSize) => ({ bits, groupSize })));

/** Every bits × group pair: quantize, and a decode- or prefill-shaped matmul with f32 or f16 scales. */
const perPair: OpCase[] = pairs.flatMap(({ bits, groupSize }, i) => {
  const tokens = TOKENS[i % TOKENS.length];
  const scaleDType = i % 2 === 0 ? 'f32' : 'f16';
  const k = 256;
  const n = i % 3 === 0 ? 33 : 7;
  return [
    {
      name: `quantize [7,256] at ${bits} bits, group ${groupSize}`,
      inputs: [{ shape: [7, 256], dtype: 'f32' }],
      run: ([w]) => {
        const q = T.quantize(w, { bits, groupSize });
        return [q.weight, q.scales, q.biases];
      },
      dtypes: ['f32'],
    },
    {
      name: `quantizedMatmul [${tokens},${k}]·Wᵀ [${n},${k}] at ${bits} bits, group ${groupSize}, ${scaleDType} scales`,
      inputs: [{ shape: [tokens, k] }, ...packed(n, k, bits, groupSize, scaleDType)],
      run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, bits, groupSize)),
      tol: qTol(k, bits),
    },
  ] satisfies OpCase[];
});

const more: OpCase[] = [
  {
    name: 'quantize f16 [33,128] at 4 bits, group 64 (f16 scales)',
    inputs: [{ shape: [33, 128], dtype: 'f16' }],
    run: ([w]) => {
      const q = T.quantize(w, { bits: 4, groupSize: 64 });
      return [q.weight, q.scales, q.biases];
    },
    dtypes: ['f32'],
  },
  {
    name: 'quantize bf16 [2,3,96] at 3 bits, group 32 (bf16 scales, batch dims)',
    inputs: [{ shape: [2, 3, 96], dtype: 'bf16' }],
    run: ([w]) => {
      const q = T.quantize(w, { bits: 3, groupSize: 32 });
      return [q.weight, q.scales, q.biases];
    },
    dtypes: ['f32'],
  },
  {
    name: 'dequantize [7,256] at 5 bits, group 32, f32 scales',
    inputs: packed(7, 256, 5, 32, 'f32'),
    run: (q) => T.dequantize(weightOf(q, 5, 32)),
    dtypes: ['f32'],
  },
  {
    name: 'dequantize [2,33,128] at 6 bits, group 64, f16 scales (batch dims)',
    inputs: [words([2, 33, 24]), scales([2, 33, 2], 'f16'), biases([2, 33, 2], 'f16')],
    run: (q) => T.dequantize(weightOf(q, 6, 64)),
    dtypes: ['f32'],
  },
  {
    name: 'dequantize [1,128] at 2 bits, group 128, bf16 scales',
    inputs: packed(1, 128, 2, 128, 'bf16'),
    run: (q) => T.dequantize(weightOf(q, 2, 128)),
    dtypes: ['f32'],
  },
  {
    name: 'quantizedMatmul batch [2,7,64]·Wᵀ [257,64] at 8 bits, group 32, grad',
    inputs: [{ shape: [2, 7, 64] }, ...packed(257, 64, 8, 32, 'f32')],
    run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, 8, 32)),
    grad: true,
    tol: qTol(257, 8),
  },
  {
    name: 'quantizedMatmul [7,96]·Wᵀ [1,96] at 3 bits, group 32, f16 scales, grad',
    inputs: [{ shape: [7, 96] }, ...packed(1, 96, 3, 32, 'f16')],
    run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, 3, 32)),
    grad: true,
    tol: qTol(96, 3),
  },
  {
    name: 'quantizedMatmul without transpose [33,128]·W [128,64] at 4 bits, group 64, grad',
    inputs: [{ shape: [33, 128] }, ...packed(128, 64, 4, 64, 'f32')],
    run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, 4, 64), { transpose: false }),
    grad: true,
    tol: qTol(128, 4),
  },
  {
    name: 'quantizedMatmul without transpose [1,33]·W [33,128] at 6 bits, group 128, f16 scales',
    inputs: [{ shape: [1, 33] }, ...packed(33, 128, 6, 128, 'f16')],
    run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, 6, 128), { transpose: false }),
    tol: qTol(33, 6),
  },
  {
    name: 'quantizedMatmul of a transposed x view [7,64]·Wᵀ [33,64] at 5 bits, bf16 scales',
    inputs: [{ shape: [7, 64], layout: 'transposed' }, ...packed(33, 64, 5, 64, 'bf16')],
    run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, 5, 64)),
    dtypes: ['f32', 'f16', 'bf16'],
    tol: { ...qTol(64, 5), bf16: { rtol: 5e-2, atol: 5e-2 } },
  },
  {
    name: 'quantizedMatmul vector [256]·Wᵀ [7,256] at 2 bits, group 32',
    inputs: [{ shape: [256] }, ...packed(7, 256, 2, 32, 'f32')],
    run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, 2, 32)),
    tol: qTol(256, 2),
  },
  {
    name: 'quantizedEmbedding [33,128] table by [2,7] ids at 4 bits, group 32',
    inputs: [...packed(33, 128, 4, 32, 'f32'), { shape: [2, 7], dtype: 'i32', kind: 'int', range: [-33, 33] }],
    run: ([w, s, b, ids]) => T.quantizedEmbedding(ids, weightOf([w, s, b], 4, 32)),
    dtypes: ['f32'],
  },
  {
    name: 'quantizedEmbedding [257,64] table by [257] ids at 3 bits, group 64, f16 scales',
    inputs: [...packed(257, 64, 3, 64, 'f16'), { shape: [257], dtype: 'i32', kind: 'int', range: [0, 257] }],
    run: ([w, s, b, ids]) => T.quantizedEmbedding(ids, weightOf([w, s, b], 3, 64)),
    dtypes: ['f32'],
  },
  {
    name: 'quantizedEmbedding of one id [1] at 6 bits, group 128, bf16 scales',
    inputs: [...packed(7, 128, 6, 128, 'bf16'), { shape: [1], dtype: 'i32', kind: 'int', range: [0, 7] }],
    run: ([w, s, b, ids]) => T.quantizedEmbedding(ids, weightOf([w, s, b], 6, 128)),
    dtypes: ['f32'],
  },
  {
    name: 'quantizedEmbedding id out of range rejected',
    inputs: [...packed(7, 64, 4, 64, 'f32'), { shape: [2], dtype: 'i32', kind: 'int', range: [7, 9] }],
    run: ([w, s, b, ids]) => T.quantizedEmbedding(ids, weightOf([w, s, b], 4, 64)),
    throws: /id \d+ is out of range for a table of 7 rows/,
    dtypes: ['f32'],
  },
  {
    name: 'quantize of a non-finite weight rejected',
    inputs: [{ shape: [2, 64], dtype: 'f32', kind: 'uniform', range: [1e38, 3.4e38] }],
    run: ([w]) =>
      T.tidy(() => {
        const q = T.quantize(T.mul(w, 10), { bits: 4, groupSize: 64 });
        return [q.weight, q.scales, q.biases];
      }),
    throws: /quantize: weight element \d+ is Infinity; quantization needs finite weights/,
    dtypes: ['f32'],
  },
  {
    name: 'quantizedMatmul with mismatched K rejected',
    inputs: [{ shape: [7, 96] }, ...packed(5, 64, 4, 32, 'f32')],
    run: ([x, ...q]) => T.quantizedMatmul(x, weightOf(q, 4, 32)),
    throws: /inner dimensions differ \(96 vs 64\)/,
    dtypes: ['f32'],
  },
];

export const quantCases: OpCase[] = [...perPair, ...more];
