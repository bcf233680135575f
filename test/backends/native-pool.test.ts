/**
 * The native backend's output pool: freed outputs come back zeroed for the next output of
 * the same type and length, views and small arrays are never pooled, the pool stays under
 * its cap, and reusing arrays never lets one live tensor see another's values.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { loadNativeAddon, nativePoolStats } from '../../backends/native/index.js';
import { runReference } from '../../backends/native/kernel.js';
import { defaultPoolCap, HostArrayPool, poolCapFromEnv } from '../../backends/native/pool.js';
import { nativeStorage } from '../../backends/native/storage.js';
import * as T from '../../index.js';

const BIG = 1 << 16; // elements: 256 KiB of f32, over the pooling threshold

describe('HostArrayPool', () => {
  it('hands a freed array back, zeroed, for the same type and length only', () => {
    const pool = new HostArrayPool(1 << 24);
    const a = pool.take(Float32Array, BIG);
    a.fill(7);
    pool.give(a);
    expect(pool.take(Float32Array, BIG + 1)).not.toBe(a);
    expect(pool.take(Int32Array, BIG)).not.toBe(a);
    const again = pool.take(Float32Array, BIG);
    expect(again).toBe(a);
    expect(again.every((v) => v === 0)).toBe(true);
    expect(pool.stats()).toMatchObject({ reused: 1, bytes: 0 });
  });

  it('leaves a reused array as it was when asked not to zero it, and poisons it on request', () => {
    const pool = new HostArrayPool(1 << 24);
    const a = pool.take(Float32Array, BIG);
    a.fill(7);
    pool.give(a);
    const kept = pool.take(Float32Array, BIG, false);
    expect(kept).toBe(a);
    expect(kept[0]).toBe(7);
    pool.give(kept);
    pool.poison = true;
    expect(Number.isNaN(pool.take(Float32Array, BIG, false)[5])).toBe(true);
    expect(Number.isNaN(pool.take(Float32Array, 3, false)[2])).toBe(true); // fresh and small too
    expect(pool.take(Uint8Array, 3, false)[0]).toBe(0xcd);
    expect(pool.take(Float32Array, 3)[0]).toBe(0); // zeroed outputs are never poisoned
  });

  it('keeps no small arrays, no views into larger buffers, and nothing twice', () => {
    const pool = new HostArrayPool(1 << 24);
    pool.give(new Float32Array(16));
    pool.give(new Float32Array(BIG * 2).subarray(BIG));
    expect(pool.stats().bytes).toBe(0);
    const a = new Float32Array(BIG);
    pool.give(a);
    pool.give(a);
    expect(pool.stats().bytes).toBe(a.byteLength);
  });

  it('drops the oldest arrays to stay under its cap', () => {
    const bytes = BIG * 4;
    const pool = new HostArrayPool(2 * bytes);
    const [a, b, c] = [new Float32Array(BIG), new Float32Array(BIG), new Float32Array(BIG)];
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect(pool.stats().bytes).toBe(2 * bytes);
    // a was evicted: the two takes give c and b (newest first), the third is fresh.
    const got = [pool.take(Float32Array, BIG), pool.take(Float32Array, BIG), pool.take(Float32Array, BIG)];
    expect(got[0]).toBe(c);
    expect(got[1]).toBe(b);
    expect(got[2]).not.toBe(a);
  });

  it('reads its cap from EAI_NATIVE_POOL_MB and names the variable when it is not a size', () => {
    expect(poolCapFromEnv({})).toBe(defaultPoolCap());
    expect(defaultPoolCap(4 * 1024 ** 3)).toBe(512 * 1024 ** 2); // an eighth of a 4 GiB machine
    expect(defaultPoolCap(64 * 1024 ** 3)).toBe(1024 ** 3); // at most 1 GiB
    expect(poolCapFromEnv({ EAI_NATIVE_POOL_MB: '0' })).toBe(0);
    expect(poolCapFromEnv({ EAI_NATIVE_POOL_MB: '1.5' })).toBe(1.5 * 1024 * 1024);
    expect(() => poolCapFromEnv({ EAI_NATIVE_POOL_MB: 'lots' })).toThrow(/EAI_NATIVE_POOL_MB='lots'.*megabytes/);
    const off = new HostArrayPool(0);
    off.give(new Float32Array(BIG));
    expect(off.stats().bytes).toBe(0);
  });
});

describe.runIf(loadNativeAddon().ok)('the native backend with its output pool', () => {
  it('reuses freed outputs without one live tensor seeing another one’s values', async () => {
    await T.setBackend('native');
    try {
      const n = BIG;
      const x = T.tensor(
        Float32Array.from({ length: n }, (_, i) => (i % 13) - 6),
        [n],
      );
      const kept = T.relu(x);
      const expected = Float32Array.from(await kept.data());
      const before = nativePoolStats().reused;
      for (let i = 0; i < 5; i++) {
        const tmp = T.mul(x, T.scalar(i + 2));
        const values = await tmp.data();
        expect(values[1]).toBe(((1 % 13) - 6) * (i + 2));
        tmp.dispose();
      }
      // The loop's outputs (and the scalars' products) were recycled…
      expect(nativePoolStats().reused).toBeGreaterThan(before);
      // …and never the array of a tensor still alive.
      expect(await kept.data()).toEqual(expected);
      T.dispose([x, kept]);
    } finally {
      await T.setBackend('js');
    }
  });

  it('copies an output that a kernel passed through from its input, so two storages never share an array', () => {
    const data = new Float32Array(BIG).fill(3);
    const input = { storage: nativeStorage(data), shape: [BIG], dtype: 'f32' as const };
    const [out] = runReference('identity', (xs) => [xs[0].data], [input], {}, [{ shape: [BIG], dtype: 'f32' }]);
    expect(out.data).not.toBe(data);
    expect(out.data).toEqual(data);
  });
});
