/**
 * The fused decoder layer against an independent oracle: the same layer built from the separate ops
 * (rmsNorm, linear, rope, scaledDotProductAttention, silu) as models/llama/model.ts builds it, on js, for a
 * decoding step after cached rows and for a block of new rows; on native too when it is built.
 */
import { afterAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import * as T from '../../index.js';
import type { DecoderLayerAttrs } from '../../kernels/decoder/decoder.js';
import { backendSkipReason } from '../helpers/requirements.js';

const H = 16;
const heads = 4;
const kvHeads = 2;
const d = 4;
const I = 24;

function random(shape: number[], seed: number, scale = 0.5): T.Tensor {
  const rng = new T.Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return T.tensor(
    Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale),
    shape,
  );
}

/** The layer as separate ops: [h', keys, values] with keys/values the new rows [B, kvHeads, T, d]. */
function separate(h: T.Tensor, w: T.DecoderLayerWeights, a: DecoderLayerAttrs, cacheK?: T.Tensor, cacheV?: T.Tensor) {
  const [B, L] = h.shape;
  const headsOf = (t: T.Tensor, n: number) => T.transpose(T.reshape(t, [B, L, n, d]), 1, 2);
  const rope = (t: T.Tensor) =>
    T.rope(t, { offset: a.cached, base: a.ropeBase, scale: a.ropeScale, traditional: a.ropeTraditional });
  const x = T.rmsNorm(h, w.inputNorm, a.eps);
  const q = rope(headsOf(T.linear(x, w.wq), heads));
  const k = rope(headsOf(T.linear(x, w.wk), kvHeads));
  const v = headsOf(T.linear(x, w.wv), kvHeads);
  const allK = cacheK ? T.concat([T.slice(cacheK, [null, null, { end: a.cached }]), k], 2) : k;
  const allV = cacheV ? T.concat([T.slice(cacheV, [null, null, { end: a.cached }]), v], 2) : v;
  const att = T.scaledDotProductAttention(q, allK, allV, { causal: true });
  const h2 = T.add(h, T.linear(T.reshape(T.transpose(att, 1, 2), [B, L, heads * d]), w.wo));
  const n = T.rmsNorm(h2, w.postNorm, a.eps);
  const mlp = T.linear(T.mul(T.silu(T.linear(n, w.wGate)), T.linear(n, w.wUp)), w.wDown);
  return [T.add(h2, mlp), k, v];
}

async function maxDiff(a: T.Tensor, b: T.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

const backends = (await Promise.all(
  (['js', 'native'] as const).map(async (b) => [b, await backendSkipReason(b)] as const),
)) as readonly (readonly [T.BackendName, string | null])[];

describe.each(backends)('decoderLayer against the separate ops on %s', (backend, skip) => {
  afterAll(async () => {
    await T.setBackend('js');
  });

  it.skipIf(skip !== null)(
    `matches a decode step after 5 cached rows and a 3-row block, both RoPE layouts${skip ? ` [skipped: ${skip}]` : ''}`,
    async () => {
      await T.setBackend(backend);
      for (const [T_, cached, traditional] of [
        [1, 5, false],
        [3, 5, true],
        [2, 0, false],
      ] as const) {
        const w: T.DecoderLayerWeights = {
          inputNorm: random([H], 1, 1),
          wq: random([heads * d, H], 2),
          wk: random([kvHeads * d, H], 3),
          wv: random([kvHeads * d, H], 4),
          wo: random([H, heads * d], 5),
          postNorm: random([H], 6, 1),
          wGate: random([I, H], 7),
          wUp: random([I, H], 8),
          wDown: random([H, I], 9),
        };
        const h = random([2, T_, H], 10, 1);
        const cacheK = random([2, kvHeads, 9, d], 11, 1);
        const cacheV = random([2, kvHeads, 9, d], 12, 1);
        const attrs: DecoderLayerAttrs = {
          cached,
          numHeads: heads,
          numKvHeads: kvHeads,
          headDim: d,
          eps: 1e-5,
          ropeBase: 10000,
          ropeScale: 1,
          ropeTraditional: traditional,
        };
        const cache = cached > 0 ? { keys: cacheK, values: cacheV } : undefined;
        const fused = T.decoderLayer(h, w, attrs, cache);
        const want = T.tidy(() =>
          cached > 0 ? separate(h, w, attrs, cacheK, cacheV) : separate(h, w, attrs),
        ) as T.Tensor[];
        for (let i = 0; i < 3; i++) expect(await maxDiff(fused[i], want[i]), `output ${i}`).toBeLessThan(2e-5);
        T.dispose([...fused, ...want, h, cacheK, cacheV, ...Object.values(w)]);
      }
      expect(T.memory().tensors).toBe(0);
    },
  );
});
