/**
 * The native backend beyond conformance (which runs every op case on it): the loader and
 * install step explain a missing addon instead of crashing; long async work leaves the
 * event loop free and keeps its buffers alive; kernels read typed arrays in place; the
 * run-time ISA and thread choices give the same answers; unknown attrs are refused.
 * CI sets EAI_REQUIRE_BACKENDS=native where the addon must have been built.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import {
  conv2dAsync,
  loadNativeAddon,
  loadNativeAddonFrom,
  matmulAsync,
  nativePlugin,
  resetNativeAddonCache,
} from '../../backends/native/index.js';
import * as T from '../../index.js';
import { requiredBackends } from '../helpers/requirements.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const required = requiredBackends.includes('native');
const loaded = loadNativeAddon();
const addon = loaded.ok ? loaded.addon : null;

const scratch = mkdtempSync(path.join(tmpdir(), 'eai-native-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Deterministic values in [-1, 1) (a small LCG, so failures reproduce). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** C[i, j] of row-major a [m, k] · b [k, n], in doubles: the independent oracle. */
function dot(a: Float32Array, b: Float32Array, k: number, n: number, i: number, j: number): number {
  let acc = 0;
  for (let p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
  return acc;
}

function expectClose(got: number, want: number, k: number): void {
  // f32 accumulation of k products of values in [-1, 1).
  expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.sqrt(k) * Math.max(1, Math.abs(want)));
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env }, (error, out, err) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: out + err });
    });
  });
}

describe('native loader and install step', () => {
  it('is available where CI requires it, and otherwise says why not', async () => {
    const availability = await nativePlugin.probe();
    if (required) expect(availability.available, availability.reason).toBe(true);
    expect(availability.reason.length).toBeGreaterThan(10);
    if (!availability.available) expect(availability.reason).toMatch(/addon/);
  });

  it('reports an EAI_NATIVE_ADDON that points nowhere, through the plug-in probe', async () => {
    const missing = path.join(scratch, 'nowhere', 'eai_native.node');
    const before = process.env.EAI_NATIVE_ADDON;
    process.env.EAI_NATIVE_ADDON = missing;
    resetNativeAddonCache();
    try {
      const availability = await nativePlugin.probe();
      expect(availability.available).toBe(false);
      expect(availability.reason).toContain(`EAI_NATIVE_ADDON points at ${missing}, which does not exist`);
      await expect(nativePlugin.create()).rejects.toThrow(/does not exist/);
    } finally {
      if (before === undefined) delete process.env.EAI_NATIVE_ADDON;
      else process.env.EAI_NATIVE_ADDON = before;
      resetNativeAddonCache();
    }
    expect(loadNativeAddon().ok).toBe(loaded.ok);
  });

  it('reports a file that is not an addon as a load error, not a crash', () => {
    const bogus = path.join(scratch, 'bogus.node');
    writeFileSync(bogus, 'not a shared library');
    const r = loadNativeAddonFrom(bogus);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/failed to load: .*rebuild it/);
  });

  it('install with no C++ compiler exits 0, and the probe then gives the install step’s reason', async () => {
    // A copy of native-metal/ whose PATH has node, make and python3 but no c++/g++/clang++.
    const copy = path.join(scratch, 'pkg', 'native-metal');
    const bin = path.join(scratch, 'bin');
    mkdirSync(copy, { recursive: true });
    mkdirSync(bin, { recursive: true });
    for (const file of ['build.mjs', 'binding.gyp'])
      copyFileSync(path.join(root, 'native-metal', file), path.join(copy, file));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const env: NodeJS.ProcessEnv = { PATH: bin, HOME: process.env.HOME ?? scratch };
    const { code, out } = await run([path.join(copy, 'build.mjs')], env);
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out).toContain('native addon not built: no C++ compiler found');
    const status = JSON.parse(readFileSync(path.join(copy, 'build-status.json'), 'utf8')) as { ok: boolean };
    expect(status.ok).toBe(false);
    const r = loadNativeAddonFrom(path.join(copy, 'build', 'Release', 'eai_native.node'), {
      statusFile: path.join(copy, 'build-status.json'),
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/no native addon built at .*: no C\+\+ compiler found/);
  });

  it('EAI_SKIP_NATIVE=1 skips the build with exit 0', async () => {
    const copy = path.join(scratch, 'skip', 'native-metal');
    mkdirSync(copy, { recursive: true });
    copyFileSync(path.join(root, 'native-metal', 'build.mjs'), path.join(copy, 'build.mjs'));
    const { code, out } = await run([path.join(copy, 'build.mjs')], { ...process.env, EAI_SKIP_NATIVE: '1' });
    expect(code).toBe(0);
    expect(out).toContain('skipped because EAI_SKIP_NATIVE=1');
  });
});

describe.runIf(addon !== null)('native addon', () => {
  const a = addon!;

  it('probe details name the addon, ISA, CPU features and threads', async () => {
    const availability = await nativePlugin.probe();
    expect(availability.available).toBe(true);
    expect(availability.autoRank).toBeGreaterThanOrEqual(80);
    const d = availability.details ?? {};
    expect(d.addon).toBe(loaded.ok ? loaded.path : '');
    expect(d.threads).toBe(a.info().threads);
    expect(typeof d.isa).toBe('string');
    expect(typeof d.cpuFeatures).toBe('string');
    expect(d.f16).toMatch(/computed in f32/);
  });

  it('measures the FMA peak with the active ISA and refuses a nonsense duration', () => {
    const lanes: Record<string, number> = { avx512f: 16, 'avx2+fma': 8, neon: 4 };
    const isa = a.info().isa;
    try {
      for (const set of ['auto', 'baseline'] as const) {
        const now = a.setIsa(set);
        const peak = a.fmaPeak(20);
        expect(peak.isa).toBe(now);
        expect(peak.lanes).toBe(lanes[now] ?? 4);
        expect(Number.isFinite(peak.gflops) && peak.gflops > 0).toBe(true);
      }
    } finally {
      a.setIsa('auto');
    }
    expect(a.info().isa).toBe(isa);
    expect(() => a.fmaPeak(0)).toThrow(/fmaPeak: give 0 < ms <= 10000/);
  });

  it('keeps the event loop running while a large matmulAsync works', async () => {
    const n = 1024;
    const x = values(n * n, 1);
    const y = values(n * n, 2);
    let pending = false;
    let ticksWhilePending = 0;
    const timer = setInterval(() => {
      if (pending) ticksWhilePending++;
    }, 1);
    try {
      // A blocking call would settle before any timer could fire; retry in case one product is quick.
      for (let attempt = 0; attempt < 20 && ticksWhilePending < 3; attempt++) {
        pending = true;
        const c = await matmulAsync(x, y, n, n, n).finally(() => {
          pending = false;
        });
        for (const [i, j] of [
          [0, 0],
          [511, 700],
          [1023, 1023],
        ]) {
          expectClose(c[i * n + j], dot(x, y, n, n, i, j), n);
        }
      }
    } finally {
      clearInterval(timer);
    }
    expect(ticksWhilePending).toBeGreaterThanOrEqual(3);
  });

  it('keeps the arrays of an async call alive under garbage-collector pressure', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    // Large enough that the products outlast a collection; junk of the same size reuses the freed blocks.
    const [m, k, n] = [1024, 1024, 1024];
    const expected: { i: number; j: number; want: number }[][] = [];
    // Inputs exist only inside this function: once it returns, the addon holds the sole references.
    const start = (seed: number) => {
      const x = values(m * k, seed);
      const y = values(k * n, seed + 100);
      expected.push(
        [
          [0, 0],
          [123, 456],
          [1023, 1023],
        ].map(([i, j]) => ({ i, j, want: dot(x, y, k, n, i, j) })),
      );
      return matmulAsync(x, y, m, k, n);
    };
    const promises = [1, 2, 3, 4, 5, 6].map(start);
    let settled = false;
    const all = Promise.all(promises).finally(() => {
      settled = true;
    });
    // Collect and reuse freed memory until the products are done: inputs released early
    // would be overwritten (or unmapped) under the running kernels.
    for (let round = 0; round < 200 && !settled; round++) {
      gc();
      let junk: Float32Array[] = [];
      for (let i = 0; i < 8; i++) junk.push(new Float32Array(m * k).fill(i + 1));
      junk = [];
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const results = await all;
    results.forEach((c, t) => {
      expect(c.length).toBe(m * n);
      for (const { i, j, want } of expected[t]) expectClose(c[i * n + j], want, k);
    });
  });

  it('conv2dAsync matches conv2d on the native backend and a direct sum', async () => {
    const xs = [2, 3, 9, 8];
    const ws = [4, 3, 3, 3];
    const x = values(2 * 3 * 9 * 8, 5);
    const w = values(4 * 3 * 3 * 3, 6);
    const bias = values(4, 7);
    const got = await conv2dAsync({ data: x, shape: xs }, { data: w, shape: ws }, { bias, padding: 1, stride: [2, 1] });
    expect(got.shape).toEqual([2, 4, 5, 8]);
    await T.setBackend('native');
    try {
      const y = T.tidy(() =>
        T.conv2d(T.tensor(x, xs), T.tensor(w, ws), T.tensor(bias, [4]), { padding: 1, stride: [2, 1] }),
      );
      expect(Array.from(await y.data())).toEqual(Array.from(got.data));
      y.dispose();
    } finally {
      await T.setBackend('js');
    }
    // y[1, 2, 3, 4] = b[2] + Σ x[1, c, 3·2 − 1 + i, 4 − 1 + j] · w[2, c, i, j]
    let want = bias[2];
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) {
          const ih = 5 + i;
          const iw = 3 + j;
          want += x[((1 * 3 + c) * 9 + ih) * 8 + iw] * w[((2 * 3 + c) * 3 + i) * 3 + j];
        }
    expectClose(got.data[((1 * 4 + 2) * 5 + 3) * 8 + 4], want, 27);
  });

  it('reads and writes typed arrays in place, honouring their byte offsets', () => {
    const buffer = new Float32Array(16);
    const x = buffer.subarray(3, 11);
    x.set([-2, -1, -0.5, 0, 0.5, 1, 2, Number.NaN]);
    const y = new Float32Array(20).subarray(5, 13);
    a.unary('relu', x, y);
    expect(Array.from(y)).toEqual([0, 0, 0, 0, 0.5, 1, 2, Number.NaN]);
    expect(y.buffer.byteLength).toBe(80);
    expect(new Float32Array(y.buffer, 0, 5).every((v) => v === 0)).toBe(true);
  });

  it('gives the same products on the baseline, AVX2 and best ISA, and any thread count', () => {
    const [m, k, n] = [77, 300, 129];
    const x = values(m * k, 11);
    const y = values(k * n, 12);
    const product = () => {
      const c = new Float32Array(m * n);
      a.matmul(x, y, c, m, k, n, false, false, [0], [0]);
      return c;
    };
    const threads = a.info().threads;
    const isas = a.info().cpuFeatures.includes('avx2') ? ['baseline', 'avx2', 'auto'] : ['baseline', 'auto'];
    try {
      for (const isa of isas) {
        a.setIsa(isa as 'auto');
        const c = product();
        for (const [i, j] of [
          [0, 0],
          [40, 100],
          [76, 128],
        ]) {
          expectClose(c[i * n + j], dot(x, y, k, n, i, j), k);
        }
        // Threads split the output, never a sum: the result is bit-for-bit the same.
        a.setThreads(1);
        const single = product();
        a.setThreads(3);
        expect(product()).toEqual(single);
        a.setThreads(threads);
        expect(product()).toEqual(single);
      }
    } finally {
      a.setIsa('auto');
      a.setThreads(threads);
    }
    expect(a.info().threads).toBe(threads);
  });

  it('refuses an attr the native kernel does not know instead of ignoring it', async () => {
    await T.setBackend('native');
    try {
      const x = T.ones([2, 2]);
      expect(() => T.run1(T.matmulOp, [x, x], { transposeA: false, transposeB: false, alpha: 2 } as never)).toThrow(
        /native matmul: unsupported attr 'alpha'/,
      );
      x.dispose();
    } finally {
      await T.setBackend('js');
    }
  });

  it('rejects inconsistent arguments with a JS error naming the function', () => {
    const x = new Float32Array(6);
    expect(() => a.matmul(x, x, new Float32Array(5), 2, 3, 2, false, false, [0], [0])).toThrow(/matmul: c must hold/);
    expect(() => a.unary('nope', x, x)).toThrow(/unary: unknown op 'nope'/);
    expect(() => a.stridedCopy(x, new Float32Array(4), [2, 2], [3, 1], 3)).toThrow(/reaches outside its storage/);
    expect(() => a.setIsa('sparc' as 'auto')).toThrow(/not available/);
  });
});
