/**
 * The ops the exporters translate, as small traced functions with odd shapes: the ONNX test runs each in
 * onnxruntime-node and the Core ML test through the MIL interpreter, both against the toolkit's own result.
 * Weights and other constants are made inside `fn`'s closure so the tracer records them as constants.
 */
import * as T from '../../../index.js';

export interface ExportCase {
  readonly name: string;
  readonly inputs: readonly (readonly number[])[];
  /** Inputs must be positive (log, sqrt, rsqrt). */
  readonly positive?: boolean;
  /** An op the Core ML exporter does not translate (tested for ONNX only). */
  readonly onnxOnly?: boolean;
  readonly fn: (...xs: T.Tensor[]) => T.Tensor;
}

function values(n: number, seed: number, positive = false): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.sin(i * 0.731 + seed * 1.37) * 1.5 + Math.cos(i * 0.113 * seed);
    out[i] = positive ? 0.2 + Math.abs(v) : v;
  }
  return out;
}

/** Input tensors for a case (on the current backend). */
export function caseInputs(c: ExportCase): T.Tensor[] {
  return c.inputs.map((shape, k) =>
    T.tensor(
      values(
        shape.reduce((a, b) => a * b, 1),
        k + 1,
        c.positive,
      ),
      [...shape],
    ),
  );
}

const w = (shape: number[], seed: number) =>
  T.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );

const UNARY: readonly [string, (t: T.Tensor) => T.Tensor, boolean][] = [
  ['relu', T.relu, false],
  ['sign', T.sign, false],
  ['sigmoid', T.sigmoid, false],
  ['tanh', T.tanh, false],
  ['exp', T.exp, false],
  ['abs', T.abs, false],
  ['neg', T.neg, false],
  ['square', T.square, false],
  ['sin', T.sin, false],
  ['cos', T.cos, false],
  ['erf', T.erf, false],
  ['gelu', T.gelu, false],
  ['silu', T.silu, false],
  ['log', T.log, true],
  ['sqrt', T.sqrt, true],
  ['rsqrt', T.rsqrt, true],
];

export const EXPORT_CASES: readonly ExportCase[] = [
  ...UNARY.map(([name, fn, positive]): ExportCase => ({ name, inputs: [[2, 3, 7]], positive, fn: (x) => fn(x) })),
  { name: 'pow', inputs: [[3, 4], [4]], positive: true, fn: (a, b) => T.pow(a, b) },
  {
    name: 'comparisons cast to float',
    inputs: [
      [3, 5],
      [3, 5],
    ],
    fn: (a, b) =>
      [T.equal(a, a), T.notEqual(a, b), T.less(a, b), T.lessEqual(a, b), T.greaterEqual(a, b)]
        .map((c) => T.cast(c, 'f32'))
        .reduce((p, q) => T.add(p, q)),
  },
  {
    name: 'argmax and argmin cast to float',
    inputs: [[4, 6]],
    fn: (x) => T.add(T.cast(T.argmax(x, 1), 'f32'), T.cast(T.argmin(x, 1), 'f32')),
  },
  { name: 'logsumexp', inputs: [[3, 7]], fn: (x) => T.logsumexp(x, [1], true) },
  {
    name: 'add with broadcasting',
    inputs: [
      [2, 3, 7],
      [3, 1],
    ],
    fn: (a, b) => T.add(a, b),
  },
  { name: 'sub, mul, div', inputs: [[4, 5], [5]], fn: (a, b) => T.div(T.mul(T.sub(a, b), a), T.add(T.square(b), 1)) },
  {
    name: 'maximum and minimum',
    inputs: [
      [3, 7],
      [3, 7],
    ],
    fn: (a, b) => T.add(T.maximum(a, b), T.minimum(a, 0.25)),
  },
  { name: 'clamp (relu6)', inputs: [[1, 33]], fn: (x) => T.clamp(T.mul(x, 4), 0, 6) },
  { name: 'scalar constants', inputs: [[2, 7]], fn: (x) => T.add(T.mul(x, 0.5), -1.25) },
  {
    name: 'conv2d padded',
    inputs: [[1, 3, 7, 9]],
    fn: (x) => T.conv2d(x, w([4, 3, 3, 3], 7), w([4], 8), { padding: 1 }),
  },
  {
    name: 'conv2d stride 2, no bias',
    inputs: [[1, 2, 9, 8]],
    fn: (x) => T.conv2d(x, w([3, 2, 3, 3], 9), null, { stride: 2, padding: 1 }),
  },
  {
    name: 'conv2d grouped and dilated',
    inputs: [[1, 4, 9, 9]],
    fn: (x) => T.conv2d(x, w([6, 2, 3, 3], 3), w([6], 4), { groups: 2, dilation: 2, padding: 2 }),
  },
  {
    name: 'conv2d depthwise, TF same padding',
    inputs: [[1, 3, 8, 7]],
    fn: (x) => T.conv2d(x, w([3, 1, 3, 3], 5), w([3], 6), { groups: 3, stride: 2, padding: 'same' }),
  },
  {
    name: 'conv2d reflect padding',
    inputs: [[1, 3, 7, 6]],
    fn: (x) => T.conv2d(x, w([2, 3, 5, 5], 2), w([2], 1), { padding: 2, padMode: 'reflect' }),
  },
  {
    name: 'convTranspose2d (ONNX only)',
    onnxOnly: true,
    inputs: [[1, 3, 4, 5]],
    fn: (x) => T.convTranspose2d(x, w([3, 2, 3, 3], 4), w([2], 5), { stride: 2, padding: 1, outputPadding: 1 }),
  },
  {
    name: 'conv2d replicate padding',
    inputs: [[1, 2, 5, 6]],
    fn: (x) => T.conv2d(x, w([2, 2, 3, 3], 2), null, { padding: 1, padMode: 'replicate' }),
  },
  {
    name: 'instanceNorm per channel',
    inputs: [[2, 3, 5, 7]],
    fn: (x) => T.instanceNorm(x, w([3], 1), w([3], 2), 1e-5),
  },
  { name: 'instanceNorm without affine', inputs: [[1, 4, 6, 5]], fn: (x) => T.instanceNorm(x) },
  {
    name: 'conditional instanceNorm (per-sample scale from an input)',
    inputs: [
      [2, 3, 5, 4],
      [2, 6],
    ],
    fn: (x, s) =>
      T.instanceNorm(
        x,
        T.contiguous(T.slice(s, [null, { start: 0, end: 3 }])),
        T.contiguous(T.slice(s, [null, { start: 3, end: 6 }])),
      ),
  },
  { name: 'groupNorm', inputs: [[2, 6, 4, 3]], fn: (x) => T.groupNorm(x, 3, w([6], 1), w([6], 2), 1e-5) },
  { name: 'layerNorm', inputs: [[2, 5, 8]], fn: (x) => T.layerNorm(x, w([8], 3), w([8], 4)) },
  { name: 'rmsNorm', inputs: [[3, 8]], fn: (x) => T.rmsNorm(x, w([8], 2)) },
  {
    name: 'matmul batched',
    inputs: [
      [2, 3, 5],
      [2, 5, 4],
    ],
    fn: (a, b) => T.matmul(a, b),
  },
  {
    name: 'matmul transposed, broadcast batch',
    inputs: [
      [2, 3, 5],
      [4, 5],
    ],
    fn: (a, b) => T.matmul(a, b, { transposeB: true }),
  },
  { name: 'linear', inputs: [[3, 7]], fn: (x) => T.linear(x, w([5, 7], 3), w([5], 4)) },
  { name: 'softmax', inputs: [[3, 7]], fn: (x) => T.softmax(x, -1) },
  { name: 'logSoftmax axis 0', inputs: [[4, 3]], fn: (x) => T.logSoftmax(x, 0) },
  {
    name: 'mean, sum, max keeping dims',
    inputs: [[2, 3, 5]],
    fn: (x) => T.add(T.add(T.mean(x, [1, 2], true), T.sum(x, [2], true)), T.max(x, [1, 2], true)),
  },
  { name: 'min and prod', inputs: [[3, 4]], fn: (x) => T.add(T.min(x, [1]), T.prod(x, [1])) },
  { name: 'variance', inputs: [[2, 9]], fn: (x) => T.variance(x, [1], false, 1) },
  { name: 'reshape and permute', inputs: [[2, 3, 4]], fn: (x) => T.permute(T.reshape(x, [6, 4]), [1, 0]) },
  {
    name: 'slice with steps',
    inputs: [[5, 9]],
    fn: (x) =>
      T.contiguous(
        T.slice(x, [
          { start: 1, end: 5, step: 2 },
          { start: -7, step: 3 },
        ]),
      ),
  },
  {
    name: 'concat',
    inputs: [
      [2, 3],
      [2, 4],
    ],
    fn: (a, b) => T.concat([a, b, a], 1),
  },
  { name: 'expand', inputs: [[3, 1]], fn: (x) => T.contiguous(T.expand(x, [2, 3, 4])) },
  { name: 'gather rows', inputs: [[5, 3]], fn: (x) => T.gather(x, T.tensor([4, 0, 2, 2], [4], 'i32'), 0) },
  {
    name: 'pad constant',
    inputs: [[2, 3]],
    fn: (x) =>
      T.pad(
        x,
        [
          [1, 0],
          [2, 1],
        ],
        'constant',
        0.5,
      ),
  },
  {
    name: 'pad reflect',
    inputs: [[1, 2, 4, 5]],
    fn: (x) =>
      T.pad(
        x,
        [
          [0, 0],
          [0, 0],
          [2, 1],
          [1, 3],
        ],
        'reflect',
      ),
  },
  {
    name: 'pad edge',
    inputs: [[1, 1, 3, 4]],
    fn: (x) =>
      T.pad(
        x,
        [
          [0, 0],
          [0, 0],
          [1, 2],
          [2, 0],
        ],
        'edge',
      ),
  },
  { name: 'resize nearest ×2', inputs: [[1, 2, 3, 5]], fn: (x) => T.resize(x, [6, 10]) },
  {
    name: 'resize bilinear (half pixel)',
    inputs: [[1, 2, 4, 5]],
    fn: (x) => T.resize(x, [7, 9], { mode: 'bilinear' }),
  },
  {
    name: 'resize bilinear (align corners)',
    inputs: [[1, 1, 3, 4]],
    fn: (x) => T.resize(x, [5, 7], { mode: 'bilinear', alignCorners: true }),
  },
  {
    name: 'attention',
    inputs: [
      [1, 2, 5, 4],
      [1, 2, 7, 4],
      [1, 2, 7, 3],
    ],
    fn: (q, k, v) => T.scaledDotProductAttention(q, k, v),
  },
  {
    name: 'attention causal, grouped keys',
    inputs: [
      [2, 4, 3, 4],
      [2, 2, 5, 4],
      [2, 2, 5, 4],
    ],
    fn: (q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true }),
  },
  {
    name: 'attention with a mask',
    inputs: [
      [1, 1, 3, 2],
      [1, 1, 4, 2],
      [1, 1, 4, 2],
      [1, 1, 3, 4],
    ],
    fn: (q, k, v, m) => T.scaledDotProductAttention(q, k, v, { mask: m }),
  },
  {
    name: 'avgPool2d',
    inputs: [[1, 2, 7, 6]],
    fn: (x) => T.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: true }),
  },
  { name: 'maxPool2d', inputs: [[1, 2, 7, 6]], fn: (x) => T.maxPool2d(x, 2, { stride: 2 }) },
  {
    name: 'where on a comparison',
    inputs: [
      [3, 5],
      [3, 5],
    ],
    fn: (a, b) => T.where(T.greater(a, b), a, T.mul(b, 2)),
  },
];

/** Largest |a − b|, and the scale to judge it by: max(1, max |a|). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - Number(b[i])));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return { diff, scale };
}
