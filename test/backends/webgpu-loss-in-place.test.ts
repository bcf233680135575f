/**
 * Device loss after in-place writes: a cache overwritten by sliceUpdate keeps its storage, whose
 * lineage node each write replaces (the new node reads the old one), so a lost device still
 * rebuilds every row written, including those never read back. Oracle: the rows written.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import type { WebGPUBackend } from '../../backends/webgpu/backend.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const skip = await backendSkipReason('webgpu');

describe.skipIf(skip)(titled('device loss after in-place updates', skip), () => {
  it('rebuilds the cache from the replaced lineage nodes', async () => {
    const originalWarn = console.warn;
    console.warn = () => {};
    try {
      await T.setBackend('webgpu');
      const gpu = (await T.initBackend('webgpu')) as unknown as WebGPUBackend;
      let cache = T.zeros([1, 2, 6, 4]);
      const storage = cache.ref.storage;
      for (let t = 0; t < 6; t++) {
        const row = T.tidy(() => T.add(T.full([1, 2, 1, 4], t), 0.5));
        cache = T.sliceUpdate(cache, row, [0, 0, t, 0]);
        row.dispose();
        // A read halfway replaces the lineage with host data; later writes chain on it.
        if (t === 2) await cache.data();
      }
      expect(cache.ref.storage).toBe(storage);
      gpu.device.destroy();
      const got = await cache.data();
      expect(gpu.lost).toBe(true);
      for (let i = 0; i < got.length; i++) expect(got[i]).toBe((Math.floor(i / 4) % 6) + 0.5);
      cache.dispose();
    } finally {
      console.warn = originalWarn;
      await T.setBackend('js');
    }
  });
});
