import * as T from '../../../core/index.js';
import type { OpCase } from '../harness.js';

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
    },
    {
      name: `${name} axis -1 of transposed [33,7]`,
      inputs: [{ shape: [33, 7], kind, layout: 'transposed' }],
      run: ([x]) => fn(x, -1),
    },
    { name: `${name} axis 0 of [1,33]`, inputs: [{ shape: [1, 33], kind }], run: ([x]) => fn(x, 0) },
  ] satisfies OpCase[];
});

export const reduceCases: OpCase[] = [
  ...reductions,
  {
    name: 'variance axis 1 of [7,257]',
    inputs: [{ shape: [7, 257], kind: 'uniform', range: [99, 101] }],
    run: ([x]) => T.variance(x, 1),
    grad: true,
    // f16 cannot resolve a spread of 2 around 100 finely: compare at its precision.
    tol: { f16: 5e-2 },
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
  { name: 'sum of i32 [7,33]', inputs: [{ shape: [7, 33], dtype: 'i32' }], run: ([x]) => T.sum(x, 1), dtypes: ['f32'] },
  {
    name: 'max over an empty axis rejected',
    inputs: [{ shape: [3, 0] }],
    run: ([x]) => T.max(x, 1),
    throws: /empty/,
    dtypes: ['f32'],
  },
];
