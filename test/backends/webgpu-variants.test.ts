/**
 * Both kernel variants of matmul and conv2d on whatever adapter runs the tests: the
 * conformance cases of the family, plus shapes that span several tiles and ragged edges,
 * each forced to 'tiled' and to 'blocked'; and the row kernels' two shapes (a thread or a
 * workgroup per row: norms, softmax, reductions, arg, cross entropy), chosen by row length
 * and layout. Oracle: the js reference in f64 on the same inputs (the conformance
 * harness's oracle).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import type { KernelVariant, WebGPUBackend } from '../../backends/webgpu/backend.js';
import * as T from '../../index.js';
import { allCases } from '../conformance/cases/index.js';
import {
  caseValues,
  compare,
  evaluate,
  LARGE_OFFSET,
  type OpCase,
  sumOfTerms,
  toleranceFor,
} from '../conformance/harness.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const skip = await backendSkipReason('webgpu');

const extraMatmul: OpCase[] = [
  {
    name: 'matmul across tiles [70,33]·[33,130]',
    inputs: [{ shape: [70, 33] }, { shape: [33, 130] }],
    run: ([a, b]) => T.matmul(a, b),
  },
  {
    name: 'matmul batched, both transposed, K=257 [2,257,65]ᵀ·[67,257]ᵀ',
    inputs: [{ shape: [2, 257, 65] }, { shape: [67, 257] }],
    run: ([a, b]) => T.matmul(a, b, { transposeA: true, transposeB: true }),
    tol: sumOfTerms(257),
  },
  {
    name: 'matmul i32 [33,17]·[17,9]',
    inputs: [
      { shape: [33, 17], dtype: 'i32' },
      { shape: [17, 9], dtype: 'i32' },
    ],
    run: ([a, b]) => T.matmul(a, b),
    dtypes: ['f32'],
  },
];

const extraConv: OpCase[] = [
  {
    name: 'conv2d across tiles: 70 channels, 9×11 image, 3×3, stride 2, pad 1',
    inputs: [{ shape: [2, 5, 9, 11] }, { shape: [70, 5, 3, 3] }, { shape: [70] }],
    run: ([x, w, b]) => T.conv2d(x, w, b, { stride: 2, padding: 1 }),
    tol: sumOfTerms(5 * 3 * 3),
  },
  {
    name: 'conv2d grouped and dilated: 6→9 channels, groups 3, dilation 2',
    inputs: [{ shape: [1, 6, 8, 7] }, { shape: [9, 2, 2, 3] }],
    run: ([x, w]) => T.conv2d(x, w, undefined, { dilation: 2, groups: 3 }),
  },
];

/** The quantized matmul's two shapes: a workgroup per output ('tiled', rows of 256+) or a thread. */
const quantWords = (rows: number, cols: number, bits: number): OpCase['inputs'] => [
  { shape: [rows, (cols * bits) / 32], dtype: 'u32', kind: 'int', range: [0, 2 ** 32] },
  { shape: [rows, cols / 64], dtype: 'f32', kind: 'uniform', range: [-0.05, 0.05] },
  { shape: [rows, cols / 64], dtype: 'f32', kind: 'uniform', range: [-1, 1] },
];
const extraQuant: OpCase[] = [
  {
    name: 'quantizedMatmul decode [1,320]·Wᵀ [33,320] at 4 bits',
    inputs: [{ shape: [1, 320] }, ...quantWords(33, 320, 4)],
    run: ([x, weight, scales, biases]) => T.quantizedMatmul(x, { weight, scales, biases, bits: 4, groupSize: 64 }),
  },
  {
    name: 'quantizedMatmul without transpose [3,256]·W [256,64] at 3 bits',
    inputs: [{ shape: [3, 256] }, ...quantWords(256, 64, 3)],
    run: ([x, weight, scales, biases]) =>
      T.quantizedMatmul(x, { weight, scales, biases, bits: 3, groupSize: 64 }, { transpose: false }),
  },
];

const families: Record<string, OpCase[]> = {
  matmul: [...(allCases.matmul ?? []), ...extraMatmul],
  quant: extraQuant,
  conv: [...(allCases.conv ?? []).filter((c) => /^(conv2d |depthwise)/.test(c.name)), ...extraConv],
};

async function oracle(c: OpCase, values: number[][]) {
  await T.setBackend('js');
  try {
    return await evaluate(c, values, 'f64', false);
  } finally {
    await T.setBackend('webgpu');
  }
}

describe.skipIf(skip)(titled('webgpu kernel variants', skip), () => {
  let gpu!: WebGPUBackend;
  beforeAll(async () => {
    gpu = (await T.initBackend('webgpu')) as unknown as WebGPUBackend;
  });
  for (const variant of ['tiled', 'blocked'] as KernelVariant[]) {
    describe(`webgpu ${variant} kernels`, () => {
      for (const [family, cases] of Object.entries(families)) {
        for (const c of cases.filter((k) => !k.throws)) {
          // f32 only: f16 widens and narrows around the same kernels (main conformance covers it).
          for (const dtype of c.dtypes ?? ['f32']) {
            it(`${family}: ${c.name} [${dtype}]`, async () => {
              await T.setBackend('webgpu');
              gpu.setVariant(family, variant);
              // Both variants are entry points of one module, so only the entry tells them apart.
              const entry = (v: KernelVariant) => `kernels/${family}/${family}.wgsl#${v}`;
              const other = variant === 'tiled' ? 'blocked' : 'tiled';
              const before = gpu.dispatchesByEntry();
              const values = caseValues(c, dtype, c.name.length * 31 + dtype.length);
              const got = await evaluate(c, values, dtype);
              gpu.setVariant(family, null);
              const after = gpu.dispatchesByEntry();
              expect(after[entry(variant)] ?? 0, `${entry(variant)} ran`).toBeGreaterThan(before[entry(variant)] ?? 0);
              expect(after[entry(other)] ?? 0, `${entry(other)} did not run`).toBe(before[entry(other)] ?? 0);
              const want = await oracle(c, values);
              got.forEach((g, i) => {
                expect(compare(g, want[i], toleranceFor(c, dtype, g.dtype)), `output ${i}`).toBeNull();
              });
            });
          }
        }
      }
    });
  }

  describe('webgpu norm rows', () => {
    const NORM = 'kernels/norm/norm.wgsl';
    const rows: [string, OpCase][] = [
      [
        'main',
        {
          name: 'instanceNorm rows of 255 (one thread each)',
          inputs: [{ shape: [2, 3, 15, 17] }, { shape: [3] }, { shape: [3] }],
          run: ([x, w, b]) => T.instanceNorm(x, w, b),
        },
      ],
      [
        'wide',
        {
          name: 'instanceNorm rows of 256 (a workgroup each)',
          inputs: [{ shape: [2, 3, 16, 16] }, { shape: [2, 3] }, { shape: [3] }],
          run: ([x, w, b]) => T.instanceNorm(x, w, b),
        },
      ],
      [
        'wide',
        {
          name: 'layerNorm of 3 rows of 4099 near 100',
          inputs: [{ shape: [3, 4099], kind: 'uniform', range: [99, 101] }, { shape: [4099] }],
          run: ([x, w]) => T.layerNorm(x, w),
          tol: LARGE_OFFSET,
        },
      ],
    ];
    for (const [entry, c] of rows) {
      it(`${c.name}: entry ${entry}`, async () => {
        await T.setBackend('webgpu');
        const before = gpu.dispatchesByEntry();
        const values = caseValues(c, 'f32', c.name.length);
        const got = await evaluate(c, values, 'f32');
        const after = gpu.dispatchesByEntry();
        const ran = (e: string) => (after[`${NORM}#${e}`] ?? 0) - (before[`${NORM}#${e}`] ?? 0);
        expect(ran(entry)).toBe(1);
        expect(ran(entry === 'wide' ? 'main' : 'wide')).toBe(0);
        const want = await oracle(c, values);
        expect(compare(got[0], want[0], toleranceFor(c, 'f32', got[0].dtype))).toBeNull();
      });
    }
  });

  // Each case runs exactly one dispatch of `entry` and none of `other` in `file`.
  const rowKernels: [file: string, entry: string, other: string, c: OpCase][] = [
    [
      'softmax/softmax.wgsl',
      'softmax',
      'softmax_wide',
      { name: 'softmax rows of 255', inputs: [{ shape: [3, 255] }], run: ([x]) => T.softmax(x) },
    ],
    [
      'softmax/softmax.wgsl',
      'softmax_wide',
      'softmax',
      { name: 'softmax rows of 256', inputs: [{ shape: [3, 256] }], run: ([x]) => T.softmax(x) },
    ],
    [
      'softmax/softmax.wgsl',
      'log_softmax_wide',
      'log_softmax',
      {
        name: 'logSoftmax of 7 strided lines of 300',
        inputs: [{ shape: [300, 7] }],
        run: ([x]) => T.logSoftmax(x, 0),
      },
    ],
    [
      'reduce/reduce.wgsl',
      'fold',
      'fold_wide',
      { name: 'sum of rows of 255', inputs: [{ shape: [3, 255] }], run: ([x]) => T.sum(x, 1) },
    ],
    [
      'reduce/reduce.wgsl',
      'fold_wide',
      'fold',
      { name: 'max of rows of 256', inputs: [{ shape: [3, 256] }], run: ([x]) => T.max(x, 1) },
    ],
    [
      'reduce/reduce.wgsl',
      'fold_wide',
      'fold',
      {
        name: 'mean over two unmerged axes, 297 each',
        inputs: [{ shape: [9, 3, 33] }],
        run: ([x]) => T.mean(x, [0, 2]),
      },
    ],
    [
      'reduce/reduce.wgsl',
      'logsumexp_wide',
      'logsumexp',
      { name: 'logsumexp of all 1000', inputs: [{ shape: [1000] }], run: ([x]) => T.logsumexp(x) },
    ],
    [
      'reduce/reduce.wgsl',
      'variance_wide',
      'variance',
      {
        name: 'variance of 7 strided columns of 300 near 100',
        inputs: [{ shape: [300, 7], kind: 'uniform', range: [99, 101] }],
        run: ([x]) => T.variance(x, 0),
      },
    ],
    [
      'reduce/arg.wgsl',
      'main',
      'wide',
      { name: 'argmax of rows of 255', inputs: [{ shape: [3, 255] }], run: ([x]) => T.argmax(x, 1) },
    ],
    [
      'reduce/arg.wgsl',
      'wide',
      'main',
      {
        name: 'argmin of rows of 600 with ties',
        inputs: [{ shape: [3, 600], kind: 'int', range: [0, 3] }],
        run: ([x]) => T.argmin(x, 1),
      },
    ],
    [
      'loss/cross_entropy.wgsl',
      'forward',
      'forward_wide',
      {
        name: 'crossEntropy over 255 classes',
        inputs: [{ shape: [3, 255] }, { shape: [3], dtype: 'i32', kind: 'int', range: [0, 255] }],
        run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none' }),
      },
    ],
    [
      'loss/cross_entropy.wgsl',
      'forward_wide',
      'forward',
      {
        name: 'crossEntropy over 256 classes, smoothed',
        inputs: [{ shape: [3, 256] }, { shape: [3], dtype: 'i32', kind: 'int', range: [0, 256] }],
        run: ([x, t]) => T.crossEntropy(x, t, { reduction: 'none', labelSmoothing: 0.1 }),
      },
    ],
    [
      'loss/cross_entropy.wgsl',
      'backward_wide',
      'backward',
      {
        name: 'crossEntropyGrad over 300 classes, ignoring 1',
        inputs: [{ shape: [5, 300] }, { shape: [5], dtype: 'i32', kind: 'int', range: [0, 3] }, { shape: [5] }],
        run: ([x, t, g]) => T.run1(T.crossEntropyGradOp, [x, t, g], { ignoreIndex: 1, labelSmoothing: 0 }),
      },
    ],
  ];

  describe('webgpu row kernels: a thread or a workgroup per row', () => {
    for (const [file, entry, other, c] of rowKernels) {
      it(`${c.name}: ${file} entry ${entry}`, async () => {
        await T.setBackend('webgpu');
        const before = gpu.dispatchesByEntry();
        const values = caseValues(c, 'f32', c.name.length);
        const got = await evaluate(c, values, 'f32');
        const after = gpu.dispatchesByEntry();
        const ran = (e: string) => (after[`kernels/${file}#${e}`] ?? 0) - (before[`kernels/${file}#${e}`] ?? 0);
        expect(ran(entry)).toBe(1);
        expect(ran(other)).toBe(0);
        const want = await oracle(c, values);
        expect(compare(got[0], want[0], toleranceFor(c, 'f32', got[0].dtype))).toBeNull();
      });
    }
  });
});
