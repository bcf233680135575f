import * as T from '../../../index.js';
import { BF16, type OpCase } from '../harness.js';

type Reducer = (x: T.Tensor, axes?: number | number[], keepDims?: boolean) => T.Tensor;

const names = ['sum', 'mean', 'max', 'min', 'prod', 'logsumexp'] as const;

const reductions: OpCase[] = names.flatMap((name) => {
  const fn = (T as unknown as Record<string, Reducer>)[name];
  const kind = name === 'prod' ? 'positive' : 'normal';
  return [
    {
      name: `${name} all of [257]`,
      inputs: [{ shape: [257], kind, range: [0.95, 1.05] }],
      run: ([x]) => fn(x),
      grad: true,
    },
    {
      name: `${name} axes [0,2] keepDims of [7,3,33]`,
      inputs: [{ shape: [7, 3, 33], kind, range: [0.9, 1.1] }],
      run: ([x]) => fn(x, [0, 2], true),
      grad: true,
      dtypes: BF16,
    },
    {
      name: `${name} axis -1 of transposed [33,7]`,
      inputs: [{ shape: [33, 7], kind, layout: 'transposed' }],
      run: ([x]) => fn(x, -1),
    },
    { name: `${name} axis 0 of [1,33]`, inputs: [{ shape: [1, 33], kind }], run: ([x]) => fn(x, 0) },
    // Blocks of 256+ get a workgroup each on WebGPU: contiguous, strided, and over two
    // axes that do not merge.
    {
      name: `${name} axis 1 of [7,1000]`,
      inputs: [{ shape: [7, 1000], kind, range: [0.97, 1.03] }],
      run: ([x]) => fn(x, 1),
    },
    {
      name: `${name} axis 0 of [257,7]`,
      inputs: [{ shape: [257, 7], kind, range: [0.95, 1.05] }],
      run: ([x]) => fn(x, 0),
    },
    {
      name: `${name} axes [0,2] of [9,3,33]`,
      inputs: [{ shape: [9, 3, 33], kind, range: [0.95, 1.05] }],
      run: ([x]) => fn(x, [0, 2]),
      grad: true,
    },
  ] satisfies OpCase[];
});

export const reduceCases: OpCase[] = [
  ...reductions,
  {
    name: 'variance axis 1 of [7,257]',
    inputs: [{ shape: [7, 257], kind: 'uniform', range: [99, 101] }],
    run: ([x]) => T.variance(x, 1),
    grad: true,
  },
  {
    name: 'sample variance (correction 1) all of [33]',
    inputs: [{ shape: [33] }],
    run: ([x]) => T.variance(x, undefined, false, 1),
    grad: true,
  },
  { name: 'argmax axis 1 of [7,33]', inputs: [{ shape: [7, 33] }], run: ([x]) => T.argmax(x, 1) },
  {
    name: 'argmax ties pick the first, [7,33] small ints',
    inputs: [{ shape: [7, 33], kind: 'int', range: [0, 3] }],
    run: ([x]) => T.argmax(x, 0, true),
  },
  { name: 'argmin axis 0 of [257,1]', inputs: [{ shape: [257, 1] }], run: ([x]) => T.argmin(x, 0) },
  { name: 'argmax axis 1 of [3,1000]', inputs: [{ shape: [3, 1000] }], run: ([x]) => T.argmax(x, 1) },
  {
    // Ties between the threads of a workgroup: the lowest index must still win.
    name: 'argmax ties pick the first, [3,600] small ints',
    inputs: [{ shape: [3, 600], kind: 'int', range: [0, 3] }],
    run: ([x]) => T.argmax(x, 1),
  },
  {
    name: 'argmin ties pick the first, axis 0 of [300,7] small ints',
    inputs: [{ shape: [300, 7], kind: 'int', range: [0, 3] }],
    run: ([x]) => T.argmin(x, 0),
  },
  {
    name: 'argmax of i32 [7,257]',
    inputs: [{ shape: [7, 257], dtype: 'i32', kind: 'int', range: [-50, 50] }],
    run: ([x]) => T.argmax(x, 1),
    dtypes: ['f32'],
  },
  { name: 'sum of i32 [7,33]', inputs: [{ shape: [7, 33], dtype: 'i32' }], run: ([x]) => T.sum(x, 1), dtypes: ['f32'] },
  {
    name: 'sum of i32 [3,1000]',
    inputs: [{ shape: [3, 1000], dtype: 'i32' }],
    run: ([x]) => T.sum(x, 1),
    dtypes: ['f32'],
  },
  {
    name: 'min and max of i32 axis 0 of [257,3]',
    inputs: [{ shape: [257, 3], dtype: 'i32', kind: 'int', range: [-1000, 1000] }],
    run: ([x]) => T.tidy(() => T.concat([T.min(x, 0), T.max(x, 0)], 0)),
    dtypes: ['f32'],
  },
  {
    name: 'variance axis 0 of [300,7] near 100',
    inputs: [{ shape: [300, 7], kind: 'uniform', range: [99, 101] }],
    run: ([x]) => T.variance(x, 0),
  },
  {
    name: 'sample variance axes [0,2] of [9,3,33]',
    inputs: [{ shape: [9, 3, 33] }],
    run: ([x]) => T.variance(x, [0, 2], true, 1),
    grad: true,
  },
  {
    name: 'max over an empty axis rejected',
    inputs: [{ shape: [3, 0] }],
    run: ([x]) => T.max(x, 1),
    throws: /empty/,
    dtypes: ['f32'],
  },
];
