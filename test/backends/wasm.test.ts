/**
 * The wasm backend's own machinery (the op-by-op checks are the conformance suite, which runs
 * wasm on one and two threads): feature detection, the thread decision (including the browser
 * fallback to one thread without cross-origin isolation), the heap, the pool (identical results
 * at 1 and 2 threads, errors from workers, workers that exit and never hold a process open),
 * the unshared single-thread module, and a build that matches its sources.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import type { WasmBackend, WasmStorage } from '../../backends/wasm/backend.js';
import { spawnWebWorker, type WorkerLike } from '../../backends/wasm/browser-platform.js';
import { sourceHash } from '../../backends/wasm/build.mjs';
import {
  memoryImportFlagsOffset,
  sharedMemorySupported,
  simdSupported,
  unshareMemoryImport,
} from '../../backends/wasm/features.js';
import { Heap } from '../../backends/wasm/heap.js';
import { setWasmThreads, wasmBackend } from '../../backends/wasm/index.js';
import { nodeWasmPlatform } from '../../backends/wasm/node-platform.js';
import { createWasmBackend, probeWasm, type WasmPlatform } from '../../backends/wasm/plugin.js';
import { chooseThreads, MAX_WASM_THREADS } from '../../backends/wasm/threads.js';
import { BROWSER_WORKER_SOURCE } from '../../backends/wasm/worker-source.js';
import type { KernelTensor } from '../../core/backend.js';
import * as T from '../../index.js';
import { wasmKernels as matmulKernels } from '../../kernels/matmul/wasm.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const backends: WasmBackend[] = [];

async function backendWith(threads: number, platform: WasmPlatform = nodeWasmPlatform()): Promise<WasmBackend> {
  const backend = await createWasmBackend(platform, threads);
  backends.push(backend);
  return backend;
}

afterAll(async () => {
  for (const b of backends) await b.dispose();
});

function randomMatrix(rng: T.Rng, rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => rng.normal());
}

function runMatmul(
  backend: WasmBackend,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float32Array {
  const inputs: KernelTensor<WasmStorage>[] = [
    { storage: backend.upload(a, 'f32'), shape: [m, k], dtype: 'f32' },
    { storage: backend.upload(b, 'f32'), shape: [k, n], dtype: 'f32' },
  ];
  const kernel = matmulKernels.matmul as unknown as (
    i: KernelTensor<WasmStorage>[],
    attrs: { transposeA: boolean; transposeB: boolean },
    o: T.TensorInfo[],
    b: WasmBackend,
  ) => WasmStorage[];
  const [out] = kernel(inputs, { transposeA: false, transposeB: false }, [{ shape: [m, n], dtype: 'f32' }], backend);
  const y = backend.readSync(out, 'f32') as Float32Array;
  for (const t of inputs) backend.free(t.storage);
  backend.free(out);
  return y;
}

describe('feature detection', () => {
  it('detects SIMD128, and the probe module is only valid because of its v128 result', () => {
    expect(simdSupported()).toBe(true);
    // The same function returning i32 instead of v128 (type byte 123 → 127) no longer validates.
    const probe = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
    ]);
    expect(WebAssembly.validate(probe)).toBe(false);
  });

  it('detects shared memory in Node', () => {
    expect(sharedMemorySupported()).toBe(true);
  });

  it('the probe reports threads and SIMD for info', async () => {
    const avail = await probeWasm(nodeWasmPlatform({ threads: 3 }));
    expect(avail.available, avail.reason).toBe(true);
    expect(avail.details?.threads).toBe(3);
    expect(avail.details?.simd).toBe(true);
    expect(avail.details?.sharedMemory).toBe(true);
    expect(avail.autoRank).toBe(50);
  });

  it('the probe says how to build a missing module instead of failing', async () => {
    const avail = await probeWasm(nodeWasmPlatform({ modulePath: path.join(tmpdir(), 'no-such-dir', 'kernels.wasm') }));
    expect(avail.available).toBe(false);
    expect(avail.reason).toMatch(/npm run build:wasm/);
  });

  it('the probe turns a corrupt module into a reason', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eai-wasm-bad-'));
    try {
      const file = path.join(dir, 'kernels.wasm');
      writeFileSync(file, readFileSync(path.join(root, 'dist/backends/wasm/kernels.wasm')).subarray(0, 1000));
      const avail = await probeWasm(nodeWasmPlatform({ modulePath: file }));
      expect(avail.available).toBe(false);
      expect(avail.reason).toMatch(/not a valid WebAssembly module .*npm run build:wasm/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the probe names a bad EAI_WASM_THREADS value and the fix', async () => {
    const platform = { ...nodeWasmPlatform(), requestedThreads: () => 'lots' };
    const avail = await probeWasm(platform);
    expect(avail.available).toBe(false);
    expect(avail.reason).toMatch(/EAI_WASM_THREADS="lots" is not a thread count: use an integer from 1 to 64/);
  });
});

describe('thread decision', () => {
  it('uses every core by default where memory can be shared', () => {
    expect(chooseThreads({ cores: 8, sharedMemory: true })).toMatchObject({ threads: 8, shared: true });
    expect(chooseThreads({ requested: '', cores: 2, sharedMemory: true }).threads).toBe(2);
  });

  it('takes EAI_WASM_THREADS, and rejects non-counts', () => {
    expect(chooseThreads({ requested: '3', cores: 8, sharedMemory: true }).threads).toBe(3);
    expect(chooseThreads({ requested: 1, cores: 8, sharedMemory: true })).toMatchObject({ threads: 1, shared: true });
    for (const bad of ['0', '-2', '1.5', 'two', String(MAX_WASM_THREADS + 1)]) {
      expect(() => chooseThreads({ requested: bad, cores: 8, sharedMemory: true })).toThrow(/EAI_WASM_THREADS/);
    }
  });

  it('a browser page without cross-origin isolation gets one thread on unshared memory', () => {
    const d = chooseThreads({ requested: '4', cores: 8, sharedMemory: true, crossOriginIsolated: false });
    expect(d).toMatchObject({ threads: 1, shared: false });
    expect(d.reason).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
    expect(d.reason).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
  });

  it('an isolated page gets its cores; an engine without shared memory one thread', () => {
    expect(chooseThreads({ cores: 6, sharedMemory: true, crossOriginIsolated: true })).toMatchObject({
      threads: 6,
      shared: true,
    });
    expect(chooseThreads({ cores: 6, sharedMemory: false, crossOriginIsolated: true })).toMatchObject({
      threads: 1,
      shared: false,
    });
  });
});

describe('heap', () => {
  function heap(limit = 1 << 20) {
    let end = 4096;
    return new Heap({
      base: 100,
      end: () => end,
      growTo: (bytes) => {
        if (bytes > limit) return false;
        end = bytes;
        return true;
      },
      maxBytes: limit,
    });
  }

  it('hands out aligned, disjoint blocks and reuses freed space', () => {
    const h = heap();
    const a = h.alloc(10);
    const b = h.alloc(100);
    const c = h.alloc(1);
    expect([a, b, c].map((p) => p % 64)).toEqual([0, 0, 0]);
    expect(a).toBe(128);
    expect(b).toBe(a + 64);
    expect(c).toBe(b + 128);
    h.free(b);
    expect(h.alloc(64)).toBe(b);
    expect(h.stats().blocks).toBe(3);
  });

  it('coalesces neighbours and returns space at the top', () => {
    const h = heap();
    const a = h.alloc(64);
    const b = h.alloc(64);
    const c = h.alloc(64);
    h.free(a);
    h.free(b);
    expect(h.stats().free).toBe(128);
    expect(h.alloc(128)).toBe(a);
    h.free(a);
    h.free(c);
    expect(h.stats()).toMatchObject({ used: 0, free: 0, top: 128 });
  });

  it('grows memory, and reports exhaustion with the fix', () => {
    const h = heap(1 << 16);
    expect(h.alloc(10_000)).toBe(128);
    expect(() => h.alloc(1 << 17)).toThrow(/out of memory allocating 0\.1 MiB .*dispose tensors/);
    expect(() => h.free(12345)).toThrow(/not a live block/);
  });
});

describe('threads', () => {
  it('threads=1 and threads=2 give bit-identical matmuls, and both match a float64 product', async () => {
    const one = await backendWith(1);
    const two = await backendWith(2);
    two.rt.minWorkPerThread = 1;
    const rng = new T.Rng(7);
    const [m, k, n] = [67, 301, 45];
    const a = randomMatrix(rng, m, k);
    const b = randomMatrix(rng, k, n);
    const y1 = runMatmul(one, a, b, m, k, n);
    const before = two.rt.calls.parallel;
    const y2 = runMatmul(two, a, b, m, k, n);
    expect(two.rt.calls.parallel).toBeGreaterThan(before);
    expect(Array.from(y2)).toEqual(Array.from(y1));
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
        worst = Math.max(worst, Math.abs(acc - y1[i * n + j]));
      }
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('a product wider than tall splits by columns and still agrees', async () => {
    const two = await backendWith(2);
    two.rt.minWorkPerThread = 1;
    const one = await backendWith(1);
    const rng = new T.Rng(11);
    const [m, k, n] = [5, 70, 263];
    const a = randomMatrix(rng, m, k);
    const b = randomMatrix(rng, k, n);
    expect(Array.from(runMatmul(two, a, b, m, k, n))).toEqual(Array.from(runMatmul(one, a, b, m, k, n)));
  });

  it('a trap in a worker surfaces as an error naming the kernel, and the pool keeps working', async () => {
    const two = await backendWith(2);
    two.rt.minWorkPerThread = 1;
    // Rank 2, shape [2, 1], row stride 2^29 elements: row 1 starts 2 GiB in, past the end of memory.
    const meta = two.rt.record([2, 2, 1, 1 << 29, 1]);
    const dst = two.rt.alloc(64);
    expect(() => two.rt.run('strided_copy', [0, dst, 4, 0, meta], 2, 1)).toThrow(
      /wasm kernel strided_copy failed on worker thread 1: .*out of bounds/,
    );
    two.rt.free(meta);
    two.rt.free(dst);
    const rng = new T.Rng(3);
    const a = randomMatrix(rng, 9, 9);
    const eye = Float32Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0));
    expect(Array.from(runMatmul(two, a, eye, 9, 9, 9))).toEqual(Array.from(a));
  });

  it('workers exit when the backend is disposed', async () => {
    const three = await createWasmBackend(nodeWasmPlatform(), 3);
    const workers = three.rt.workers;
    expect(workers.length).toBe(2);
    three.rt.minWorkPerThread = 1;
    runMatmul(three, new Float32Array(64).fill(1), new Float32Array(64).fill(2), 8, 8, 8);
    await three.dispose();
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
  });

  it('setThreads grows and shrinks the pool without touching storages', async () => {
    const backend = await backendWith(1);
    const stored = backend.upload(Float32Array.from([1, 2, 3]), 'f32');
    await backend.rt.setThreads(3);
    expect(backend.rt.threads).toBe(3);
    const removed = backend.rt.workers.slice(1);
    await backend.rt.setThreads(2);
    expect(backend.rt.threads).toBe(2);
    expect(await removed[0].exited).toBe(0);
    expect(Array.from(backend.readSync(stored, 'f32'))).toEqual([1, 2, 3]);
  });

  it('an idle pool never keeps a Node process alive', () => {
    // A child process runs the TypeScript sources through a transpile-only loader, starts two
    // threads, runs a product and returns without disposing anything: it must exit on its own.
    const dir = mkdtempSync(path.join(tmpdir(), 'eai-wasm-exit-'));
    try {
      const typescript = pathToFileURL(createRequire(path.join(root, 'package.json')).resolve('typescript')).href;
      writeFileSync(
        path.join(dir, 'hooks.mjs'),
        `import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from ${JSON.stringify(typescript)};
export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(specifier.replace(/\\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
`,
      );
      writeFileSync(
        path.join(dir, 'register.mjs'),
        `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`,
      );
      const script = `
import * as T from ${JSON.stringify(pathToFileURL(path.join(root, 'index.ts')).href)};
import ${JSON.stringify(pathToFileURL(path.join(root, 'backends/wasm/node.ts')).href)};
await T.setBackend('wasm');
const a = T.ones([256, 256]);
const y = T.matmul(a, a);
console.log('sum', (await T.sum(y).data())[0]);
`;
      writeFileSync(path.join(dir, 'main.mjs'), script);
      const started = Date.now();
      const child = spawnSync(
        process.execPath,
        ['--import', path.join(dir, 'register.mjs'), path.join(dir, 'main.mjs')],
        {
          env: { ...process.env, EAI_WASM_THREADS: '2' },
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(child.error, 'the child did not exit by itself').toBeUndefined();
      expect(child.stderr.replace(/\(node:\d+\) ExperimentalWarning.*\n(.*--trace-warnings.*\n)?/g, '')).toBe('');
      expect(child.stdout.trim()).toBe(`sum ${256 ** 3}`);
      expect(child.status).toBe(0);
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('browser paths, emulated in Node', () => {
  it('the unshared single-thread module (no cross-origin isolation) computes the same product', async () => {
    const isolatedless: WasmPlatform = { ...nodeWasmPlatform(), crossOriginIsolated: () => false };
    const single = await backendWith(4, isolatedless);
    expect(single.decision).toMatchObject({ threads: 1, shared: false });
    expect(single.rt.shared).toBe(false);
    expect(single.rt.memory.buffer instanceof SharedArrayBuffer).toBe(false);
    await expect(single.rt.setThreads(2)).rejects.toThrow(/need shared memory/);
    const shared = await backendWith(1);
    const rng = new T.Rng(5);
    const a = randomMatrix(rng, 13, 17);
    const b = randomMatrix(rng, 17, 11);
    expect(Array.from(runMatmul(single, a, b, 13, 17, 11))).toEqual(Array.from(runMatmul(shared, a, b, 13, 17, 11)));
  });

  it('flips only the shared flag of the memory import', () => {
    const bytes = new Uint8Array(readFileSync(path.join(root, 'dist/backends/wasm/kernels.wasm')));
    const at = memoryImportFlagsOffset(bytes);
    expect(bytes[at]).toBe(0x03);
    const unshared = unshareMemoryImport(bytes);
    expect(unshared[at]).toBe(0x01);
    expect(unshared.filter((v, i) => v !== bytes[i]).length).toBe(1);
    expect(() => memoryImportFlagsOffset(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/magic/);
  });

  it('Web Worker threads (the browser worker script behind a Worker-like stand-in) give the same product', async () => {
    // The stand-in runs BROWSER_WORKER_SOURCE in a worker_thread that provides `self` as a
    // dedicated worker scope does; the script arrives through the same Blob URL a browser uses.
    class FakeWebWorker implements WorkerLike {
      readonly #worker: Worker;
      constructor(url: string) {
        expect(url.startsWith('blob:')).toBe(true);
        this.#worker = new Worker(
          `const { parentPort } = require('node:worker_threads');
const self = { postMessage: (m) => parentPort.postMessage(m), close: () => process.exit(0), onmessage: null };
parentPort.on('message', (data) => self.onmessage && self.onmessage({ data }));
${BROWSER_WORKER_SOURCE}`,
          { eval: true },
        );
        this.#worker.unref();
      }
      postMessage(message: unknown) {
        this.#worker.postMessage(message);
      }
      terminate() {
        void this.#worker.terminate();
      }
      addEventListener(type: 'message' | 'error', listener: (event: { data?: unknown; message?: string }) => void) {
        if (type === 'message') this.#worker.on('message', (data) => listener({ data }));
        else this.#worker.on('error', (err) => listener({ message: err.message }));
      }
    }
    const platform: WasmPlatform = {
      ...nodeWasmPlatform(),
      crossOriginIsolated: () => true,
      spawn: (init) => spawnWebWorker(init, FakeWebWorker),
    };
    const web = await backendWith(2, platform);
    web.rt.minWorkPerThread = 1;
    const one = await backendWith(1);
    const rng = new T.Rng(9);
    const a = randomMatrix(rng, 33, 20);
    const b = randomMatrix(rng, 20, 19);
    const before = web.rt.calls.parallel;
    expect(Array.from(runMatmul(web, a, b, 33, 20, 19))).toEqual(Array.from(runMatmul(one, a, b, 33, 20, 19)));
    expect(web.rt.calls.parallel).toBeGreaterThan(before);
    const workers = web.rt.workers;
    await web.rt.setThreads(1);
    expect(await workers[0].exited).toBe(0);
  });
});

describe('kernels stay on wasm', () => {
  it('f32 ops run wasm code: strict mode allows no reference run, fallback or copy', async () => {
    await import('../../backends/node.js');
    await T.setBackend('wasm');
    T.setStrictBackend(true);
    try {
      const before = T.fallbackLedger();
      const result = T.tidy(() => {
        const x = T.randomNormal([4, 6, 5]);
        const w = T.randomNormal([2, 4, 3, 3]);
        const img = T.maxPool2d(T.resize(T.conv2d(T.reshape(x, [1, 4, 6, 5]), w, null, { padding: 1 }), [9, 9]), 2);
        const att = T.scaledDotProductAttention(
          T.rope(T.reshape(x, [1, 4, 6, 5]), { dims: 4 }),
          T.reshape(x, [1, 4, 6, 5]),
          T.reshape(x, [1, 4, 6, 5]),
        );
        const ce = T.crossEntropy(
          T.reshape(x, [24, 5]),
          T.tensor(
            Array.from({ length: 24 }, (_, i) => i % 5),
            [24],
            'i32',
          ),
        );
        const y = T.softmax(T.add(T.exp(T.mul(x, 0.5)), 1), 1);
        const z = T.layerNorm(T.matmul(y, T.transpose(y)));
        return T.add(
          T.sum(T.cast(T.greater(z, 0.1), 'f32')),
          T.add(T.add(T.mean(z), T.sum(img)), T.add(T.sum(att), ce)),
        );
      });
      await result.data();
      result.dispose();
      expect(T.ledgerDelta(before, T.fallbackLedger())).toEqual([]);
    } finally {
      T.setStrictBackend(false);
      await T.setBackend('js');
    }
  });
});

describe('larger shapes at 2 threads with the default split threshold', () => {
  // Conformance shapes are small; these cross the thresholds where work really splits, and
  // paths conformance does not reach (the col2im transposed convolution at stride 1).
  const rng = new T.Rng(21);
  const data = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const cases: [string, number[][], (xs: T.Tensor[]) => T.Tensor][] = [
    [
      'batched matmul with broadcast and transposeB',
      [
        [3, 130, 257],
        [190, 257],
      ],
      ([a, b]) => T.matmul(a, b, { transposeB: true }),
    ],
    ['conv2d padding 1', [[2, 16, 40, 40], [24, 16, 3, 3], [24]], ([x, w, b]) => T.conv2d(x, w, b, { padding: 1 })],
    [
      'depthwise conv2d stride 2',
      [
        [2, 16, 130, 126],
        [32, 1, 3, 3],
      ],
      ([x, w]) => T.conv2d(x, w, null, { groups: 16, stride: 2, padding: 1 }),
    ],
    [
      'convTranspose2d stride 1, padding beyond the kernel (col2im path)',
      [
        [2, 32, 48, 48],
        [32, 16, 3, 3],
      ],
      ([x, w]) => T.convTranspose2d(x, w, null, { padding: 3 }),
    ],
    [
      'convTranspose2d stride 2',
      [
        [2, 32, 32, 32],
        [32, 16, 4, 4],
      ],
      ([x, w]) => T.convTranspose2d(x, w, null, { stride: 2, padding: 1 }),
    ],
    ['softmax down the columns', [[300, 200]], ([x]) => T.softmax(x, 0)],
    ['logSoftmax along rows', [[200, 301]], ([x]) => T.logSoftmax(x)],
    ['sum over axes 0 and 2 (permuted first)', [[60, 40, 100]], ([x]) => T.sum(x, [0, 2])],
    ['variance over the batch axis', [[1024, 500]], ([x]) => T.variance(x, 0)],
    ['layerNorm', [[512, 300], [300], [300]], ([x, w, b]) => T.layerNorm(x, w, b)],
    [
      'broadcast add',
      [
        [300, 1, 200],
        [1, 100, 200],
      ],
      ([a, b]) => T.add(a, b),
    ],
    [
      'reflect pad',
      [[2, 3, 200, 200]],
      ([x]) =>
        T.pad(
          x,
          [
            [0, 0],
            [0, 0],
            [4, 4],
            [4, 4],
          ],
          'reflect',
        ),
    ],
    ['gelu', [[1000, 333]], ([x]) => T.gelu(x)],
    [
      'causal grouped-query attention with a mask',
      [
        [2, 8, 64, 32],
        [2, 2, 80, 32],
        [2, 2, 80, 24],
        [1, 1, 64, 80],
      ],
      ([q, k, v, mask]) => T.scaledDotProductAttention(q, k, v, { causal: true, mask }),
    ],
    [
      'attention gradients (dq, dk, dv)',
      [
        [2, 4, 48, 32],
        [2, 2, 48, 32],
        [2, 2, 48, 32],
        [2, 4, 48, 32],
      ],
      ([q, k, v, w]) =>
        T.concat(
          T.grad((a: T.Tensor, b: T.Tensor, c: T.Tensor) => T.sum(T.mul(T.scaledDotProductAttention(a, b, c), w)))(
            q,
            k,
            v,
          ).map((g) => T.reshape(g, [-1])),
        ),
    ],
    ['rope', [[4, 8, 128, 64]], ([x]) => T.rope(x, { offset: 3 })],
    ['bilinear resize', [[2, 8, 60, 50]], ([x]) => T.resize(x, [97, 130], { mode: 'bilinear' })],
    ['max pooling', [[4, 16, 64, 64]], ([x]) => T.maxPool2d(x, 3, { stride: 2, padding: 1 })],
  ];
  for (const [name, shapes, run] of cases) {
    it(name, async () => {
      const inputs = shapes.map(data);
      const results: Float32Array[] = [];
      for (const backend of ['js', 'wasm']) {
        await T.setBackend(backend);
        if (backend === 'wasm') await setWasmThreads(2);
        const before = backend === 'wasm' ? wasmBackend().rt.calls.parallel : 0;
        const y = T.tidy(() => run(inputs.map((d, i) => T.tensor(d, shapes[i]))));
        results.push((await y.data()) as Float32Array);
        y.dispose();
        if (backend === 'wasm') expect(wasmBackend().rt.calls.parallel).toBeGreaterThan(before);
      }
      await T.setBackend('js');
      const [want, got] = results;
      expect(got.length).toBe(want.length);
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let i = 0; i < want.length; i++)
        worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + scale));
      expect(worst).toBeLessThan(2e-6);
    });
  }
});

describe('build', () => {
  it('dist/backends/wasm/kernels.wasm was built from the current sources (else: npm run build:wasm)', async () => {
    const stamp = JSON.parse(readFileSync(path.join(root, 'dist/backends/wasm/kernels.json'), 'utf8')) as {
      sources: string;
    };
    expect(stamp.sources, 'kernels.wasm is stale: run npm run build:wasm').toBe(await sourceHash());
  });

  it('the copy beside the sources (what the demo and browser-platform.ts load) is the built module', () => {
    const built = readFileSync(path.join(root, 'dist/backends/wasm/kernels.wasm'));
    const besideSources = readFileSync(path.join(root, 'backends/wasm/kernels.wasm'));
    expect(besideSources.equals(built), 'backends/wasm/kernels.wasm is stale: run npm run build:wasm').toBe(true);
  });
});
