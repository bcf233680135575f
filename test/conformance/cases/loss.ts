import * as T from '../../../index.js';
import type { InputSpec, OpCase } from '../harness.js';

const targets = (shape: number[], classes: number, low = 0): InputSpec => ({
  shape,
  dtype: 'i32',
  kind: 'int',
  range: [low, classes],
});

const rejected = (name: string, inputs: OpCase['inputs'], run: OpCase['run'], throws: RegExp): OpCase => ({
  name,
  inputs,
  run,
  throws,
  dtypes: ['f32'],
});

export const lossCases: OpCase[] = [
  {
    name: 'crossEntropy mean [7,33]',
    inputs: [{ shape: [7, 33] }, targets([7], 33)],
    run: ([x, t]) => T.crossEntropy(x, t),
    grad: true,
  },
  {
    name: 'crossEntropy sum [1,257]',
    inputs: [{ shape: [1, 257] }, targets([1], 257)],
    run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'sum' }),
    grad: true,
  },
  {
    name: 'crossEntropy none of transposed [2,7,33]',
    inputs: [{ shape: [2, 7, 33], layout: 'transposed' }, targets([2, 7], 33)],
    run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none' }),
    grad: true,
  },
  {
    name: 'crossEntropy mean with ignoreIndex -1 [2,7,33]',
    inputs: [{ shape: [2, 7, 33] }, targets([2, 7], 33, -1)],
    run: ([x, t]) => T.crossEntropy(x, t, { ignoreIndex: -1 }),
    grad: true,
  },
  {
    name: 'crossEntropy label smoothing 0.1 with ignoreIndex 0, sliced [7,33]',
    inputs: [{ shape: [7, 33], layout: 'sliced' }, targets([7], 33)],
    run: ([x, t]) => T.crossEntropy(x, t, { labelSmoothing: 0.1, ignoreIndex: 0 }),
    grad: true,
  },
  {
    name: 'crossEntropy of one logit vector [33] and a scalar target',
    inputs: [{ shape: [33] }, targets([], 33)],
    run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none', labelSmoothing: 0.3 }),
    grad: true,
  },
  // Rows of 256+ classes get a workgroup each on WebGPU.
  {
    name: 'crossEntropy mean [3,256]',
    inputs: [{ shape: [3, 256] }, targets([3], 256)],
    run: ([x, t]) => T.crossEntropy(x, t),
    grad: true,
  },
  {
    name: 'crossEntropy none, label smoothing 0.2 with ignoreIndex 0, [7,1000]',
    inputs: [{ shape: [7, 1000] }, targets([7], 3)],
    run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none', labelSmoothing: 0.2, ignoreIndex: 0 }),
    grad: true,
  },
  {
    name: 'crossEntropy of logits in [-1000, 1000], [3,777]',
    inputs: [{ shape: [3, 777], kind: 'uniform', range: [-1000, 1000] }, targets([3], 777)],
    run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none' }),
  },
  {
    name: 'crossEntropyGrad smoothed, ignoring 1, [7,257]',
    inputs: [{ shape: [7, 257] }, targets([7], 3), { shape: [7] }],
    run: ([x, t, g]) => T.run1(T.crossEntropyGradOp, [x, t, g], { ignoreIndex: 1, labelSmoothing: 0.1 }),
  },
  {
    name: 'crossEntropy of one class [7,1]',
    inputs: [{ shape: [7, 1] }, targets([7], 1)],
    run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none' }),
  },
  {
    name: 'crossEntropy of logits in [-1000, 1000]',
    inputs: [{ shape: [7, 33], kind: 'uniform', range: [-1000, 1000] }, targets([7], 33)],
    run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none' }),
  },
  {
    name: 'crossEntropyGrad (crossEntropy vjp) [7,33]',
    inputs: [{ shape: [7, 33] }, targets([7], 33), { shape: [7] }],
    run: ([x, t, g]) => T.run1(T.crossEntropyGradOp, [x, t, g], { ignoreIndex: null, labelSmoothing: 0 }),
    grad: true,
  },
  {
    name: 'crossEntropyGrad smoothed, ignoring 3, [2,7,33]',
    inputs: [{ shape: [2, 7, 33] }, targets([2, 7], 33), { shape: [2, 7] }],
    run: ([x, t, g]) => T.run1(T.crossEntropyGradOp, [x, t, g], { ignoreIndex: 3, labelSmoothing: 0.2 }),
    grad: true,
  },
  rejected(
    'crossEntropy target out of range',
    [{ shape: [7, 33] }, targets([7], 40, 33)],
    ([x, t]) => T.crossEntropy(x, t),
    /target 3\d at position 0 is out of range for 33 classes/,
  ),
  rejected(
    'crossEntropy negative target without ignoreIndex',
    [{ shape: [7, 33] }, { shape: [7], dtype: 'i32', kind: 'int', range: [-3, -2] }],
    ([x, t]) => T.crossEntropy(x, t),
    /target -3 .* pass ignoreIndex/,
  ),
  rejected(
    'crossEntropy float targets',
    [{ shape: [7, 33] }, { shape: [7] }],
    ([x, t]) => T.crossEntropy(x, t),
    /targets must be i32/,
  ),
  rejected(
    'crossEntropy targets of the wrong shape',
    [{ shape: [7, 33] }, targets([6], 33)],
    ([x, t]) => T.crossEntropy(x, t),
    /logits \[7, 33\] must be \[\.\.\., C\] with targets \[6\]/,
  ),
  rejected(
    'crossEntropy label smoothing above 1',
    [{ shape: [7, 33] }, targets([7], 33)],
    ([x, t]) => T.crossEntropy(x, t, { labelSmoothing: 1.5 }),
    /labelSmoothing must be in \[0, 1\], got 1.5/,
  ),
  rejected(
    'crossEntropy unknown reduction',
    [{ shape: [7, 33] }, targets([7], 33)],
    ([x, t]) => T.crossEntropy(x, t, { reduction: 'avg' as T.CrossEntropyReduction }),
    /reduction 'avg'/,
  ),
];
