import * as T from '../../../index.js';
import type { DecoderLayerAttrs } from '../../../kernels/decoder/decoder.js';
import type { InputSpec, OpCase } from '../harness.js';

/** h [B, T, H] and the nine weights of a layer with `heads`×`d` query heads, `kv` kv heads and MLP width `I`. */
function layerInputs(B: number, Tn: number, H: number, heads: number, kv: number, d: number, I: number): InputSpec[] {
  const q = heads * d;
  const k = kv * d;
  return [
    { shape: [B, Tn, H] },
    { shape: [H], kind: 'positive' },
    { shape: [q, H] },
    { shape: [k, H] },
    { shape: [k, H] },
    { shape: [H, q] },
    { shape: [H], kind: 'positive' },
    { shape: [I, H] },
    { shape: [I, H] },
    { shape: [H, I] },
  ];
}

const attrs = (a: Partial<DecoderLayerAttrs> & Pick<DecoderLayerAttrs, 'numHeads' | 'numKvHeads' | 'headDim'>) => ({
  cached: 0,
  eps: 1e-5,
  ropeBase: 10000,
  ropeScale: 1,
  ropeTraditional: false,
  ...a,
});

function run(a: DecoderLayerAttrs) {
  return (xs: T.Tensor[]) => {
    const [h, inputNorm, wq, wk, wv, wo, postNorm, wGate, wUp, wDown, keys, values] = xs;
    const w = { inputNorm, wq, wk, wv, wo, postNorm, wGate, wUp, wDown };
    return T.decoderLayer(h, w, a, keys ? { keys, values } : undefined);
  };
}

/** The fused layer sums hundreds of products per output through two norms: f32 rounding, not a per-op 2e-5. */
const tol = { f32: { rtol: 1e-4, atol: 1e-4 } };

export const decoderCases: OpCase[] = [
  {
    name: 'decoderLayer decode step after 33 cached rows (GQA 4/2, cache of 40 rows)',
    inputs: [...layerInputs(1, 1, 16, 4, 2, 4, 24), { shape: [1, 2, 40, 4] }, { shape: [1, 2, 40, 4] }],
    run: run(attrs({ cached: 33, numHeads: 4, numKvHeads: 2, headDim: 4 })),
    dtypes: ['f32'],
    tol,
  },
  {
    name: 'decoderLayer prefill of 7 tokens, batch 2, traditional RoPE, no cache',
    inputs: layerInputs(2, 7, 12, 3, 3, 4, 17),
    run: run(attrs({ numHeads: 3, numKvHeads: 3, headDim: 4, ropeTraditional: true, ropeScale: 0.5 })),
    dtypes: ['f32'],
    tol,
  },
  {
    name: 'decoderLayer 3 new rows after 1 cached (batch 2, MQA 2/1, head 8)',
    inputs: [...layerInputs(2, 3, 16, 2, 1, 8, 33), { shape: [2, 1, 1, 8] }, { shape: [2, 1, 1, 8] }],
    run: run(attrs({ cached: 1, numHeads: 2, numKvHeads: 1, headDim: 8, ropeBase: 500 })),
    dtypes: ['f32'],
    tol,
  },
  {
    name: 'decoderLayer a cache shorter than cached rejected',
    inputs: [...layerInputs(1, 1, 8, 2, 2, 4, 8), { shape: [1, 2, 3, 4] }, { shape: [1, 2, 3, 4] }],
    run: run(attrs({ cached: 5, numHeads: 2, numKvHeads: 2, headDim: 4 })),
    throws: /cached keys must be \[1, 2, ≥ 5, 4\], got \[1, 2, 3, 4\]/,
    dtypes: ['f32'],
  },
  {
    name: 'decoderLayer heads not a multiple of kv heads rejected',
    inputs: layerInputs(1, 1, 12, 3, 2, 4, 8),
    run: run(attrs({ numHeads: 3, numKvHeads: 2, headDim: 4 })),
    throws: /numHeads 3 must be a multiple of numKvHeads 2/,
    dtypes: ['f32'],
  },
];
