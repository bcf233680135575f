/**
 * Thread counts in the round-robin suites: a contestant warms up again whenever the pool was
 * rebuilt since it last ran (by anyone), and the original count comes back once, at the end.
 */
import { describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../../backends/native/loader.js';
import {
  backendStatus,
  OriginalThreads,
  type PoolWatch,
  poolGeneration,
  setBackendThreads,
  warmupAfter,
} from '../../bench/toolkit.js';

const native = await backendStatus('native');

describe.runIf(native.available)('bench thread control', () => {
  it('warms up after any rebuild of the pool since the contestant last ran, and only then', async () => {
    const original = native.threads ?? 1;
    const originals = new OriginalThreads();
    const one: PoolWatch = { generation: null };
    const two: PoolWatch = { generation: null };
    try {
      const a = await setBackendThreads(native, 1);
      originals.note('native', a);
      expect(warmupAfter(a, 0, one)).toBe(1); // first run of this contestant
      const again = await setBackendThreads(native, 1);
      expect(again.generation).toBe(a.generation); // same count: no rebuild
      expect(warmupAfter(again, 0, one)).toBe(0);

      const b = await setBackendThreads(native, 2);
      originals.note('native', b);
      expect(b.generation).toBe(a.generation + 1);
      expect(warmupAfter(b, 0, two)).toBe(1);
      // The 1-thread contestant's next turn finds a pool rebuilt by the other one.
      const c = await setBackendThreads(native, 1);
      expect(warmupAfter(c, 3, one)).toBe(3);
      expect(warmupAfter(await setBackendThreads(native, 2), 0, two)).toBe(1);
      expect(poolGeneration('native')).toBe(a.generation + 3);
    } finally {
      await originals.restore();
    }
    // Restoring put the count from before the first change back.
    const loaded = loadNativeAddon();
    expect(loaded.ok && loaded.addon.info().threads).toBe(original);
  });

  it('leaves backends without a pool alone', async () => {
    const js = await setBackendThreads(await backendStatus('js'), 2);
    expect(js.note).toMatch(/single-threaded/);
    expect(warmupAfter(null, 2, { generation: null })).toBe(2);
  });
});
