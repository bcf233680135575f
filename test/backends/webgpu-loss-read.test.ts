/**
 * Device loss while a read is in flight (submitted work, mapAsync pending) and while a
 * fallback op is waiting for GPU data: the pending reads still resolve to the right
 * values. Oracle: host arithmetic on the same inputs.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import type { WebGPUBackend } from '../../backends/webgpu/backend.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const skip = await backendSkipReason('webgpu');

// An op only js implements: on webgpu it waits for GPU data, then runs on the host.
const hostOnly = T.defineOp<Record<string, never>>({
  name: 'testHostOnlyDouble',
  infer: ([x]) => [{ shape: x.shape, dtype: x.dtype }],
});
T.registerKernel('testHostOnlyDouble', 'js', (inputs: readonly T.KernelTensor[]) => {
  const y = (inputs[0].storage as unknown as { data: Float32Array }).data.map((v) => 2 * v);
  return [{ backend: 'js', data: y, byteLength: y.byteLength } as T.Storage];
});

describe.skipIf(skip)(titled('webgpu reads and device loss', skip), () => {
  it('pending reads survive the device being destroyed under them', async () => {
    T.setWarningHandler(() => {});
    const originalWarn = console.warn;
    console.warn = () => {};
    try {
      await T.setBackend('webgpu');
      const gpu = (await T.initBackend('webgpu')) as unknown as WebGPUBackend;
      const values = [0.5, -1, 2, 3.5, -4, 8];
      const x = T.tensor(values, [2, 3]);
      const y = T.tidy(() => T.sum(T.mul(x, x), 1));
      // A fallback op fed by GPU data: its host step waits on a map when the device dies.
      const z = T.tidy(() => T.logSoftmax(T.run1(hostOnly, [T.add(x, 0)], {}), -1));
      const pendingY = y.data();
      const pendingZ = z.data();
      gpu.device.destroy();
      const [gotY, gotZ] = await Promise.all([pendingY, pendingZ]);
      expect(gpu.lost).toBe(true);
      const rows = [values.slice(0, 3), values.slice(3)];
      expect([...gotY]).toEqual(rows.map((r) => Math.fround(r.reduce((s, v) => s + v * v, 0))));
      const want = rows.flatMap((r) => {
        const m = Math.max(...r.map((v) => 2 * v));
        const lse = m + Math.log(r.reduce((s, v) => s + Math.exp(2 * v - m), 0));
        return r.map((v) => 2 * v - lse);
      });
      gotZ.forEach((g, i) => {
        expect(Math.abs(g - want[i]), `element ${i}`).toBeLessThan(1e-5);
      });
      T.dispose([x, y, z]);
    } finally {
      console.warn = originalWarn;
    }
  });
});
