import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { conv2dModel, matmulModel } from '../../bench/peers/onnx-model.js';
import {
  isUnavailable,
  openOrtNode,
  openOrtWeb,
  type PeerRunner,
  type PeerUnavailable,
} from '../../bench/peers/ort.js';

async function runModel(model: Uint8Array, feeds: Record<string, { data: number[]; dims: number[] }>) {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.from(v.data), v.dims)]),
    );
    const out = (await session.run(tensors))[session.outputNames[0]];
    return { dims: [...out.dims], data: Array.from(out.data as Float32Array) };
  } finally {
    await session.release();
  }
}

describe('ONNX models built in memory', () => {
  it('MatMul: onnxruntime-node loads it and computes a hand-checked product', async () => {
    // [[1,2,3],[4,5,6]] · [[1,0],[0,1],[1,1]] = [[1+3, 2+3], [4+6, 5+6]]
    const out = await runModel(matmulModel(2, 3, 2), {
      A: { data: [1, 2, 3, 4, 5, 6], dims: [2, 3] },
      B: { data: [1, 0, 0, 1, 1, 1], dims: [3, 2] },
    });
    expect(out.dims).toEqual([2, 2]);
    expect(out.data).toEqual([4, 5, 10, 11]);
  });

  it('Conv with the weight as an input: a hand-computed 3×3 ⋆ 2×2 (no padding)', async () => {
    // x = 1..9 in a 3×3 grid, w = [[1,0],[0,-1]]: y[i][j] = x[i][j] − x[i+1][j+1] = −4 everywhere.
    const out = await runModel(conv2dModel({ input: [1, 1, 3, 3], weight: [1, 1, 2, 2], padding: 0 }), {
      X: { data: [1, 2, 3, 4, 5, 6, 7, 8, 9], dims: [1, 1, 3, 3] },
      W: { data: [1, 0, 0, -1], dims: [1, 1, 2, 2] },
    });
    expect(out.dims).toEqual([1, 1, 2, 2]);
    expect(out.data).toEqual([-4, -4, -4, -4]);
  });

  it('Conv with a constant weight and padding 1: two output channels, hand-computed', async () => {
    // A 3×3 all-ones kernel sums each zero-padded 3×3 neighbourhood of x = [[1,2],[3,4]]: every sum is 10.
    // The second kernel is the identity (centre 1): y = x.
    const weight = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    const out = await runModel(
      conv2dModel({ input: [1, 1, 2, 2], weight: [2, 1, 3, 3], padding: 1, weightData: weight }),
      {
        X: { data: [1, 2, 3, 4], dims: [1, 1, 2, 2] },
      },
    );
    expect(out.dims).toEqual([1, 2, 2, 2]);
    expect(out.data).toEqual([10, 10, 10, 10, 1, 2, 3, 4]);
  });

  it('rejects an initializer whose values do not fill its dims', () => {
    expect(() =>
      conv2dModel({ input: [1, 1, 2, 2], weight: [1, 1, 3, 3], padding: 1, weightData: new Float32Array(8) }),
    ).toThrow(/8 values for dims \[1,1,3,3\] \(9\)/);
  });
});

describe('peer runners', () => {
  const job = {
    model: matmulModel(2, 2, 2),
    // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]
    feeds: [
      { name: 'A', dims: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
      { name: 'B', dims: [2, 2], data: Float32Array.of(5, 6, 7, 8) },
    ],
    warmup: 1,
    runs: 2,
  };

  async function check(opened: PeerRunner | PeerUnavailable): Promise<void> {
    if (isUnavailable(opened)) throw new Error(`peer unavailable: ${opened.reason}`);
    const runner = opened;
    try {
      expect(runner.version).toMatch(/^\d+\.\d+/);
      const r = await runner.run(job);
      expect(r.samples).toHaveLength(2);
      expect(Array.from(r.output)).toEqual([19, 22, 43, 50]);
      // The caller's arrays are still usable (the worker got copies).
      expect(job.feeds[0].data).toEqual(Float32Array.of(1, 2, 3, 4));
      // One session, several calls with other inputs: I · B = B.
      const session = await runner.open(job.model);
      try {
        expect(Array.from((await session.run(job.feeds, 0, 1)).output)).toEqual([19, 22, 43, 50]);
        const identity = { name: 'A', dims: [2, 2], data: Float32Array.of(1, 0, 0, 1) };
        const again = await session.run([identity, job.feeds[1]], 1, 3);
        expect(again.samples).toHaveLength(3);
        expect(Array.from(again.output)).toEqual([5, 6, 7, 8]);
        await expect(session.run(job.feeds, 0, 0)).rejects.toThrow(/runs must be ≥ 1/);
      } finally {
        await session.close();
      }
    } finally {
      await runner.close();
    }
  }

  it('onnxruntime-node times runs and returns the product', async () => {
    await check(await openOrtNode(1));
  });

  it('onnxruntime-web (wasm, in a worker thread) times runs and returns the product', async () => {
    await check(await openOrtWeb(1, matmulModel(2, 2, 2)));
  });
});
