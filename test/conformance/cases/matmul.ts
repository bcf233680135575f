import * as T from '../../../index.js';
import { BF16, type OpCase } from '../harness.js';

const i32 = { dtype: 'i32' as const };

export const matmulCases: OpCase[] = [
  {
    name: 'matmul [7,33]·[33,5]',
    inputs: [{ shape: [7, 33] }, { shape: [33, 5] }],
    run: ([a, b]) => T.matmul(a, b),
    grad: true,
    dtypes: BF16,
  },
  {
    name: 'matmul batch broadcast [2,1,7,33]·[3,33,5]',
    inputs: [{ shape: [2, 1, 7, 33] }, { shape: [3, 33, 5] }],
    run: ([a, b]) => T.matmul(a, b),
    grad: true,
  },
  {
    name: 'matmul batch against a shared matrix [2,7,33]·[33,5]',
    inputs: [{ shape: [2, 7, 33] }, { shape: [33, 5] }],
    run: ([a, b]) => T.matmul(a, b),
    grad: true,
  },
  {
    name: 'matmul shared matrix transposed [2,7,33]·[5,33]ᵀ',
    inputs: [{ shape: [2, 7, 33] }, { shape: [5, 33] }],
    run: ([a, b]) => T.matmul(a, b, { transposeB: true }),
    grad: true,
  },
  {
    name: 'matmul shared matrix first [7,33]·[3,1,33,5]',
    inputs: [{ shape: [7, 33] }, { shape: [3, 1, 33, 5] }],
    run: ([a, b]) => T.matmul(a, b),
    grad: true,
  },
  {
    name: 'matmul transposeA [33,7]ᵀ·[2,33,5]',
    inputs: [{ shape: [33, 7] }, { shape: [2, 33, 5] }],
    run: ([a, b]) => T.matmul(a, b, { transposeA: true }),
    grad: true,
  },
  {
    name: 'matmul transposeA and transposeB [2,33,7]ᵀ·[5,33]ᵀ',
    inputs: [{ shape: [2, 33, 7] }, { shape: [5, 33] }],
    run: ([a, b]) => T.matmul(a, b, { transposeA: true, transposeB: true }),
    grad: true,
  },
  {
    name: 'matmul transposeB batch broadcast [3,1,7,33]·[2,5,33]ᵀ',
    inputs: [{ shape: [3, 1, 7, 33] }, { shape: [2, 5, 33] }],
    run: ([a, b]) => T.matmul(a, b, { transposeB: true }),
    grad: true,
  },
  {
    name: 'matmul K=257 [1,257]·[257,1]',
    inputs: [{ shape: [1, 257] }, { shape: [257, 1] }],
    run: ([a, b]) => T.matmul(a, b),
  },
  {
    name: 'matmul of a transposed view with a sliced view [7,33]·[33,5]',
    inputs: [
      { shape: [7, 33], layout: 'transposed' },
      { shape: [33, 5], layout: 'sliced' },
    ],
    run: ([a, b]) => T.matmul(a, b),
  },
  {
    name: 'matmul of an expanded batch [3,7,33]·[3,33,5]',
    inputs: [
      { shape: [3, 7, 33], layout: 'expanded' },
      { shape: [3, 33, 5], layout: 'transposed' },
    ],
    run: ([a, b]) => T.matmul(a, b),
  },
  {
    name: 'matmul vector·matrix [33]·[2,33,7]',
    inputs: [{ shape: [33] }, { shape: [2, 33, 7] }],
    run: ([a, b]) => T.matmul(a, b),
    grad: true,
  },
  {
    name: 'matmul matrix·vector [2,7,33]·[33]',
    inputs: [{ shape: [2, 7, 33] }, { shape: [33] }],
    run: ([a, b]) => T.matmul(a, b),
    grad: true,
  },
  {
    name: 'matmul vector·vector [257]',
    inputs: [{ shape: [257] }, { shape: [257] }],
    run: ([a, b]) => T.matmul(a, b),
    grad: true,
  },
  {
    name: 'matmul i32 [7,33]·[33,5]',
    inputs: [
      { shape: [7, 33], ...i32 },
      { shape: [33, 5], ...i32 },
    ],
    run: ([a, b]) => T.matmul(a, b),
    dtypes: ['f32'],
  },
  {
    name: 'linear [2,7,33] with weight [5,33] and bias [5]',
    inputs: [{ shape: [2, 7, 33] }, { shape: [5, 33] }, { shape: [5] }],
    run: ([x, w, b]) => T.linear(x, w, b),
    grad: true,
  },
  {
    name: 'linear [33] with weight [7,33], no bias',
    inputs: [{ shape: [33] }, { shape: [7, 33], layout: 'transposed' }],
    run: ([x, w]) => T.linear(x, w),
    grad: true,
  },
  {
    name: 'linear [7,257] with weight [1,257] and bias [1]',
    inputs: [{ shape: [7, 257] }, { shape: [1, 257] }, { shape: [1] }],
    run: ([x, w, b]) => T.linear(x, w, b),
  },
];

const rejected = (name: string, inputs: OpCase['inputs'], run: OpCase['run'], throws: RegExp): OpCase => ({
  name,
  inputs,
  run,
  throws,
  dtypes: ['f32'],
});

matmulCases.push(
  rejected(
    'matmul inner dims differ',
    [{ shape: [7, 33] }, { shape: [32, 5] }],
    ([a, b]) => T.matmul(a, b),
    /inner dimensions differ.*33 vs 32/,
  ),
  rejected(
    'matmul batch dims do not broadcast',
    [{ shape: [2, 7, 33] }, { shape: [3, 33, 5] }],
    ([a, b]) => T.matmul(a, b),
    /batch dims.*cannot broadcast/,
  ),
  rejected(
    'matmul f32 with f16',
    [{ shape: [7, 33] }, { shape: [33, 5], dtype: 'f16' }],
    ([a, b]) => T.matmul(a, b),
    /dtypes f32 and f16/,
  ),
  rejected(
    'matmul of u8',
    [
      { shape: [2, 2], dtype: 'u8' },
      { shape: [2, 2], dtype: 'u8' },
    ],
    ([a, b]) => T.matmul(a, b),
    /u8 is not supported/,
  ),
  rejected(
    'matmul with a scalar',
    [{ shape: [] }, { shape: [3, 3] }],
    ([a, b]) => T.matmul(a, b),
    /use mul for scalars/,
  ),
  rejected(
    'matmul transposeA of a vector',
    [{ shape: [33] }, { shape: [33, 5] }],
    ([a, b]) => T.matmul(a, b, { transposeA: true }),
    /vector has no axes to transpose/,
  ),
  rejected(
    'linear in-features differ',
    [{ shape: [7, 32] }, { shape: [5, 33] }],
    ([x, w]) => T.linear(x, w),
    /in-features 33/,
  ),
  rejected(
    'linear bias of the wrong size',
    [{ shape: [7, 33] }, { shape: [5, 33] }, { shape: [7] }],
    ([x, w, b]) => T.linear(x, w, b),
    /bias must be \[5\]/,
  ),
);
