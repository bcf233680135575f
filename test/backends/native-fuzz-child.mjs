// The native addon called directly with hostile sizes, strides, lengths and types (fast-check):
// every call must return or throw a JS Error; a crash kills this process, which is why
// test/backends/native-fuzz.test.ts runs it as a child. Before each call the call is written to
// the file named by argv[3], so a crash leaves it behind for the parent to report.
//
// Each function gets a generator of consistent calls (small shapes, arrays of exactly the lengths
// they imply, strides that stay inside), and most runs then corrupt one argument: a size becomes
// one whose products wrap (2^32, 2^53 − 1, …), one entry of a shape, stride list or geometry is
// replaced, an array is emptied, lengthened or given another element type. Random arguments alone
// almost never get past the first length check, so they would miss what a wrapped product or an
// unchecked stride does.
//
//   node native-fuzz-child.mjs ADDON LASTCALL SEED RUNS
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';

const [addonPath, lastCallFile, seedArg, runsArg] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
addon.setThreads(2);
const seed = Number(seedArg);
const numRuns = Number(runsArg);

const HOSTILE = [
  0,
  2 ** 16,
  2 ** 24,
  2 ** 31,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 40,
  2 ** 52,
  2 ** 53 - 1,
  -1,
  -(2 ** 40),
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 60,
];

const prod = (dims) => dims.reduce((a, b) => a * b, 1);
const f32 = (n) => new Float32Array(n).map((_, i) => ((i * 7919) % 13) / 7 - 0.8);
const dim = (max = 4) => fc.integer({ min: 1, max });
const bool = fc.boolean();

/** Consistent calls of each function. */
const VALID = {
  stridedCopy: fc.tuple(dim(), dim(), fc.boolean(), fc.integer({ min: 0, max: 2 })).map(([a, b, t, off]) => {
    const strides = t ? [1, a] : [b, 1];
    return [f32(a * b + off), new Float32Array(a * b), [a, b], strides, off];
  }),
  stridedWrite: fc.tuple(dim(), dim(), fc.boolean(), fc.integer({ min: 0, max: 2 })).map(([a, b, t, off]) => {
    const strides = t ? [1, a] : [b, 1];
    return [f32(a * b), new Float32Array(a * b + off), [a, b], strides, off];
  }),
  f16ToF32: dim(9).map((n) => [new Uint16Array(n), new Float32Array(n)]),
  f32ToF16: dim(9).map((n) => [f32(n), new Uint16Array(n)]),
  unary: fc.tuple(fc.constantFrom('exp', 'relu', 'gelu'), dim(9)).map(([op, n]) => [op, f32(n), new Float32Array(n)]),
  binary: fc.tuple(fc.constantFrom('add', 'pow', 'less'), dim(), dim(), fc.boolean()).map(([op, a, b, bc]) => {
    const os = [a, b];
    const bs = bc ? [1, b] : [a, b];
    const y = op === 'less' ? new Uint8Array(a * b) : new Float32Array(a * b);
    return [op, f32(a * b), f32(prod(bs)), y, os, bs, os];
  }),
  where: fc
    .tuple(dim(), dim())
    .map(([a, b]) => [new Uint8Array(a * b), f32(b), f32(a * b), new Float32Array(a * b), [a, b], [b], [a, b], [a, b]]),
  clamp: dim(9).map((n) => [f32(n), new Float32Array(n), -0.5, 0.5]),
  cast: dim(9).map((n) => [f32(n), new Int32Array(n)]),
  reduce: fc
    .tuple(fc.constantFrom('sum', 'max', 'var'), dim(), dim(), dim())
    .map(([op, o, r, i]) => [op, f32(o * r * i), new Float32Array(o * i), o, r, i, 0]),
  argReduce: fc
    .tuple(dim(), dim(), dim())
    .map(([o, r, i]) => ['argmax', f32(o * r * i), new Int32Array(o * i), o, r, i]),
  gatherRows: fc
    .tuple(dim(), dim(), dim(), dim(3))
    .map(([o, d, i, n]) => [
      f32(o * d * i),
      Int32Array.from({ length: n }, (_, k) => (k % d) - (k % 2)),
      new Float32Array(o * n * i),
      o,
      d,
      i,
    ]),
  scatterAddRows: fc
    .tuple(dim(), dim(), dim(), dim(3))
    .map(([o, d, i, n]) => [
      f32(o * n * i),
      Int32Array.from({ length: n }, (_, k) => k % d),
      new Float32Array(o * d * i),
      o,
      d,
      i,
    ]),
  pad: fc
    .tuple(dim(), dim(), fc.integer({ min: 0, max: 2 }), fc.constantFrom('constant', 'edge'))
    .map(([a, b, p, m]) => [
      f32(a * b),
      new Float32Array(a * (b + 2 * p)),
      [a, b],
      [0, 0, p, p],
      m,
      Float32Array.of(1),
    ]),
  padGrad: fc
    .tuple(dim(), dim(), fc.integer({ min: 0, max: 2 }))
    .map(([a, b, p]) => [f32(a * (b + 2 * p)), new Float32Array(a * b), [a, b], [0, 0, p, p], 'edge']),
  matmul: fc
    .tuple(dim(), dim(), dim(), dim(2), bool, bool)
    .map(([m, k, n, batches, ta, tb]) => [
      f32(batches * m * k),
      f32(batches * k * n),
      new Float32Array(batches * m * n),
      m,
      k,
      n,
      ta,
      tb,
      Array.from({ length: batches }, (_, t) => t * m * k),
      Array.from({ length: batches }, (_, t) => t * k * n),
    ]),
  softmax: fc
    .tuple(dim(), dim(), dim(), bool)
    .map(([o, n, i, log]) => [f32(o * n * i), new Float32Array(o * n * i), o, n, i, log]),
  normRows: fc
    .tuple(dim(), dim(), bool)
    .map(([rows, len, center]) => [
      f32(rows * len),
      new Float32Array(rows * len),
      rows,
      len,
      center,
      1e-5,
      f32(len),
      [1, 0, 1],
      f32(len),
      [1, 0, 1],
    ]),
  crossEntropy: fc
    .tuple(dim(), dim())
    .map(([rows, classes]) => [
      f32(rows * classes),
      Int32Array.from({ length: rows }, (_, r) => r % classes),
      new Float32Array(rows),
      rows,
      classes,
      Number.NaN,
      0,
    ]),
  crossEntropyGrad: fc
    .tuple(dim(), dim())
    .map(([rows, classes]) => [
      f32(rows * classes),
      Int32Array.from({ length: rows }, (_, r) => r % classes),
      f32(rows),
      new Float32Array(rows * classes),
      rows,
      classes,
      Number.NaN,
      0,
    ]),
  rope: fc
    .tuple(dim(3), dim(3), fc.constantFrom(2, 4, 6), bool)
    .map(([seqs, seq, d, trad]) => [
      f32(seqs * seq * d),
      new Float32Array(seqs * seq * d),
      seqs * seq,
      seq,
      d,
      0,
      10000,
      trad,
      d,
      1,
      false,
    ]),
  attention: fc.tuple(dim(2), dim(2), dim(3), dim(3), dim(3), dim(3), bool).map(([B, H, T, S, D, Dv, withMask]) => {
    const dims = [B, H, H, T, S, D, Dv];
    const mask = withMask ? f32(T * S) : null;
    return [
      f32(B * H * T * D),
      f32(B * H * S * D),
      f32(B * H * S * Dv),
      mask,
      new Float32Array(B * H * T * Dv),
      dims,
      [0, 0, S, 1],
      0.5,
      false,
    ];
  }),
  attentionBackward: fc
    .tuple(dim(2), dim(2), dim(3), dim(3), dim(3), dim(3), bool)
    .map(([B, H, T, S, D, Dv, withMask]) => {
      const dims = [B, H, H, T, S, D, Dv];
      const mask = withMask ? f32(T * S) : null;
      const [q, k, v] = [B * H * T * D, B * H * S * D, B * H * S * Dv];
      return [
        f32(q),
        f32(k),
        f32(v),
        f32(B * H * T * Dv),
        f32(B * H * T * Dv),
        mask,
        new Float32Array(q),
        new Float32Array(k),
        new Float32Array(v),
        dims,
        [0, 0, S, 1],
        0.5,
        false,
      ];
    }),
  conv2d: fc
    .tuple(dim(2), dim(3), dim(5), dim(5), dim(3), dim(3), dim(2), fc.integer({ min: 0, max: 1 }))
    .map(([N, C, H, W, O, k, s, p]) => {
      const OH = Math.floor((H + 2 * p - k) / s) + 1;
      const OW = Math.floor((W + 2 * p - k) / s) + 1;
      if (OH < 1 || OW < 1)
        return [f32(0), f32(0), null, new Float32Array(0), [0, C, H, W, O, k, k, 0, 0, s, s, p, p, 1, 1, 1]];
      const geometry = [N, C, H, W, O, k, k, OH, OW, s, s, p, p, 1, 1, 1];
      return [f32(N * C * H * W), f32(O * C * k * k), f32(O), new Float32Array(N * O * OH * OW), geometry];
    }),
  convTranspose2d: fc.tuple(dim(2), dim(3), dim(4), dim(4), dim(3), dim(3), dim(2)).map(([N, C, H, W, O, k, s]) => {
    const OH = (H - 1) * s + k;
    const OW = (W - 1) * s + k;
    const geometry = [N, C, H, W, O, k, k, OH, OW, s, s, 0, 0, 1, 1, 1];
    return [f32(N * C * H * W), f32(C * O * k * k), null, new Float32Array(N * O * OH * OW), geometry];
  }),
  conv2dWeightGrad: fc.tuple(dim(2), dim(3), dim(5), dim(5), dim(3), dim(3)).map(([N, C, H, W, O, k]) => {
    const OH = Math.max(1, H - k + 1);
    const OW = Math.max(1, W - k + 1);
    const geometry = [N, C, H, W, O, k, k, OH, OW, 1, 1, 0, 0, 1, 1, 1];
    return [f32(N * C * H * W), f32(N * O * OH * OW), new Float32Array(O * C * k * k), geometry];
  }),
  pool2d: fc
    .tuple(fc.constantFrom('max', 'avg', 'avgGrad'), dim(2), dim(3), dim(6), dim(6), dim(3))
    .map(([mode, N, C, H, W, k]) => {
      const OH = Math.max(1, H - k + 1);
      const OW = Math.max(1, W - k + 1);
      const window = [N, C, H, W, OH, OW, k, k, 1, 1, 0, 0, 1, 1];
      const full = N * C * H * W;
      const pooled = N * C * OH * OW;
      return mode === 'avgGrad'
        ? [mode, f32(pooled), null, new Float32Array(full), window, true]
        : [mode, f32(full), null, new Float32Array(pooled), window, true];
    }),
  resize: fc
    .tuple(dim(2), dim(2), dim(5), dim(5), dim(8), dim(8), fc.constantFrom('nearest', 'bilinear'), bool)
    .map(([N, C, H, W, OH, OW, mode, grad]) => {
      const full = N * C * H * W;
      const pooled = N * C * OH * OW;
      return [
        grad ? f32(pooled) : f32(full),
        new Float32Array(grad ? full : pooled),
        [N, C, H, W, OH, OW],
        mode,
        'halfPixel',
        grad,
      ];
    }),
};
const ASYNC = { matmulAsync: VALID.matmul, conv2dAsync: VALID.conv2d };

/** `value` with one thing made hostile, chosen by `pick` (a number in [0, 1)) and `h` (an index into HOSTILE). */
function corrupt(value, pick, h) {
  const hostile = HOSTILE[h % HOSTILE.length];
  if (typeof value === 'number') return hostile;
  if (typeof value === 'string') return 'nope';
  if (typeof value === 'boolean') return 0;
  if (Array.isArray(value)) {
    const out = [...value];
    if (pick < 0.15) out.push(hostile);
    else if (pick < 0.25) out.pop();
    else if (out.length > 0) out[Math.floor(pick * 1000) % out.length] = hostile;
    return out;
  }
  if (ArrayBuffer.isView(value)) {
    if (pick < 0.3) return new value.constructor(0);
    if (pick < 0.5) return new value.constructor(value.length + 1 + (h % 7));
    if (pick < 0.7) return new value.constructor(Math.max(0, value.length - 1));
    return value instanceof Int32Array ? new Float32Array(value.length) : new Int32Array(value.length);
  }
  return value === null ? f32(3) : null;
}

/**
 * Every size (and shape entry) set to `big` and every array emptied: products of several 2^32s
 * wrap to 0, the length of an empty array, which is how a wrapped size gets past a check.
 */
function wrapAll(args, big) {
  return args.map((a) => {
    if (typeof a === 'number' && Number.isInteger(a) && a > 0) return big;
    if (Array.isArray(a)) return a.map((v) => (v > 0 ? big : v));
    if (ArrayBuffer.isView(a)) return new a.constructor(0);
    return a;
  });
}

/** A consistent call, usually with one or two arguments corrupted, sometimes with every size wrapped. */
function hostile(valid) {
  return fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.double({ min: 0, max: 0.999 }), fc.nat()), { maxLength: 2 }),
      fc.option(fc.constantFrom(2 ** 32, 2 ** 22, 2 ** 16), { freq: 6 }),
    )
    .map(([args, edits, big]) => {
      const out = big === null ? [...args] : wrapAll(args, big);
      for (const [at, pick, h] of edits) out[at % out.length] = corrupt(out[at % out.length], pick, h);
      return out;
    });
}

function describe(name, args) {
  const show = (a) =>
    ArrayBuffer.isView(a)
      ? `${a.constructor.name}(${a.length})`
      : Array.isArray(a)
        ? `[${a.map(show).join(',')}]`
        : String(a);
  return `${name}(${args.map(show).join(', ')})`;
}

/** The wrapped-size cases the review found, then every function fuzzed. */
const KNOWN = [
  // 2^32 · 2^32 · 2^32 wraps to 0 = x.length = y.length: 2^32 rows copied from an empty array.
  ['gatherRows', [new Float32Array(0), Int32Array.of(0), new Float32Array(0), 2 ** 32, 2 ** 32, 2 ** 32]],
  // A one-element mask read at stride 2^40.
  [
    'attention',
    [f32(1), f32(2), f32(2), f32(1), new Float32Array(1), [1, 1, 1, 1, 2, 1, 1], [0, 0, 0, 2 ** 40], 1, false],
  ],
  // A view whose span (2^52 − 1) · 2^20 overflows int64.
  ['stridedCopy', [f32(1), new Float32Array(2048), [1024, 2, 2 ** 52], [1, 2 ** 20, 2 ** 20], 0]],
  // An empty output whose padded axis is 2^40 long: no table may be sized by it.
  ['pad', [new Float32Array(0), new Float32Array(0), [0, 2 ** 40], [0, 0, 0, 2 ** 40], 'constant', Float32Array.of(1)]],
];

let calls = 0;
let errors = 0;
async function call(name, args) {
  writeFileSync(lastCallFile, describe(name, args));
  calls++;
  try {
    await addon[name](...args);
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`${name} threw a non-Error: ${String(err)}`);
    errors++;
  }
}

for (const [name, args] of KNOWN) await call(name, args);
for (const [name, valid] of Object.entries({ ...VALID, ...ASYNC })) {
  await fc.assert(
    fc.asyncProperty(hostile(valid), (args) => call(name, args)),
    { seed, numRuns: name in ASYNC ? Math.ceil(numRuns / 4) : numRuns },
  );
}
process.stdout.write(`${JSON.stringify({ calls, errors })}\n`);
