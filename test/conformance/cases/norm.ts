import * as T from '../../../index.js';
import { BF16, LARGE_OFFSET, type OpCase } from '../harness.js';

const rejected = (name: string, inputs: OpCase['inputs'], run: OpCase['run'], throws: RegExp): OpCase => ({
  name,
  inputs,
  run,
  throws,
  dtypes: ['f32'],
});

const layerNorm: OpCase[] = [
  {
    name: 'layerNorm [7,33] with weight and bias',
    inputs: [{ shape: [7, 33] }, { shape: [33] }, { shape: [33] }],
    run: ([x, w, b]) => T.layerNorm(x, w, b),
    grad: true,
    dtypes: BF16,
  },
  { name: 'layerNorm [257] without affine', inputs: [{ shape: [257] }], run: ([x]) => T.layerNorm(x), grad: true },
  {
    name: 'layerNorm transposed [2,7,33] with weight only, eps 1e-3',
    inputs: [{ shape: [2, 7, 33], layout: 'transposed' }, { shape: [33] }],
    run: ([x, w]) => T.layerNorm(x, w, undefined, 1e-3),
    grad: true,
  },
  {
    name: 'layerNorm sliced [7,33] with bias only',
    inputs: [{ shape: [7, 33], layout: 'sliced' }, { shape: [33] }],
    run: ([x, b]) => T.layerNorm(x, undefined, b),
    grad: true,
  },
  {
    name: 'layerNorm of one feature [33,1] gives the bias',
    inputs: [{ shape: [33, 1] }, { shape: [1] }, { shape: [1] }],
    run: ([x, w, b]) => T.layerNorm(x, w, b),
  },
  {
    // A large common offset: a one-pass E[x²] − E[x]² would cancel catastrophically in f32.
    name: 'layerNorm of values near 100, [7,257]',
    inputs: [{ shape: [7, 257], kind: 'uniform', range: [99, 101] }],
    run: ([x]) => T.layerNorm(x),
    tol: LARGE_OFFSET,
  },
];

const rmsNorm: OpCase[] = [
  {
    name: 'rmsNorm [7,33] with weight',
    inputs: [{ shape: [7, 33] }, { shape: [33] }],
    run: ([x, w]) => T.rmsNorm(x, w),
    grad: true,
    dtypes: BF16,
  },
  { name: 'rmsNorm [257] without weight', inputs: [{ shape: [257] }], run: ([x]) => T.rmsNorm(x), grad: true },
  {
    name: 'rmsNorm sliced [2,7,257] with weight, eps 1e-6',
    inputs: [{ shape: [2, 7, 257], layout: 'sliced' }, { shape: [257] }],
    run: ([x, w]) => T.rmsNorm(x, w, 1e-6),
  },
  {
    name: 'rmsNorm of an expanded batch [3,1,33]',
    inputs: [{ shape: [3, 1, 33], layout: 'expanded' }, { shape: [33] }],
    run: ([x, w]) => T.rmsNorm(x, w),
  },
];

const groupNorm: OpCase[] = [
  {
    name: 'groupNorm [2,6,7,3] in 3 groups with weight and bias',
    inputs: [{ shape: [2, 6, 7, 3] }, { shape: [6] }, { shape: [6] }],
    run: ([x, w, b]) => T.groupNorm(x, 3, w, b),
    grad: true,
  },
  {
    name: 'groupNorm [2,4,33] in 1 group',
    inputs: [{ shape: [2, 4, 33] }],
    run: ([x]) => T.groupNorm(x, 1),
    grad: true,
  },
  {
    name: 'groupNorm [3,33] (no spatial axes) in 3 groups with weight',
    inputs: [{ shape: [3, 33] }, { shape: [33] }],
    run: ([x, w]) => T.groupNorm(x, 3, w),
    grad: true,
  },
  {
    name: 'groupNorm transposed [1,4,7,33] in 2 groups with bias, eps 1e-2',
    inputs: [{ shape: [1, 4, 7, 33], layout: 'transposed' }, { shape: [4] }],
    run: ([x, b]) => T.groupNorm(x, 2, undefined, b, 1e-2),
    grad: true,
  },
  {
    name: 'groupNorm [1,257,2] with one channel per group',
    inputs: [{ shape: [1, 257, 2] }, { shape: [257] }, { shape: [257] }],
    run: ([x, w, b]) => T.groupNorm(x, 257, w, b),
    // Two elements a group: the variance is often far below eps, so outputs are about
    // (x − mean)/√eps, and an f32 mean's half-ulp error (up to 1.2e-7 for |x| < 2; kernels
    // without f64, e.g. WebGPU) is amplified 316×.
    tol: { f32: { rtol: 2e-5, atol: 1e-4 } },
  },
];

const instanceNorm: OpCase[] = [
  {
    name: 'instanceNorm [2,3,7,5] with per-channel scale and shift [3]',
    inputs: [{ shape: [2, 3, 7, 5] }, { shape: [3] }, { shape: [3] }],
    run: ([x, s, t]) => T.instanceNorm(x, s, t),
    grad: true,
  },
  {
    name: 'instanceNorm [2,3,7,5] conditional: scale and shift [2,3]',
    inputs: [{ shape: [2, 3, 7, 5] }, { shape: [2, 3] }, { shape: [2, 3] }],
    run: ([x, s, t]) => T.instanceNorm(x, s, t),
    grad: true,
  },
  {
    name: 'instanceNorm [2,3,33] mixed: scale [3], shift [2,3]',
    inputs: [{ shape: [2, 3, 33] }, { shape: [3] }, { shape: [2, 3] }],
    run: ([x, s, t]) => T.instanceNorm(x, s, t),
    grad: true,
  },
  {
    name: 'instanceNorm [1,2,7,33] transposed, no affine',
    inputs: [{ shape: [1, 2, 7, 33], layout: 'transposed' }],
    run: ([x]) => T.instanceNorm(x),
    grad: true,
  },
  {
    // Rows of 289: long enough for a workgroup per row on WebGPU, with a common offset.
    name: 'instanceNorm [1,3,17,17] of values near 100 with scale and shift [3]',
    inputs: [{ shape: [1, 3, 17, 17], kind: 'uniform', range: [99, 101] }, { shape: [3] }, { shape: [3] }],
    run: ([x, s, t]) => T.instanceNorm(x, s, t),
    tol: LARGE_OFFSET,
  },
  {
    name: 'instanceNorm [1,7,257,1] sliced with scale [1,7] only',
    inputs: [{ shape: [1, 7, 257, 1] }, { shape: [1, 7], layout: 'sliced' }],
    run: ([x, s]) => T.instanceNorm(x, s),
    grad: true,
  },
];

const throwing: OpCase[] = [
  rejected(
    'layerNorm weight of the wrong size',
    [{ shape: [7, 33] }, { shape: [7] }],
    ([x, w]) => T.layerNorm(x, w),
    /weight \[7\] must be \[33\]/,
  ),
  rejected(
    'layerNorm negative eps',
    [{ shape: [7, 33] }],
    ([x]) => T.layerNorm(x, undefined, undefined, -1),
    /eps must be/,
  ),
  rejected(
    'layerNorm weight f16 with x f32',
    [{ shape: [7, 33] }, { shape: [33], dtype: 'f16' }],
    ([x, w]) => T.layerNorm(x, w),
    /cast weight to f32/,
  ),
  rejected(
    'rmsNorm of i32',
    [{ shape: [7, 33], dtype: 'i32' }],
    ([x]) => T.rmsNorm(x),
    /needs a float tensor, got i32/,
  ),
  rejected('rmsNorm of a scalar', [{ shape: [] }], ([x]) => T.rmsNorm(x), /at least one axis/),
  rejected(
    'groupNorm groups not dividing C',
    [{ shape: [2, 6, 7] }],
    ([x]) => T.groupNorm(x, 4),
    /groups 4 must be a positive integer dividing the 6 channels/,
  ),
  rejected(
    'groupNorm bias [C+1]',
    [{ shape: [2, 6, 7] }, { shape: [7] }],
    ([x, b]) => T.groupNorm(x, 3, undefined, b),
    /bias \[7\] must be \[6\]/,
  ),
  rejected('instanceNorm of [N,C]', [{ shape: [2, 3] }], ([x]) => T.instanceNorm(x), /must be \[N, C, spatial/),
  rejected(
    'instanceNorm scale [N+1,C]',
    [{ shape: [2, 3, 7] }, { shape: [3, 3] }],
    ([x, s]) => T.instanceNorm(x, s),
    /scale \[3, 3\] must be \[3\] or \[2, 3\]/,
  ),
];

export const normCases: OpCase[] = [...layerNorm, ...rmsNorm, ...groupNorm, ...instanceNorm, ...throwing];
