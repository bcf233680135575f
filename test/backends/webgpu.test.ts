/**
 * The WebGPU backend's own machinery (Dawn in Node; SwiftShader on machines without a
 * GPU): probing, storage layout, batching, the buffer pool, the size limit, fallback
 * without synchronous reads (including its ordering and its errors), and errors that
 * kernels detect on the GPU. Op numerics are the conformance suite's job.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import '../../backends/node.js';
import { type GpuStorage, SNAPSHOT_DEPTH, type WebGPUBackend } from '../../backends/webgpu/backend.js';
import { sizeClass } from '../../backends/webgpu/pool.js';
import { specialize, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const avail = await T.probeBackend('webgpu');
const skip = await backendSkipReason('webgpu');

describe('host-side helpers', () => {
  it('specialize replaces @param lines, keeps line numbers, rejects unknown names', () => {
    const src = 'a\nalias T = f32; // @param T\nb';
    expect(specialize(src, { T: 'alias T = i32;' })).toBe('a\nalias T = i32; // @param T\nb');
    expect(specialize(src)).toBe(src);
    expect(() => specialize(src, { U: 'x' })).toThrow(/no '\/\/ @param U' line/);
    expect(() => specialize(src, { T: 'two\nlines' })).toThrow(/one line/);
  });

  it('wgsl() names a file by its path from the repository root', () => {
    const ref = wgsl(new URL('../../kernels/elementwise/unary.wgsl', import.meta.url));
    expect(ref.name).toBe('kernels/elementwise/unary.wgsl');
  });

  it('size classes waste at most a quarter and never shrink', () => {
    for (const bytes of [1, 256, 257, 1000, 4096, 5000, 123457, 2 ** 20 + 1]) {
      const c = sizeClass(bytes);
      expect(c).toBeGreaterThanOrEqual(bytes);
      if (bytes > 256) expect(c).toBeLessThanOrEqual(bytes * 1.25 + 256);
    }
  });

  it('uniform arrays start on 16-byte boundaries', () => {
    const bytes = new Uniforms().u32(7).u32Array([1, 2, 3]).f32(0.5).bytes();
    const words = new Uint32Array(bytes.buffer, 0, bytes.byteLength / 4);
    expect([...words.slice(0, 8)]).toEqual([7, 0, 0, 0, 1, 2, 3, 0]);
    expect(new Float32Array(bytes.buffer, 48, 1)[0]).toBe(0.5);
    expect(bytes.byteLength % 16).toBe(0);
  });
});

describe.skipIf(skip)(titled('webgpu backend', skip), () => {
  const warnings: string[] = [];
  let gpu!: WebGPUBackend;
  beforeAll(async () => {
    T.setWarningHandler((m) => warnings.push(m));
    vi.spyOn(console, 'warn').mockImplementation((m: string) => {
      warnings.push(m);
    });
    gpu = (await T.initBackend('webgpu')) as unknown as WebGPUBackend;
    await T.setBackend('webgpu');
  });

  // An op only the js backend implements, so webgpu must fall back without a sync read.
  const hostOnly = T.defineOp<{ scale: number }>({
    name: 'testHostOnlyScale',
    infer: ([x]) => [{ shape: x.shape, dtype: x.dtype }],
  });
  T.registerKernel('testHostOnlyScale', 'js', (inputs: readonly T.KernelTensor[], { scale }: { scale: number }) => {
    const x = (inputs[0].storage as unknown as { data: Float32Array }).data;
    if (x.some((v) => v < 0)) throw new RangeError('testHostOnlyScale: negative input');
    const y = x.map((v) => v * scale);
    return [{ backend: 'js', data: y, byteLength: y.byteLength } as T.Storage];
  });

  it('probe reports the adapter, its limits and an honest auto rank', () => {
    const d = avail.details!;
    for (const key of ['vendor', 'architecture', 'description', 'isFallbackAdapter', 'maxStorageBufferBindingSize']) {
      expect(d, key).toHaveProperty(key);
    }
    expect(avail.autoRank).toBe(d.emulated ? 5 : 90);
    if (String(d.description).includes('SwiftShader')) {
      expect(d.emulated).toBe(true);
      expect(avail.reason).toMatch(/CPU-emulated/);
    }
  });

  it('round-trips every dtype with logical byte lengths (odd f16 and u8 sizes)', async () => {
    const cases: [T.DType, number[]][] = [
      ['f32', [1.5, -2, 3e-8, 1e30, 0]],
      ['f16', [1.5, -2, 65504, 6e-8, 0.1]],
      ['i32', [-2147483648, 2147483647, 0, 7, -1]],
      ['u8', [0, 255, 7, 128, 1]],
    ];
    const host: Record<string, (v: number[]) => ArrayLike<number>> = {
      f32: (v) => Float32Array.from(v),
      f16: (v) => T.f16ArrayToF32(T.f32ArrayToF16(v)),
      i32: (v) => Int32Array.from(v),
      u8: (v) => Uint8Array.from(v),
    };
    for (const [dtype, values] of cases) {
      const t = T.tensor(values, [5], dtype);
      expect(t.ref.storage.byteLength).toBe(5 * T.bytesPerElement(dtype));
      expect([...(await t.data())], dtype).toEqual(Array.from(host[dtype](values)));
      t.dispose();
    }
  });

  it('f16 narrowing on the GPU rounds to nearest even, like the host', async () => {
    // Halfway cases and overflow: 1 + 2^-11 ties to 1, 1 + 3·2^-11 ties up, 70000 → inf.
    const values = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, -70000, 2 ** -25, 3 * 2 ** -25];
    const x = T.tensor(values, [6], 'f32');
    const h = T.cast(x, 'f16');
    expect([...(await h.data())]).toEqual([...T.f16ArrayToF32(T.f32ArrayToF16(values))]);
    T.dispose([x, h]);
  });

  it('batches many dispatches into few submits and reads back once', async () => {
    const before = gpu.stats();
    let x = T.tensor([1, 2, 3], [3]);
    for (let i = 0; i < 40; i++) {
      const y = T.add(x, 1);
      x.dispose();
      x = y;
    }
    expect([...(await x.data())]).toEqual([41, 42, 43]);
    const after = gpu.stats();
    expect(after.dispatches - before.dispatches).toBeGreaterThanOrEqual(40);
    expect(after.submits - before.submits).toBeLessThanOrEqual(2);
    x.dispose();
  });

  it('reuses freed buffers from the pool', async () => {
    const a = T.tensor(new Array(1000).fill(1), [1000]);
    const b = T.mul(a, 2);
    await b.data();
    b.dispose();
    const before = gpu.pool.stats().reused;
    const c = T.mul(a, 3);
    expect([...(await c.data()).slice(0, 2)]).toEqual([3, 3]);
    expect(gpu.pool.stats().reused).toBeGreaterThan(before);
    T.dispose([a, c]);
  });

  it('rejects a tensor over maxStorageBufferBindingSize, naming the limit', () => {
    const limit = gpu.limits.maxStorageBufferBindingSize;
    expect(() => gpu.alloc({ shape: [limit / 4 + 1], dtype: 'f32' })).toThrow(/maxStorageBufferBindingSize/);
  });

  it('falls back to js for an op it lacks, in order, without a synchronous read', async () => {
    warnings.length = 0;
    const x = T.tensor([1, 2, 3, 4], [4]);
    // GPU-computed input, host op, then GPU ops on its result: ordering must hold.
    const y = T.tidy(() => T.add(T.run1(hostOnly, [T.mul(x, 2)], { scale: 10 }), 1));
    expect([...(await y.data())]).toEqual([21, 41, 61, 81]);
    expect(T.fallbackLedger()).toContainEqual(
      expect.objectContaining({ op: 'testHostOnlyScale', kind: 'fallback', from: 'webgpu', to: 'js' }),
    );
    expect(warnings.join('\n')).toMatch(/webgpu has no 'testHostOnlyScale' kernel/);
    T.dispose([x, y]);
  });

  it('an error in a deferred fallback surfaces at the next read', async () => {
    const x = T.tensor([1, -2], [2]);
    const y = T.tidy(() => T.run1(hostOnly, [T.neg(x)], { scale: 1 }));
    await expect(y.data()).rejects.toThrow(/negative input/);
    // The error is reported once; the backend keeps working.
    const z = T.add(x, 1);
    expect([...(await z.data())]).toEqual([2, -1]);
    T.dispose([x, y, z]);
  });

  it('a fallback whose inputs the host knows runs at once and throws at the call', () => {
    const x = T.tensor([-1], [1]);
    expect(() => T.run1(hostOnly, [x], { scale: 1 })).toThrow(/negative input/);
    x.dispose();
  });

  it('an index error found on the GPU is thrown by the next read', async () => {
    const table = T.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const ids = T.tensor([0, 1], [2], 'i32');
    // Indices computed on the GPU ([5, 6]): only the GPU check sees them; it reports the first.
    const bad = T.add(ids, 5);
    const rows = T.gather(table, bad, 0);
    await expect(rows.data()).rejects.toThrow(/gather: index 5 is out of range for axis 0 of size 3/);
    const ok = T.gather(table, ids, 0);
    expect([...(await ok.data())]).toEqual([1, 2, 3, 4]);
    T.dispose([table, ids, bad, rows, ok]);
  });

  it('long chains get host snapshots, so recovery never replays more than a bounded chain', async () => {
    let x = T.tensor([1, 2], [2]);
    for (let i = 0; i < 3 * SNAPSHOT_DEPTH; i++) {
      const y = T.add(x, 1);
      x.dispose();
      x = y;
    }
    await gpu.sync();
    // Let the snapshot maps settle (they resolve after the work they copy).
    await new Promise((r) => setTimeout(r, 50));
    const storage = x.ref.storage as GpuStorage;
    expect(storage.source.node.depth).toBeLessThanOrEqual(SNAPSHOT_DEPTH);
    expect([...(await x.data())]).toEqual([1 + 3 * SNAPSHOT_DEPTH, 2 + 3 * SNAPSHOT_DEPTH]);
    x.dispose();
  });

  it('f64 tensors live on webgpu as bytes and their ops run on the host, in the ledger', async () => {
    const x = T.tensor([1, 2], [2], 'f32');
    const before = T.fallbackLedger();
    const y = T.tidy(() => T.cast(T.mul(T.cast(x, 'f64'), 0.5), 'f32'));
    expect([...(await y.data())]).toEqual([0.5, 1]);
    const delta = T.ledgerDelta(before, T.fallbackLedger());
    expect(delta.map((e) => `${e.op} ${e.kind} ${e.from}->${e.to} ${e.count}: ${e.why}`).sort()).toEqual([
      'cast reference webgpu->js 2: f64 is js-only',
      'mul reference webgpu->js 1: f64 is js-only',
    ]);
    T.setStrictBackend(true);
    try {
      expect(() => T.cast(x, 'f64')).toThrow(
        /strict backend: webgpu runs 'cast' with the js reference kernel \(f64 is js-only\)/,
      );
    } finally {
      T.setStrictBackend(false);
    }
    T.dispose([x, y]);
  });
});
