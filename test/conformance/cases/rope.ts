import * as T from '../../../index.js';
import type { OpCase } from '../harness.js';

export const ropeCases: OpCase[] = [
  {
    name: 'rope halves (HF) [1,4,7,16]',
    inputs: [{ shape: [1, 4, 7, 16] }],
    run: ([x]) => T.rope(x),
    grad: true,
  },
  {
    name: 'rope traditional (llama2.c) [2,2,7,8] offset 5',
    inputs: [{ shape: [2, 2, 7, 8] }],
    run: ([x]) => T.rope(x, { traditional: true, offset: 5 }),
    grad: true,
  },
  {
    name: 'rope inverse traditional [1,2,7,16] offset 3',
    inputs: [{ shape: [1, 2, 7, 16] }],
    run: ([x]) => T.rope(x, { traditional: true, offset: 3, inverse: true }),
    grad: true,
  },
  {
    name: 'rope partial dims 6 of 10, base 500, scale 0.5 [1,2,7,10]',
    inputs: [{ shape: [1, 2, 7, 10] }],
    run: ([x]) => T.rope(x, { dims: 6, base: 500, scale: 0.5 }),
    grad: true,
  },
  {
    name: 'rope traditional partial dims 4 of odd D 9 [2,1,33,9]',
    inputs: [{ shape: [2, 1, 33, 9] }],
    run: ([x]) => T.rope(x, { traditional: true, dims: 4 }),
    grad: true,
  },
  {
    // Angles reach 256 rad: an f32 kernel that forms position·theta in f32 rounds the angle
    // by ~256·2⁻²⁴·few ≈ 5e-5 rad, which moves outputs of size ~3 by up to ~1.5e-4.
    name: 'rope 257-long sequence traditional [1,1,257,8]',
    inputs: [{ shape: [1, 1, 257, 8] }],
    run: ([x]) => T.rope(x, { traditional: true }),
    tol: { f32: { rtol: 2e-5, atol: 1.5e-4 } },
  },
  {
    name: 'rope decode step T=1 offset 40 [2,4,1,16]',
    inputs: [{ shape: [2, 4, 1, 16] }],
    run: ([x]) => T.rope(x, { offset: 40 }),
  },
  {
    name: 'rope of a transposed view [1,4,7,16]',
    inputs: [{ shape: [1, 4, 7, 16], layout: 'transposed' }],
    run: ([x]) => T.rope(x, { traditional: true }),
  },
  {
    name: 'rope of a sliced view [2,7,8] (rank 3)',
    inputs: [{ shape: [2, 7, 8], layout: 'sliced' }],
    run: ([x]) => T.rope(x, { offset: 2 }),
  },
  {
    name: 'rope odd feature size rejected',
    inputs: [{ shape: [1, 1, 7, 9] }],
    run: ([x]) => T.rope(x),
    throws: /dims 9 must be an even integer/,
    dtypes: ['f32'],
  },
  {
    name: 'rope dims larger than D rejected',
    inputs: [{ shape: [1, 1, 7, 8] }],
    run: ([x]) => T.rope(x, { dims: 10 }),
    throws: /dims 10 must be an even integer between 2 and the feature size 8/,
    dtypes: ['f32'],
  },
  {
    name: 'rope negative offset rejected',
    inputs: [{ shape: [1, 1, 7, 8] }],
    run: ([x]) => T.rope(x, { offset: -1 }),
    throws: /offset -1 must be a non-negative integer/,
    dtypes: ['f32'],
  },
  {
    name: 'rope of a vector rejected',
    inputs: [{ shape: [8] }],
    run: ([x]) => T.rope(x),
    throws: /x must be \[\.\.\., T, D\]/,
    dtypes: ['f32'],
  },
  {
    name: 'rope of integers rejected',
    inputs: [{ shape: [1, 7, 8], dtype: 'i32' }],
    run: ([x]) => T.rope(x),
    throws: /rope: needs a float tensor, got i32/,
    dtypes: ['f32'],
  },
];
