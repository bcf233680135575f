import * as T from '../../../index.js';
import { BF16, type OpCase } from '../harness.js';

const positiveOnly = new Set(['log', 'sqrt', 'rsqrt']);

const unary: OpCase[] = T.ELEMENTWISE_OPS.unary.flatMap((name) => {
  const fn = (T as unknown as Record<string, (x: T.Tensor) => T.Tensor>)[name];
  const kind = positiveOnly.has(name) ? 'positive' : 'normal';
  return [
    { name: `${name} [257]`, inputs: [{ shape: [257], kind }], run: ([x]) => fn(x), grad: true, dtypes: BF16 },
    {
      name: `${name} [7,33] transposed`,
      inputs: [{ shape: [7, 33], kind, layout: 'transposed' }],
      run: ([x]) => fn(x),
    },
    { name: `${name} scalar`, inputs: [{ shape: [], kind }], run: ([x]) => fn(x) },
  ] satisfies OpCase[];
});

const binary: OpCase[] = T.ELEMENTWISE_OPS.binary.flatMap((name) => {
  const fn = (T as unknown as Record<string, (a: T.Tensor, b: T.Tensor) => T.Tensor>)[name];
  const kindA = name === 'pow' ? 'positive' : 'normal';
  const kindB = name === 'div' ? 'positive' : 'normal';
  return [
    {
      name: `${name} [7,33] with [33] broadcast`,
      inputs: [
        { shape: [7, 33], kind: kindA },
        { shape: [33], kind: kindB },
      ],
      run: ([a, b]) => fn(a, b),
      grad: true,
      dtypes: BF16,
    },
    {
      name: `${name} [7,1] with [1,33] outer broadcast`,
      inputs: [
        { shape: [7, 1], kind: kindA },
        { shape: [1, 33], kind: kindB },
      ],
      run: ([a, b]) => fn(a, b),
      grad: true,
    },
    {
      name: `${name} [2,257] sliced with expanded`,
      inputs: [
        { shape: [2, 257], kind: kindA, layout: 'sliced' },
        { shape: [2, 257], kind: kindB, layout: 'expanded' },
      ],
      run: ([a, b]) => fn(a, b),
    },
    {
      name: `${name} [1] with scalar`,
      inputs: [
        { shape: [1], kind: kindA },
        { shape: [], kind: kindB },
      ],
      run: ([a, b]) => fn(a, b),
    },
  ] satisfies OpCase[];
});

const intBinary: OpCase[] = ['add', 'sub', 'mul', 'maximum', 'minimum'].map((name) => {
  const fn = (T as unknown as Record<string, (a: T.Tensor, b: T.Tensor) => T.Tensor>)[name];
  return {
    name: `${name} i32 [33] with [7,1]`,
    inputs: [
      { shape: [33], dtype: 'i32' },
      { shape: [7, 1], dtype: 'i32' },
    ],
    run: ([a, b]) => fn(a, b),
    dtypes: ['f32'],
  };
});

const compare: OpCase[] = T.ELEMENTWISE_OPS.compare.map((name) => {
  const fn = (T as unknown as Record<string, (a: T.Tensor, b: T.Tensor) => T.Tensor>)[name];
  // Small integers stored as floats make ties (equal values) common.
  return {
    name: `${name} [7,33] with [33]`,
    inputs: [
      { shape: [7, 33], kind: 'int', range: [-2, 3] },
      { shape: [33], kind: 'int', range: [-2, 3] },
    ],
    run: ([a, b]) => fn(a, b),
  };
});

const misc: OpCase[] = [
  {
    name: 'where [7,33] mask with [33] and [7,1]',
    inputs: [{ shape: [7, 33], dtype: 'u8', kind: 'mask' }, { shape: [33] }, { shape: [7, 1] }],
    run: ([c, a, b]) => T.where(c, a, b),
    grad: true,
    dtypes: BF16,
  },
  {
    name: 'clamp [257] to [-0.5, 0.7]',
    inputs: [{ shape: [257] }],
    run: ([x]) => T.clamp(x, -0.5, 0.7),
    grad: true,
  },
  {
    name: 'cast f→i32 [257]',
    inputs: [{ shape: [257], kind: 'uniform', range: [-9, 9] }],
    run: ([x]) => T.cast(x, 'i32'),
  },
  {
    name: 'cast f→u8 [33]',
    inputs: [{ shape: [33], kind: 'uniform', range: [-3, 300] }],
    run: ([x]) => T.cast(x, 'u8'),
  },
  {
    name: 'cast i32→f [7,33]',
    inputs: [{ shape: [7, 33], dtype: 'i32' }],
    run: ([x]) => T.cast(x, 'f32'),
    dtypes: ['f32'],
  },
  {
    name: 'cast round trip through f64 [7]',
    inputs: [{ shape: [7] }],
    run: ([x]) => T.tidy(() => T.cast(T.cast(x, 'f64'), x.dtype)),
    grad: true,
    dtypes: BF16,
  },
  {
    name: 'cast between the half floats and f32 [7,33]',
    inputs: [{ shape: [7, 33], kind: 'uniform', range: [-70000, 70000] }],
    run: ([x]) => T.tidy(() => [T.cast(x, 'bf16'), T.cast(x, 'f16'), T.cast(T.cast(x, 'bf16'), 'f32')]),
    dtypes: ['f32'],
  },
  {
    name: 'cast u32→f32, i32, u8 and i8 [257] (saturating)',
    inputs: [{ shape: [257], dtype: 'u32', kind: 'int', range: [0, 2 ** 32] }],
    run: ([x]) => T.tidy(() => [T.cast(x, 'f32'), T.cast(x, 'i32'), T.cast(x, 'u8'), T.cast(x, 'i8')]),
    dtypes: ['f32'],
  },
  {
    name: 'cast f→u32 and f→i8 [7,33] (truncating, saturating, NaN-free)',
    inputs: [{ shape: [7, 33], kind: 'uniform', range: [-300, 5e9] }],
    run: ([x]) => T.tidy(() => [T.cast(x, 'u32'), T.cast(x, 'i8')]),
    dtypes: ['f32'],
  },
  {
    name: 'cast i8→f32, i32, u8 and u32 [33,7]',
    inputs: [{ shape: [33, 7], dtype: 'i8', kind: 'int', range: [-128, 128] }],
    run: ([x]) => T.tidy(() => [T.cast(x, 'f32'), T.cast(x, 'i32'), T.cast(x, 'u8'), T.cast(x, 'u32')]),
    dtypes: ['f32'],
  },
  {
    name: 'cast i32→u32 and i8 [257] (saturating)',
    inputs: [{ shape: [257], dtype: 'i32', kind: 'int', range: [-400, 400] }],
    run: ([x]) => T.tidy(() => [T.cast(x, 'u32'), T.cast(x, 'i8')]),
    dtypes: ['f32'],
  },
  {
    name: 'add u32 rejected: a storage dtype',
    inputs: [
      { shape: [7], dtype: 'u32', kind: 'int', range: [0, 9] },
      { shape: [7], dtype: 'u32', kind: 'int', range: [0, 9] },
    ],
    run: ([a, b]) => T.add(a, b),
    throws: /add: input 0 is u32, a storage dtype .* cast it first/,
    dtypes: ['f32'],
  },
  {
    name: 'add i8 [7,33] with [33] (wraps like the stored type)',
    inputs: [
      { shape: [7, 33], dtype: 'i8', kind: 'int', range: [-128, 128] },
      { shape: [33], dtype: 'i8', kind: 'int', range: [-128, 128] },
    ],
    run: ([a, b]) => T.add(a, b),
    dtypes: ['f32'],
  },
  {
    name: 'add f32 + f16 rejected',
    inputs: [
      { shape: [7], dtype: 'f32' },
      { shape: [7], dtype: 'f16' },
    ],
    run: ([a, b]) => T.add(a, b),
    throws: /dtypes f32 and f16/,
    dtypes: ['f32'],
  },
  {
    name: 'add [7] + [33] rejected',
    inputs: [{ shape: [7] }, { shape: [33] }],
    run: ([a, b]) => T.add(a, b),
    throws: /cannot broadcast/,
    dtypes: ['f32'],
  },
];

export const elementwiseCases: OpCase[] = [...unary, ...binary, ...intBinary, ...compare, ...misc];
