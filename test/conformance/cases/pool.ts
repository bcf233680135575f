import * as T from '../../../index.js';
import type { OpCase } from '../harness.js';

export const poolCases: OpCase[] = [
  {
    name: 'maxPool2d [1,3,7,7] kernel 3, stride 2, padding 1',
    inputs: [{ shape: [1, 3, 7, 7] }],
    run: ([x]) => T.maxPool2d(x, 3, { stride: 2, padding: 1 }),
    grad: true,
  },
  {
    name: 'maxPool2d [2,4,9,9] kernel 2 (stride = kernel) of a transposed view',
    inputs: [{ shape: [2, 4, 9, 9], layout: 'transposed' }],
    run: ([x]) => T.maxPool2d(x, 2),
  },
  {
    name: 'maxPool2d dilation 2 [1,2,9,9] kernel 3, stride 1',
    inputs: [{ shape: [1, 2, 9, 9] }],
    run: ([x]) => T.maxPool2d(x, 3, { stride: 1, dilation: 2 }),
    grad: true,
  },
  {
    name: 'maxPool2d single row [1,1,1,257] kernel [1,3], stride [1,2]',
    inputs: [{ shape: [1, 1, 1, 257] }],
    run: ([x]) => T.maxPool2d(x, [1, 3], { stride: [1, 2] }),
    grad: true,
  },
  {
    name: 'maxPool2d ties pick the first, small ints [1,2,7,7] kernel 3, stride 1',
    inputs: [{ shape: [1, 2, 7, 7], kind: 'int', range: [0, 3] }],
    run: ([x]) => T.maxPool2d(x, 3, { stride: 1 }),
  },
  {
    name: 'maxPool2d same padding, stride 2 [1,2,8,8] kernel 3',
    inputs: [{ shape: [1, 2, 8, 8], layout: 'sliced' }],
    run: ([x]) => T.maxPool2d(x, 3, { stride: 2, padding: 'same' }),
  },
  {
    name: 'avgPool2d [1,3,7,7] kernel 3, stride 2, padding 1 (pads not counted)',
    inputs: [{ shape: [1, 3, 7, 7] }],
    run: ([x]) => T.avgPool2d(x, 3, { stride: 2, padding: 1 }),
    grad: true,
  },
  {
    name: 'avgPool2d [1,3,7,7] kernel 3, stride 2, padding 1, countIncludePad',
    inputs: [{ shape: [1, 3, 7, 7] }],
    run: ([x]) => T.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: true }),
    grad: true,
  },
  {
    name: 'avgPool2d [2,4,9,9] kernel 2 of a transposed view',
    inputs: [{ shape: [2, 4, 9, 9], layout: 'transposed' }],
    run: ([x]) => T.avgPool2d(x, 2),
  },
  {
    name: 'avgPool2d same padding (TF SAME) [1,2,8,7] kernel [3,2], stride 2',
    inputs: [{ shape: [1, 2, 8, 7] }],
    run: ([x]) => T.avgPool2d(x, [3, 2], { stride: 2, padding: 'same' }),
    grad: true,
  },
  {
    name: 'avgPool2d single row [1,1,1,257] kernel [1,4], stride [1,3], padding [0,0,2,1]',
    inputs: [{ shape: [1, 1, 1, 257] }],
    run: ([x]) => T.avgPool2d(x, [1, 4], { stride: [1, 3], padding: [0, 0, 2, 1] }),
    grad: true,
  },
  {
    name: 'globalAvgPool2d [2,7,5,5]',
    inputs: [{ shape: [2, 7, 5, 5] }],
    run: ([x]) => T.globalAvgPool2d(x),
    grad: true,
  },
];

const maxAttrs = { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], dilation: [1, 1] } as const;

// Gradient kernels run directly, so every backend's implementation of them is checked too.
poolCases.push(
  {
    name: 'avgPool2dGrad (avgPool2d vjp) [1,3,4,4] into [1,3,7,7]',
    inputs: [{ shape: [1, 3, 4, 4] }],
    run: ([g]) =>
      T.run1(T.avgPool2dGradOp, [g], {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1, 1, 1],
        countIncludePad: false,
        inputShape: [1, 3, 7, 7],
      }),
    grad: true,
  },
  {
    name: 'maxPool2dGrad (maxPool2d vjp) x [1,3,7,7], g [1,3,4,4]',
    inputs: [{ shape: [1, 3, 7, 7] }, { shape: [1, 3, 4, 4] }],
    run: ([x, g]) => T.run1(T.maxPool2dGradOp, [x, g], maxAttrs),
    grad: true,
  },
  {
    name: 'maxPool2dGrad with ties, small ints x [1,2,7,7], g [1,2,4,4]',
    inputs: [{ shape: [1, 2, 7, 7], kind: 'int', range: [0, 2] }, { shape: [1, 2, 4, 4] }],
    run: ([x, g]) => T.run1(T.maxPool2dGradOp, [x, g], maxAttrs),
  },
  {
    name: 'maxPool2dSelect (maxPool2dGrad vjp) x [2,2,7,7], v [2,2,7,7]',
    inputs: [{ shape: [2, 2, 7, 7] }, { shape: [2, 2, 7, 7] }],
    run: ([x, v]) => T.run1(T.maxPool2dSelectOp, [x, v], maxAttrs),
    grad: true,
  },
);

const f32 = ['f32'] as const;

poolCases.push(
  {
    name: 'maxPool2d kernel larger than the padded input rejected',
    inputs: [{ shape: [1, 1, 3, 3] }],
    run: ([x]) => T.maxPool2d(x, 4, { padding: [0, 0, 2, 2] }),
    throws: /larger than the padded input 3x7/,
    dtypes: f32,
  },
  {
    name: 'avgPool2d padding over half the kernel rejected',
    inputs: [{ shape: [1, 1, 5, 5] }],
    run: ([x]) => T.avgPool2d(x, 3, { padding: 2 }),
    throws: /at most half the 3x3 window/,
    dtypes: f32,
  },
  {
    name: 'avgPool2d of a 3-D input rejected',
    inputs: [{ shape: [3, 5, 5] }],
    run: ([x]) => T.avgPool2d(x, 2),
    throws: /input must be 4-D/,
    dtypes: f32,
  },
  {
    name: 'maxPool2d kernel 0 rejected',
    inputs: [{ shape: [1, 1, 5, 5] }],
    run: ([x]) => T.maxPool2d(x, [0, 2]),
    throws: /kernel must be an integer ≥ 1/,
    dtypes: f32,
  },
);
