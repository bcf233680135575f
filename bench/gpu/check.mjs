// WebGPU against js on one adapter: the probe's adapter facts (features, raised limits), then
// matmul and conv2d on seeded inputs, odd shapes included (tile edges, batches, strides, a
// 9×9 kernel, bias), and the row kernels that switch to a workgroup per row for long rows
// (softmax, reductions, argmax, cross-entropy, norms) and resize, each compared element by
// element with the js reference kernels.
// bench:ops times but does not compare; this is its correctness half on a real GPU, where
// workgroup-memory races and barrier mistakes that CPU emulation hides would show.
//
//   node bench/gpu/check.mjs [--adapter-only]       (from a folder holding package.json and dist/)
//
// EAI_WEBGPU_VARIANT=tiled|blocked picks the matmul/conv kernel family (default: per adapter).
// Prints one JSON line per case and a summary line; exits 1 when any case fails or is off by
// more than 1e-4 of the reference's largest magnitude, 3 when WebGPU is unavailable.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = (p) => import(pathToFileURL(resolve('dist', p)).href);
await dist('backends/node.js');
const core = await dist('./index.js');
const { seededData } = await dist('bench/harness.js');
const { conv2d, matmul, probeBackend, setBackend, tensor } = core;
const T = core;

const probe = await probeBackend('webgpu');
console.log(JSON.stringify({ adapter: probe.available ? probe.details : null, reason: probe.reason }));
if (!probe.available) process.exit(3);
if (process.argv.includes('--adapter-only')) process.exit(0);

const REL_TOL = 1e-4;
const cases = [
  [
    'matmul',
    [
      [256, 256],
      [256, 256],
    ],
    {},
  ],
  [
    'matmul',
    [
      [1024, 1024],
      [1024, 1024],
    ],
    {},
  ],
  [
    'matmul',
    [
      [257, 129],
      [129, 65],
    ],
    {},
  ],
  [
    'matmul',
    [
      [1, 1000],
      [1000, 33],
    ],
    {},
  ],
  [
    'matmul',
    [
      [500, 3],
      [3, 700],
    ],
    {},
  ],
  [
    'matmul',
    [
      [3, 100, 64],
      [3, 64, 70],
    ],
    {},
  ],
  [
    'conv2d',
    [
      [1, 32, 128, 128],
      [32, 32, 3, 3],
    ],
    { padding: 1 },
  ],
  [
    'conv2d',
    [
      [1, 128, 64, 64],
      [128, 128, 3, 3],
    ],
    { padding: 1 },
  ],
  [
    'conv2d',
    [
      [1, 3, 67, 45],
      [32, 3, 9, 9],
    ],
    { padding: 4 },
  ],
  [
    'conv2d',
    [
      [1, 32, 65, 63],
      [64, 32, 3, 3],
    ],
    { padding: 1, stride: 2 },
  ],
  ['conv2d', [[2, 5, 13, 11], [7, 5, 3, 3], [7]], { padding: 0, bias: true }],
];

// Row kernels and resize: [name, input shapes, run]. Shapes straddle the 256-element switch to
// a workgroup per row, with strided (non-last-axis) rows too.
const rowCases = [
  ['softmax last axis [64,4099]', [[64, 4099]], ([x]) => T.softmax(x)],
  ['softmax last axis [4096,33] (short rows)', [[4096, 33]], ([x]) => T.softmax(x)],
  ['logSoftmax axis 0 [3000,257] (strided rows)', [[3000, 257]], ([x]) => T.logSoftmax(x, 0)],
  ['sum last axis [128,65536]', [[128, 65536]], ([x]) => T.sum(x, -1)],
  ['sum all [1,4194304]', [[1, 4194304]], ([x]) => T.sum(x)],
  ['max axis 1 [32,1000,7]', [[32, 1000, 7]], ([x]) => T.max(x, 1)],
  ['logsumexp last axis [64,10007]', [[64, 10007]], ([x]) => T.logsumexp(x, -1)],
  ['variance last axis [64,10007]', [[64, 10007]], ([x]) => T.variance(x, -1)],
  ['argmax last axis [64,50000]', [[64, 50000]], ([x]) => T.cast(T.argmax(x, -1), 'f32')],
  [
    'crossEntropy [64,32000] (none)',
    [[64, 32000]],
    ([x]) =>
      T.crossEntropy(
        x,
        T.tensor(
          Int32Array.from({ length: 64 }, (_, i) => (i * 4999) % 32000),
          [64],
          'i32',
        ),
        { reduction: 'none' },
      ),
  ],
  ['instanceNorm [1,32,512,512]', [[1, 32, 512, 512]], ([x]) => T.instanceNorm(x)],
  ['layerNorm [64,4099]', [[64, 4099]], ([x]) => T.layerNorm(x)],
  ['resize nearest ×2 [1,64,512,512]', [[1, 64, 512, 512]], ([x]) => T.resize(x, [1024, 1024], { mode: 'nearest' })],
  [
    'resize bilinear [2,3,257,129] → 300×500',
    [[2, 3, 257, 129]],
    ([x]) => T.resize(x, [300, 500], { mode: 'bilinear' }),
  ],
];
for (const [name, shapes, run] of rowCases) cases.push([name, shapes, { run }]);

async function runOn(backend, op, shapes, opts, seed) {
  await setBackend(backend);
  const xs = shapes.map((s, i) =>
    tensor(
      seededData(
        s.reduce((a, b) => a * b, 1),
        seed + i,
      ),
      s,
      'f32',
    ),
  );
  try {
    const y = opts.run
      ? opts.run(xs)
      : op === 'matmul'
        ? matmul(xs[0], xs[1])
        : conv2d(xs[0], xs[1], opts.bias ? xs[2] : null, { padding: opts.padding, stride: opts.stride ?? 1 });
    try {
      return { shape: y.shape, data: Float32Array.from(await y.data()) };
    } finally {
      y.dispose();
    }
  } finally {
    for (const x of xs) x.dispose();
  }
}

let failed = 0;
for (const [op, shapes, opts] of cases) {
  const what = opts.run
    ? op
    : `${op} ${shapes.map((s) => `[${s}]`).join('x')}${opts.stride ? ` stride ${opts.stride}` : ''}`;
  const t0 = performance.now();
  try {
    const ref = await runOn('js', op, shapes, opts, 42);
    const t1 = performance.now();
    const got = await runOn('webgpu', op, shapes, opts, 42);
    const t2 = performance.now();
    let maxAbs = 0;
    let maxRef = 0;
    let worst = -1;
    let nonFinite = 0;
    for (let i = 0; i < ref.data.length; i++) {
      if (!Number.isFinite(got.data[i])) nonFinite++;
      const d = Math.abs(got.data[i] - ref.data[i]);
      if (!(d <= maxAbs)) {
        maxAbs = d;
        worst = i;
      }
      maxRef = Math.max(maxRef, Math.abs(ref.data[i]));
    }
    const rel = maxAbs / Math.max(maxRef, 1e-30);
    const ok = String(got.shape) === String(ref.shape) && nonFinite === 0 && rel <= REL_TOL;
    if (!ok) failed++;
    console.log(
      JSON.stringify({
        case: what,
        ok,
        maxAbsDiff: maxAbs,
        relToMaxRef: rel,
        worstIndex: worst,
        webgpu: worst >= 0 ? got.data[worst] : null,
        js: worst >= 0 ? ref.data[worst] : null,
        nonFinite,
        shapes: [got.shape, ref.shape],
        jsMs: Math.round(t1 - t0),
        webgpuMs: Math.round(t2 - t1),
      }),
    );
  } catch (err) {
    failed++;
    console.log(JSON.stringify({ case: what, ok: false, error: String(err?.stack ?? err) }));
  }
}
console.log(
  JSON.stringify({
    summary: `${cases.length - failed}/${cases.length} cases agree with js`,
    variant: process.env.EAI_WEBGPU_VARIANT ?? 'per adapter',
  }),
);
process.exit(failed === 0 ? 0 : 1);
