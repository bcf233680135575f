import * as T from '../../../index.js';
import type { OpCase } from '../harness.js';

export const layoutCases: OpCase[] = [
  { name: 'reshape [7,33]→[33,7]', inputs: [{ shape: [7, 33] }], run: ([x]) => T.reshape(x, [33, 7]), grad: true },
  {
    name: 'reshape of a transposed view [7,33]→[-1]',
    inputs: [{ shape: [7, 33], layout: 'transposed' }],
    run: ([x]) => T.reshape(x, [-1]),
  },
  {
    name: 'permute [2,7,33]→[2,0,1]',
    inputs: [{ shape: [2, 7, 33] }],
    run: ([x]) => T.permute(x, [2, 0, 1]),
    grad: true,
  },
  { name: 'transpose [257,1]', inputs: [{ shape: [257, 1] }], run: ([x]) => T.transpose(x) },
  {
    name: 'slice [7,33] rows 1..6 step 2, cols -5..',
    inputs: [{ shape: [7, 33] }],
    run: ([x]) => T.slice(x, [{ start: 1, end: 6, step: 2 }, { start: -5 }]),
    grad: true,
  },
  { name: 'slice index [7,33][3]', inputs: [{ shape: [7, 33] }], run: ([x]) => T.slice(x, [3]) },
  { name: 'expand [1,33]→[7,33]', inputs: [{ shape: [1, 33] }], run: ([x]) => T.expand(x, [7, 33]), grad: true },
  { name: 'expand [7,1]→[2,7,33]', inputs: [{ shape: [7, 1] }], run: ([x]) => T.expand(x, [2, 7, 33]) },
  {
    name: 'squeeze/unsqueeze [1,7,1]',
    inputs: [{ shape: [1, 7, 1] }],
    run: ([x]) => T.tidy(() => T.unsqueeze(T.squeeze(x), 0)),
  },
  {
    name: 'concat axis 1 of [7,1],[7,33],[7,2]',
    inputs: [{ shape: [7, 1] }, { shape: [7, 33], layout: 'transposed' }, { shape: [7, 2] }],
    run: (xs) => T.concat(xs, 1),
    grad: true,
  },
  {
    name: 'stack axis -1 of three [257]',
    inputs: [{ shape: [257] }, { shape: [257] }, { shape: [257], layout: 'sliced' }],
    run: (xs) => T.stack(xs, -1),
    grad: true,
  },
  {
    name: 'split [7,33] into 3,30 on axis 1',
    inputs: [{ shape: [7, 33] }],
    run: ([x]) => T.split(x, [3, 30], 1),
    grad: true,
  },
  {
    name: 'gather rows [33,7] by [2,5] indices',
    inputs: [{ shape: [33, 7] }, { shape: [2, 5], dtype: 'i32', kind: 'int', range: [0, 33] }],
    run: ([x, i]) => T.gather(x, i, 0),
    grad: true,
  },
  {
    name: 'gather axis 1 [2,257,3] by [7] with repeats',
    inputs: [{ shape: [2, 257, 3] }, { shape: [7], dtype: 'i32', kind: 'int', range: [0, 3] }],
    run: ([x, i]) => T.gather(x, i, 1),
    grad: true,
  },
  {
    name: 'embedding [33,7] by [1,257] ids',
    inputs: [{ shape: [33, 7] }, { shape: [1, 257], dtype: 'i32', kind: 'int', range: [0, 33] }],
    run: ([t, i]) => T.embedding(t, i),
  },
  {
    name: 'gather out of range rejected',
    inputs: [{ shape: [7, 3] }, { shape: [2], dtype: 'i32', kind: 'int', range: [7, 9] }],
    run: ([x, i]) => T.gather(x, i, 0),
    throws: /out of range/,
    dtypes: ['f32'],
  },
  {
    name: 'pad constant [7,33] by [1,2],[0,3] value 0.5',
    inputs: [{ shape: [7, 33] }],
    run: ([x]) =>
      T.pad(
        x,
        [
          [1, 2],
          [0, 3],
        ],
        'constant',
        0.5,
      ),
    grad: true,
  },
  {
    name: 'pad reflect [1,2,7,33] by 3 on H and W',
    inputs: [{ shape: [1, 2, 7, 33] }],
    run: ([x]) =>
      T.pad(
        x,
        [
          [0, 0],
          [0, 0],
          [3, 3],
          [3, 3],
        ],
        'reflect',
      ),
    grad: true,
  },
  {
    name: 'pad edge [7,1] by [2,1],[1,4]',
    inputs: [{ shape: [7, 1] }],
    run: ([x]) =>
      T.pad(
        x,
        [
          [2, 1],
          [1, 4],
        ],
        'edge',
      ),
    grad: true,
  },
  {
    name: 'pad reflect wider than the axis rejected',
    inputs: [{ shape: [2, 3] }],
    run: ([x]) =>
      T.pad(
        x,
        [
          [0, 0],
          [3, 0],
        ],
        'reflect',
      ),
    throws: /smaller than axis 1/,
    dtypes: ['f32'],
  },
  {
    name: 'contiguous copy of a sliced view',
    inputs: [{ shape: [7, 33], layout: 'sliced' }],
    run: ([x]) => T.contiguous(x),
    grad: true,
  },
];

// The gradient kernels run directly, so every backend's implementation of them is checked too.
layoutCases.push(
  {
    name: 'sliceScatter (slice vjp) [3,11] into [7,33]',
    inputs: [{ shape: [3, 11] }],
    run: ([g]) => T.run1(T.sliceScatterOp, [g], { begin: [1, 2], size: [3, 11], step: [2, 3], inputShape: [7, 33] }),
    grad: true,
  },
  {
    name: 'scatterAdd (gather vjp) [2,5,7] into [33,7]',
    inputs: [{ shape: [2, 5, 7] }, { shape: [2, 5], dtype: 'i32', kind: 'int', range: [0, 4] }],
    run: ([g, i]) => T.run1(T.scatterAddOp, [g, i], { axis: 0, inputShape: [33, 7] }),
    grad: true,
  },
  {
    name: 'padGrad (reflect pad vjp) [1,13,39] into [1,7,33]',
    inputs: [{ shape: [1, 13, 39] }],
    run: ([g]) =>
      T.run1(T.padGradOp, [g], {
        pads: [
          [0, 0],
          [3, 3],
          [3, 3],
        ],
        mode: 'reflect',
        value: 0,
        inputShape: [1, 7, 33],
      }),
    grad: true,
  },
  {
    name: 'padGrad (edge pad vjp) [10,6] into [7,1]',
    inputs: [{ shape: [10, 6] }],
    run: ([g]) =>
      T.run1(T.padGradOp, [g], {
        pads: [
          [2, 1],
          [1, 4],
        ],
        mode: 'edge',
        value: 0,
        inputShape: [7, 1],
      }),
  },
);
