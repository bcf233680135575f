/**
 * Device loss mid-pipeline: the device is destroyed while work is encoded but not yet
 * submitted (and while a fallback op waits on GPU data); the results still come back
 * right, rebuilt on the host from lineage, and later ops keep working on the host.
 * Oracle: the same pipeline on the js backend.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import type { WebGPUBackend } from '../../backends/webgpu/backend.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const skip = await backendSkipReason('webgpu');

/** A little pipeline touching several families (and a strided view, and f16). */
function pipeline(x: T.Tensor, w: T.Tensor): T.Tensor {
  return T.tidy(() => {
    const h = T.gelu(T.add(T.mul(x, w), 0.25));
    const t = T.transpose(h);
    const s = T.softmax(T.contiguous(t), -1);
    const half = T.cast(T.sum(T.mul(s, t), 1), 'f16');
    return T.cast(T.exp(half), 'f32');
  });
}

async function onJs(values: number[], weights: number[]): Promise<number[]> {
  await T.setBackend('js');
  const x = T.tensor(values, [4, 6]);
  const w = T.tensor(weights, [6]);
  const y = pipeline(x, w);
  const out = [...(await y.data())];
  T.dispose([x, w, y]);
  return out;
}

describe.skipIf(skip)(titled('device loss mid-pipeline', skip), () => {
  const rng = new T.Rng(11);
  const values = Array.from({ length: 24 }, () => rng.normal());
  const weights = Array.from({ length: 6 }, () => rng.normal());

  it('returns the right answer and keeps running on the host', async () => {
    const want = await onJs(values, weights);
    const warnings: string[] = [];
    T.setWarningHandler((m) => warnings.push(m));
    const originalWarn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    try {
      await T.setBackend('webgpu');
      const gpu = (await T.initBackend('webgpu')) as unknown as WebGPUBackend;
      const x = T.tensor(values, [4, 6]);
      const w = T.tensor(weights, [6]);
      // Half the pipeline is encoded (not submitted), then the device goes away.
      const partial = T.tidy(() => T.mul(T.add(x, 0), 1));
      gpu.device.destroy();
      const y = pipeline(partial, w);
      const got = [...(await y.data())];
      expect(gpu.lost).toBe(true);
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => {
        expect(Math.abs(g - want[i]), `element ${i}`).toBeLessThan(2e-3 * Math.abs(want[i]) + 1e-3);
      });
      expect(warnings.join('\n')).toMatch(/WebGPU device lost .*rebuilt on the host/);
      // Later ops on the lost backend run on the host, still on tensors created before.
      const z = T.add(x, 1);
      expect([...(await z.data())]).toEqual(values.map((v) => Math.fround(v) + 1).map(Math.fround));
      T.dispose([x, w, partial, y, z]);
    } finally {
      console.warn = originalWarn;
    }
  });
});
