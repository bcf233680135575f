// Where the fast-style network's WebGPU time goes: each distinct layer of the TransformerNet at
// one image size (default 1024²) timed alone on the current WebGPU adapter (bench's measure():
// warm-ups, then timed runs each synchronised), with how often the network runs it, so the
// per-layer totals can be set against bench:style's whole-network time. Then instanceNorm's
// accuracy over one large row set: webgpu and js against a float64 reference.
//
//   node bench/gpu/layers.mjs [SIZE] [BACKEND] [THREADS]   (from a folder holding package.json and dist/)
//
// BACKEND defaults to webgpu; a CPU backend (native, wasm) runs at THREADS threads (default: its own).
//
// Prints one JSON line per layer and one for the accuracy check. Weights are seeded, not the
// model's: only shapes matter for time.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = (p) => import(pathToFileURL(resolve('dist', p)).href);
await dist('backends/node.js');
const T = await dist('./index.js');
const { seededData } = await dist('bench/harness.js');
const { backendStatus, measureOnBackend, setBackendThreads } = await dist('bench/toolkit.js');

const S = Number(process.argv[2] ?? 1024);
const BACKEND = process.argv[3] ?? 'webgpu';
const gpu = await backendStatus(BACKEND);
if (!gpu.available) {
  console.log(JSON.stringify({ error: gpu.reason }));
  process.exit(3);
}
if (process.argv[4]) await setBackendThreads(gpu, Number(process.argv[4]));
const n = (shape) => shape.reduce((a, b) => a * b, 1);
const input = (shape, seed, scale = 1) => ({ shape, data: seededData(n(shape), seed).map((v) => v * scale) });
const conv = (cin, cout, k, stride, hw) => ({
  name: `conv ${k}×${k}/${stride} ${cin}→${cout} at ${hw}²`,
  inputs: [input([1, cin, hw, hw], 1), input([cout, cin, k, k], 2, 0.1), input([cout], 3)],
  flops: 2 * cin * cout * k * k * (hw / stride) ** 2,
  run: ([x, w, b]) => T.conv2d(x, w, b, { stride, padding: Math.floor(k / 2), padMode: 'reflect' }),
});
const norm = (c, hw) => ({
  name: `instanceNorm ${c}×${hw}²`,
  inputs: [input([1, c, hw, hw], 4, 10), input([c], 5), input([c], 6)],
  flops: null,
  run: ([x, s, b]) => T.instanceNorm(x, s, b, 1e-5),
});
const elementwise = (name, c, hw, fn, k = 1) => ({
  name: `${name} ${c}×${hw}²`,
  inputs: Array.from({ length: k }, (_, i) => input([1, c, hw, hw], 7 + i)),
  flops: null,
  run: fn,
});
const s2 = S / 2;
const s4 = S / 4;
// [layer, times the network runs it]
const layers = [
  [conv(3, 32, 9, 1, S), 1],
  [norm(32, S), 2],
  [elementwise('relu', 32, S, ([x]) => T.relu(x)), 2],
  [conv(32, 64, 3, 2, S), 1],
  [norm(64, s2), 2],
  [conv(64, 128, 3, 2, s2), 1],
  [norm(128, s4), 11],
  [conv(128, 128, 3, 1, s4), 10],
  [elementwise('add', 128, s4, ([a, b]) => T.add(a, b), 2), 5],
  [elementwise('resize nearest ×2', 128, s4, ([x]) => T.resize(x, [2 * s4, 2 * s4], { mode: 'nearest' })), 1],
  [conv(128, 64, 3, 1, s2), 1],
  [elementwise('resize nearest ×2', 64, s2, ([x]) => T.resize(x, [2 * s2, 2 * s2], { mode: 'nearest' })), 1],
  [conv(64, 32, 3, 1, S), 1],
  [conv(32, 3, 9, 1, S), 1],
];
let total = 0;
for (const [l, times] of layers) {
  const c = { op: l.name, size: S, shape: l.name, inputs: l.inputs, flops: l.flops, run: l.run };
  try {
    const { measurement: m, notes } = await measureOnBackend(gpu, c, 'f32', { warmup: 2, runs: 5, budgetMs: 20000 });
    total += m.stats.median * times;
    console.log(
      JSON.stringify({
        layer: l.name,
        times,
        medianMs: +m.stats.median.toFixed(3),
        minMs: +m.stats.min.toFixed(3),
        totalMs: +(m.stats.median * times).toFixed(1),
        gflops: l.flops ? +(l.flops / m.stats.median / 1e6).toFixed(1) : null,
        notes,
      }),
    );
  } catch (err) {
    console.log(JSON.stringify({ layer: l.name, error: String(err?.stack ?? err) }));
  }
}
console.log(JSON.stringify({ size: S, sumOfLayerMediansTimesCount: +total.toFixed(1) }));

// instanceNorm accuracy on [1,32,S,S] (rows of S² elements), values like a conv output.
const shape = [1, 32, S, S];
const x = seededData(n(shape), 11).map((v) => 40 + 25 * v);
const len = S * S;
const ref = new Float64Array(x.length);
for (let r = 0; r < 32; r++) {
  let mu = 0;
  for (let j = 0; j < len; j++) mu += x[r * len + j];
  mu /= len;
  let v = 0;
  for (let j = 0; j < len; j++) v += (x[r * len + j] - mu) ** 2;
  const inv = 1 / Math.sqrt(v / len + 1e-5);
  for (let j = 0; j < len; j++) ref[r * len + j] = (x[r * len + j] - mu) * inv;
}
const out = {};
for (const b of [BACKEND, 'js']) {
  await T.setBackend(b);
  const t = T.tensor(x, shape, 'f32');
  const y = T.instanceNorm(t);
  const d = await y.data();
  let max = 0;
  for (let i = 0; i < d.length; i++) max = Math.max(max, Math.abs(d[i] - ref[i]));
  out[b] = max;
  T.dispose([t, y]);
}
console.log(JSON.stringify({ instanceNormMaxAbsErrVsFloat64: out, shape }));
