import * as T from '../../../index.js';
import { type OpCase, sumOfTerms } from '../harness.js';

// Sizes stay small: a reference conv costs N·O·(C/groups)·OH·OW·kH·kW multiply-adds.
export const convCases: OpCase[] = [
  {
    name: 'conv2d [1,3,7,7] * [4,3,3,3] + bias, padding 1',
    inputs: [{ shape: [1, 3, 7, 7] }, { shape: [4, 3, 3, 3] }, { shape: [4] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { padding: 1 }),
    grad: true,
  },
  {
    name: 'conv2d groups 2 [2,4,9,9] * [6,2,3,3], stride 2, padding [1,2]',
    inputs: [{ shape: [2, 4, 9, 9] }, { shape: [6, 2, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { groups: 2, stride: 2, padding: [1, 2] }),
    grad: true,
  },
  {
    name: 'depthwise conv2d [1,7,5,5] * [7,1,3,3] groups 7, same padding',
    inputs: [{ shape: [1, 7, 5, 5] }, { shape: [7, 1, 3, 3] }, { shape: [7] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { groups: 7, padding: 'same' }),
    grad: true,
  },
  {
    name: 'depthwise multiplier 2 [1,3,6,6] * [6,1,3,3] groups 3, stride 2 (TF SAME → asymmetric pads)',
    inputs: [{ shape: [1, 3, 6, 6] }, { shape: [6, 1, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { groups: 3, stride: 2, padding: 'same' }),
    grad: true,
  },
  {
    name: 'conv2d dilation 2 [1,2,9,9] * [3,2,3,3], padding 2',
    inputs: [{ shape: [1, 2, 9, 9] }, { shape: [3, 2, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { dilation: 2, padding: 2 }),
    grad: true,
  },
  {
    name: 'conv2d reflect padding 4 [1,3,7,7] * [2,3,9,9] (Johnson 9x9)',
    inputs: [{ shape: [1, 3, 7, 7] }, { shape: [2, 3, 9, 9] }, { shape: [2] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { padding: 4, padMode: 'reflect' }),
    grad: true,
  },
  {
    name: 'conv2d reflect padding 1, stride 2 [2,3,8,8] * [4,3,3,3] (Johnson downsampling)',
    inputs: [{ shape: [2, 3, 8, 8] }, { shape: [4, 3, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { stride: 2, padding: 1, padMode: 'reflect' }),
    grad: true,
  },
  {
    name: 'conv2d replicate padding [1,2,5,5] * [2,2,3,3], padding [2,0,1,1]',
    inputs: [{ shape: [1, 2, 5, 5] }, { shape: [2, 2, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { padding: [2, 0, 1, 1], padMode: 'replicate' }),
  },
  // Wide rows: the wasm conv2d reads 8-pixel panels inside the image in place (stride 1) or
  // packs them by offset (other strides), the rest per element; K deeper than one pass and
  // more output channels than one row block take further paths.
  {
    name: 'conv2d wide rows [2,3,6,37] * [5,3,3,3] + bias, padding 1',
    inputs: [{ shape: [2, 3, 6, 37] }, { shape: [5, 3, 3, 3] }, { shape: [5] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { padding: 1 }),
  },
  {
    name: 'conv2d wide rows, stride 2 [1,3,9,45] * [6,3,3,3] + bias, padding 1',
    inputs: [{ shape: [1, 3, 9, 45] }, { shape: [6, 3, 3, 3] }, { shape: [6] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { stride: 2, padding: 1 }),
  },
  {
    name: 'conv2d wide rows, stride 3, dilation 2 [1,4,14,60] * [6,4,3,3], padding 2',
    inputs: [{ shape: [1, 4, 14, 60] }, { shape: [6, 4, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { stride: 3, dilation: 2, padding: 2 }),
  },
  {
    name: 'conv2d wide rows, dilation [2,3] [1,3,12,40] * [9,3,3,3], padding [2,3]',
    inputs: [{ shape: [1, 3, 12, 40] }, { shape: [9, 3, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { dilation: [2, 3], padding: [2, 3] }),
  },
  {
    name: 'conv2d wide rows, groups 2 [2,8,5,24] * [6,4,3,3] + bias, padding 1',
    inputs: [{ shape: [2, 8, 5, 24] }, { shape: [6, 4, 3, 3] }, { shape: [6] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { groups: 2, padding: 1 }),
  },
  {
    name: 'conv2d deep k (70 channels 3x3) [1,70,4,20] * [6,70,3,3] + bias, padding 1',
    inputs: [{ shape: [1, 70, 4, 20] }, { shape: [6, 70, 3, 3] }, { shape: [6] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { padding: 1 }),
    tol: sumOfTerms(70 * 3 * 3),
  },
  {
    name: 'conv2d 133 output channels [1,3,5,20] * [133,3,2,2] + bias',
    inputs: [{ shape: [1, 3, 5, 20] }, { shape: [133, 3, 2, 2] }, { shape: [133] }],
    run: ([x, w, b]) => T.conv2d(x, w, b),
  },
  {
    name: 'conv2d 1x1 [2,7,5,5] * [3,7,1,1] + bias',
    inputs: [{ shape: [2, 7, 5, 5] }, { shape: [3, 7, 1, 1] }, { shape: [3] }],
    run: ([x, w, b]) => T.conv2d(x, w, b),
    grad: true,
  },
  {
    name: 'conv2d single row [1,1,1,257] * [2,1,1,3], padding [0,1]',
    inputs: [{ shape: [1, 1, 1, 257] }, { shape: [2, 1, 1, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { padding: [0, 1] }),
    grad: true,
  },
  {
    name: 'conv2d of transposed views [1,3,7,5] * [2,3,3,2], stride [2,1]',
    inputs: [
      { shape: [1, 3, 7, 5], layout: 'transposed' },
      { shape: [2, 3, 3, 2], layout: 'transposed' },
    ],
    run: ([x, w]) => T.conv2d(x, w, null, { stride: [2, 1] }),
  },
  {
    name: 'conv2d of a sliced view [2,2,5,6] * [2,2,2,2], expanded bias',
    inputs: [{ shape: [2, 2, 5, 6], layout: 'sliced' }, { shape: [2, 2, 2, 2] }, { shape: [2], layout: 'expanded' }],
    run: ([x, w, b]) => T.conv2d(x, w, b),
  },
  {
    name: 'convTranspose2d [1,4,3,3] * [4,2,3,3] + bias, stride 2, padding 1, outputPadding 1',
    inputs: [{ shape: [1, 4, 3, 3] }, { shape: [4, 2, 3, 3] }, { shape: [2] }],
    run: ([x, w, b]) => T.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    grad: true,
  },
  {
    name: 'convTranspose2d groups 2, dilation [2,1] [2,4,4,4] * [4,3,3,3]',
    inputs: [{ shape: [2, 4, 4, 4] }, { shape: [4, 3, 3, 3] }],
    run: ([x, w]) => T.convTranspose2d(x, w, null, { groups: 2, dilation: [2, 1] }),
    grad: true,
  },
  {
    name: 'convTranspose2d outputPadding ≥ stride (dilation 3) [1,2,3,4] * [2,1,2,2]',
    inputs: [{ shape: [1, 2, 3, 4] }, { shape: [2, 1, 2, 2] }],
    run: ([x, w]) => T.convTranspose2d(x, w, null, { dilation: 3, outputPadding: [2, 1] }),
    grad: true,
  },
  {
    name: 'convTranspose2d single row [1,1,1,257] * [1,1,1,3], stride [1,2], padding [0,0,1,0]',
    inputs: [{ shape: [1, 1, 1, 257] }, { shape: [1, 1, 1, 3] }],
    run: ([x, w]) => T.convTranspose2d(x, w, null, { stride: [1, 2], padding: [0, 0, 1, 0] }),
    grad: true,
  },
  {
    name: 'convTranspose2d depthwise of a transposed view [1,3,5,4] * [3,1,2,2] groups 3, stride 2',
    inputs: [{ shape: [1, 3, 5, 4], layout: 'transposed' }, { shape: [3, 1, 2, 2] }],
    run: ([x, w]) => T.convTranspose2d(x, w, null, { groups: 3, stride: 2 }),
  },
];

// The weight-gradient kernel runs directly too, so every backend's implementation of it is checked.
convCases.push(
  {
    name: 'conv2dWeightGrad (conv2d vjp) x [2,4,9,9], g [2,6,5,5], groups 2, stride 2, padding 1',
    inputs: [{ shape: [2, 4, 9, 9] }, { shape: [2, 6, 5, 5] }],
    run: ([x, g]) =>
      T.run1(T.conv2dWeightGradOp, [x, g], {
        stride: [2, 2],
        padding: [1, 1, 1, 1],
        dilation: [1, 1],
        groups: 2,
        kernel: [3, 3],
      }),
    grad: true,
  },
  {
    name: 'conv2dWeightGrad with a smaller gradient x [1,2,8,7], g [1,3,3,2], dilation 2, pads [0,1,2,0]',
    inputs: [{ shape: [1, 2, 8, 7] }, { shape: [1, 3, 3, 2] }],
    run: ([x, g]) =>
      T.run1(T.conv2dWeightGradOp, [x, g], {
        stride: [1, 2],
        padding: [0, 1, 2, 0],
        dilation: [2, 2],
        groups: 1,
        kernel: [2, 3],
      }),
    grad: true,
  },
);

const f32 = ['f32'] as const;

convCases.push(
  {
    name: 'conv2d weight channels ≠ input channels rejected',
    inputs: [{ shape: [1, 3, 7, 7] }, { shape: [4, 2, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w),
    throws: /expects 2 input channels.*has 3/,
    dtypes: f32,
  },
  {
    name: 'conv2d groups not dividing the input channels rejected',
    inputs: [{ shape: [1, 4, 5, 5] }, { shape: [3, 1, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { groups: 3 }),
    throws: /input channels 4 .* not divisible by groups 3/,
    dtypes: f32,
  },
  {
    name: 'conv2d groups not dividing the output channels rejected',
    inputs: [{ shape: [1, 4, 5, 5] }, { shape: [3, 2, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { groups: 2 }),
    throws: /output channels 3 .* not divisible by groups 2/,
    dtypes: f32,
  },
  {
    name: 'conv2d kernel larger than the padded input rejected',
    inputs: [{ shape: [1, 1, 3, 3] }, { shape: [1, 1, 5, 5] }],
    run: ([x, w]) => T.conv2d(x, w, null, { padding: [1, 0] }),
    throws: /larger than the padded input 5x3/,
    dtypes: f32,
  },
  {
    name: 'conv2d bias of the wrong length rejected',
    inputs: [{ shape: [1, 2, 5, 5] }, { shape: [3, 2, 3, 3] }, { shape: [2] }],
    run: ([x, w, b]) => T.conv2d(x, w, b),
    throws: /bias must be \[3\]/,
    dtypes: f32,
  },
  {
    name: 'conv2d reflect padding as wide as the input rejected',
    inputs: [{ shape: [1, 1, 3, 3] }, { shape: [1, 1, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { padding: 3, padMode: 'reflect' }),
    throws: /reflect padding .* smaller than/,
    dtypes: f32,
  },
  {
    name: 'conv2d of a 3-D input rejected',
    inputs: [{ shape: [3, 7, 7] }, { shape: [4, 3, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w),
    throws: /input must be 4-D/,
    dtypes: f32,
  },
  {
    name: 'conv2d empty kernel rejected',
    inputs: [{ shape: [1, 1, 5, 5] }, { shape: [1, 1, 0, 3] }],
    run: ([x, w]) => T.conv2d(x, w),
    throws: /kernel must be at least 1x1, got 0x3/,
    dtypes: f32,
  },
  {
    name: 'conv2d stride 0 rejected',
    inputs: [{ shape: [1, 1, 5, 5] }, { shape: [1, 1, 3, 3] }],
    run: ([x, w]) => T.conv2d(x, w, null, { stride: 0 }),
    throws: /stride must be an integer ≥ 1/,
    dtypes: f32,
  },
  {
    name: 'convTranspose2d weight channels ≠ input channels rejected',
    inputs: [{ shape: [1, 3, 4, 4] }, { shape: [4, 2, 3, 3] }],
    run: ([x, w]) => T.convTranspose2d(x, w),
    throws: /has 4 input channels but the input .* has 3/,
    dtypes: f32,
  },
  {
    name: 'convTranspose2d outputPadding ≥ stride and dilation rejected',
    inputs: [{ shape: [1, 2, 4, 4] }, { shape: [2, 2, 3, 3] }],
    run: ([x, w]) => T.convTranspose2d(x, w, null, { stride: 2, outputPadding: 2 }),
    throws: /outputPadding .* smaller than the stride/,
    dtypes: f32,
  },
  {
    name: 'convTranspose2d padding cropping everything rejected',
    inputs: [{ shape: [1, 1, 1, 1] }, { shape: [1, 1, 2, 2] }],
    run: ([x, w]) => T.convTranspose2d(x, w, null, { padding: 1 }),
    throws: /crops .* to nothing/,
    dtypes: f32,
  },
);
