import * as T from '../../../index.js';
import { BF16, type OpCase } from '../harness.js';

export const layoutCases: OpCase[] = [
  { name: 'reshape [7,33]→[33,7]', inputs: [{ shape: [7, 33] }], run: ([x]) => T.reshape(x, [33, 7]), grad: true },
  {
    name: 'stopGradient of a transposed view [7,33] (values unchanged)',
    inputs: [{ shape: [7, 33], layout: 'transposed' }],
    run: ([x]) => T.stopGradient(x),
  },
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
    dtypes: BF16,
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
    dtypes: BF16,
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
    dtypes: BF16,
  },
];

/** The storage dtypes move like any other: packed u32 words (every bit pattern) and i8. */
const u32 = { dtype: 'u32', kind: 'int', range: [0, 2 ** 32] } as const;
const i8 = { dtype: 'i8', kind: 'int', range: [-128, 128] } as const;
for (const [name, spec] of [
  ['u32', u32],
  ['i8', i8],
] as const) {
  layoutCases.push(
    {
      name: `${name}: contiguous copies of transposed, sliced and expanded views [7,33]`,
      inputs: [
        { shape: [7, 33], ...spec, layout: 'transposed' },
        { shape: [7, 33], ...spec, layout: 'sliced' },
        { shape: [7, 33], ...spec, layout: 'expanded' },
      ],
      run: (xs) => xs.map((x) => T.contiguous(x)),
      dtypes: ['f32'],
    },
    {
      name: `${name}: permute, slice, reshape and squeeze [2,7,33]`,
      inputs: [{ shape: [2, 7, 33], ...spec }],
      run: ([x]) =>
        T.tidy(() => [
          T.contiguous(T.permute(x, [2, 0, 1])),
          T.contiguous(T.slice(x, [{ start: 1 }, { start: 1, end: 6, step: 2 }, { start: -5 }])),
          T.contiguous(T.squeeze(T.reshape(x, [1, 14, 33]), 0)),
        ]),
      dtypes: ['f32'],
    },
    {
      name: `${name}: concat and stack of [7,1], [7,33], [7,2]`,
      inputs: [
        { shape: [7, 1], ...spec },
        { shape: [7, 33], ...spec, layout: 'transposed' },
        { shape: [7, 2], ...spec },
      ],
      run: (xs) => T.tidy(() => [T.concat(xs, 1), T.stack([xs[0], xs[0]], 0)]),
      dtypes: ['f32'],
    },
    {
      name: `${name}: gather rows of [33,7] by [2,5] indices, and split`,
      inputs: [
        { shape: [33, 7], ...spec },
        { shape: [2, 5], dtype: 'i32', kind: 'int', range: [-33, 33] },
      ],
      run: ([x, i]) => T.tidy(() => [T.gather(x, i, 0), ...T.split(x, [3, 30], 0).map((t) => T.contiguous(t))]),
      dtypes: ['f32'],
    },
    {
      name: `${name}: pad constant, reflect and edge [7,33]`,
      inputs: [{ shape: [7, 33], ...spec }],
      run: ([x]) =>
        T.tidy(() => [
          T.pad(
            x,
            [
              [1, 2],
              [0, 3],
            ],
            'constant',
            name === 'u32' ? 0xfedcba98 : -7,
          ),
          T.pad(
            x,
            [
              [3, 3],
              [2, 0],
            ],
            'reflect',
          ),
          T.pad(
            x,
            [
              [0, 1],
              [4, 1],
            ],
            'edge',
          ),
        ]),
      dtypes: ['f32'],
    },
  );
}
layoutCases.push({
  name: 'u32: sum rejected (arithmetic on packed words)',
  inputs: [{ shape: [7], ...u32 }],
  run: ([x]) => T.sum(x),
  throws: /sum: input 0 is u32, a storage dtype/,
  dtypes: ['f32'],
});

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
