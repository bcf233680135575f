import * as T from '../../../index.js';
import type { OpCase } from '../harness.js';

export const imageCases: OpCase[] = [
  {
    name: 'resize nearest ×2 [1,3,7,5] → [14,10] (Johnson upsampling)',
    inputs: [{ shape: [1, 3, 7, 5] }],
    run: ([x]) => T.resize(x, [14, 10]),
    grad: true,
  },
  {
    name: 'resize nearest down [2,3,7,7] → [3,4]',
    inputs: [{ shape: [2, 3, 7, 7] }],
    run: ([x]) => T.resize(x, [3, 4]),
    grad: true,
  },
  {
    name: 'resize nearest halfPixelCenters [1,2,5,7] → [9,4] of a transposed view',
    inputs: [{ shape: [1, 2, 5, 7], layout: 'transposed' }],
    run: ([x]) => T.resize(x, [9, 4], { halfPixelCenters: true }),
    grad: true,
  },
  {
    name: 'resize nearest alignCorners [1,2,5,7] → [9,13]',
    inputs: [{ shape: [1, 2, 5, 7] }],
    run: ([x]) => T.resize(x, [9, 13], { alignCorners: true }),
    grad: true,
  },
  {
    name: 'resize bilinear (half pixel) [1,3,7,5] → [13,11] of a transposed view',
    inputs: [{ shape: [1, 3, 7, 5], layout: 'transposed' }],
    run: ([x]) => T.resize(x, [13, 11], { mode: 'bilinear' }),
    grad: true,
  },
  {
    name: 'resize bilinear alignCorners [1,2,7,7] → [5,12]',
    inputs: [{ shape: [1, 2, 7, 7] }],
    run: ([x]) => T.resize(x, [5, 12], { mode: 'bilinear', alignCorners: true }),
    grad: true,
  },
  {
    name: 'resize bilinear asymmetric (TF legacy) [2,2,4,4] → [7,9] of a sliced view',
    inputs: [{ shape: [2, 2, 4, 4], layout: 'sliced' }],
    run: ([x]) => T.resize(x, [7, 9], { mode: 'bilinear', halfPixelCenters: false }),
    grad: true,
  },
  {
    name: 'resize bilinear single row [1,1,1,257] → [1,33]',
    inputs: [{ shape: [1, 1, 1, 257] }],
    run: ([x]) => T.resize(x, [1, 33], { mode: 'bilinear' }),
    grad: true,
  },
  {
    name: 'resize bilinear to 1x1 [1,2,5,4] → [1,1], half pixel and alignCorners',
    inputs: [{ shape: [1, 2, 5, 4] }],
    run: ([x]) =>
      T.tidy(() =>
        T.concat(
          [T.resize(x, [1, 1], { mode: 'bilinear' }), T.resize(x, [1, 1], { mode: 'bilinear', alignCorners: true })],
          1,
        ),
      ),
    grad: true,
  },
  // WebGPU runs resize on a grid of 32×8-pixel workgroups per plane: outputs spanning
  // several in both directions, with ragged edges.
  {
    name: 'resize nearest ×2 [1,3,33,40] → [66,80]',
    inputs: [{ shape: [1, 3, 33, 40] }],
    run: ([x]) => T.resize(x, [66, 80]),
  },
  {
    name: 'resize bilinear [2,1,7,257] → [17,300]',
    inputs: [{ shape: [2, 1, 7, 257] }],
    run: ([x]) => T.resize(x, [17, 300], { mode: 'bilinear' }),
  },
  {
    // More planes than one grid dimension holds (65535 workgroups): the shader loops over the rest.
    name: 'resize nearest of 65537 planes [1,65537,1,1] → [2,1]',
    inputs: [{ shape: [1, 65537, 1, 1] }],
    run: ([x]) => T.resize(x, [2, 1]),
    dtypes: ['f32'],
  },
  {
    name: 'resize expanded batch [3,2,4,4] → [8,8] bilinear',
    inputs: [{ shape: [3, 2, 4, 4], layout: 'expanded' }],
    run: ([x]) => T.resize(x, [8, 8], { mode: 'bilinear' }),
  },
];

// The gradient kernel runs directly, so every backend's implementation of it is checked too.
imageCases.push(
  {
    name: 'resizeGrad nearest (resize vjp) [1,2,14,10] into [1,2,7,5]',
    inputs: [{ shape: [1, 2, 14, 10] }],
    run: ([g]) =>
      T.run1(T.resizeGradOp, [g], {
        size: [14, 10],
        mode: 'nearest',
        coordinate: 'asymmetric',
        inputShape: [1, 2, 7, 5],
      }),
    grad: true,
  },
  {
    name: 'resizeGrad bilinear half pixel [2,1,5,9] into [2,1,7,4]',
    inputs: [{ shape: [2, 1, 5, 9] }],
    run: ([g]) =>
      T.run1(T.resizeGradOp, [g], {
        size: [5, 9],
        mode: 'bilinear',
        coordinate: 'halfPixel',
        inputShape: [2, 1, 7, 4],
      }),
    grad: true,
  },
  {
    name: 'resizeGrad bilinear half pixel [1,2,17,70] into [1,2,33,45]',
    inputs: [{ shape: [1, 2, 17, 70] }],
    run: ([g]) =>
      T.run1(T.resizeGradOp, [g], {
        size: [17, 70],
        mode: 'bilinear',
        coordinate: 'halfPixel',
        inputShape: [1, 2, 33, 45],
      }),
  },
  {
    name: 'resizeGrad nearest of 65537 planes [1,65537,2,1] into [1,65537,1,1]',
    inputs: [{ shape: [1, 65537, 2, 1] }],
    run: ([g]) =>
      T.run1(T.resizeGradOp, [g], {
        size: [2, 1],
        mode: 'nearest',
        coordinate: 'asymmetric',
        inputShape: [1, 65537, 1, 1],
      }),
    dtypes: ['f32'],
  },
);

const f32 = ['f32'] as const;

imageCases.push(
  {
    name: 'resize of a 3-D input rejected',
    inputs: [{ shape: [3, 5, 5] }],
    run: ([x]) => T.resize(x, [10, 10]),
    throws: /input must be 4-D/,
    dtypes: f32,
  },
  {
    name: 'resize to a zero size rejected',
    inputs: [{ shape: [1, 1, 5, 5] }],
    run: ([x]) => T.resize(x, [0, 10]),
    throws: /size must be an integer ≥ 1/,
    dtypes: f32,
  },
  {
    name: 'resize with alignCorners and halfPixelCenters rejected',
    inputs: [{ shape: [1, 1, 5, 5] }],
    run: ([x]) => T.resize(x, [10, 10], { mode: 'bilinear', alignCorners: true, halfPixelCenters: true }),
    throws: /cannot both be true/,
    dtypes: f32,
  },
  {
    name: 'resizeGrad with a gradient of the wrong size rejected',
    inputs: [{ shape: [1, 1, 4, 4] }],
    run: ([g]) =>
      T.run1(T.resizeGradOp, [g], {
        size: [5, 5],
        mode: 'nearest',
        coordinate: 'asymmetric',
        inputShape: [1, 1, 2, 2],
      }),
    throws: /does not match the resized shape/,
    dtypes: f32,
  },
);
