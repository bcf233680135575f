/**
 * The pieces of `bench:lm` that are about language models rather than about measuring: the synthetic
 * ~110M Llama config and its seeded random weights, the bytes a decoding step streams, the FLOPs of a
 * prefill, and the KV cache's size, and the greedy decode loop timed on the
 * synthetic model (its bound, the memory bandwidth, is measured by bench/bandwidth.ts).
 */

import { Rng } from '../core/random.js';
import * as T from '../index.js';
import type { LlamaConfig } from '../models/llama/config.js';
import { CACHE_STEP } from '../models/llama/kv-cache.js';
import type { CausalLM } from '../models/llama/model.js';
import { expectedWeightNames, type HostWeight, type WeightSource } from '../models/llama/weights.js';

/** The greedy continuation of "Once upon a time" on stories260K (../shared/README.md): every backend must produce it. */
export const STORIES_PROMPT = 'Once upon a time';
export const STORIES_CONTINUATION = ', there was a little girl named Lily. She loved to play outside in the park.';

/**
 * llama2.c's stories110M shape (dim 768, 12 layers, 12 heads, hidden 2048, vocab 32000, tied head): the issue's
 * "~110M synthetic Llama". Random weights, so only its speed means anything.
 */
export const SYNTHETIC_110M: LlamaConfig = {
  architecture: 'llama',
  hiddenSize: 768,
  intermediateSize: 2048,
  numLayers: 12,
  numHeads: 12,
  numKvHeads: 12,
  headDim: 64,
  vocabSize: 32000,
  maxPositions: 1024,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  ropeTraditional: false,
  attentionBias: false,
  outputBias: false,
  mlpBias: false,
  tieWordEmbeddings: true,
  bosTokenId: 1,
  eosTokenIds: [2],
};

/** [out, in] of every projection of one layer. */
function layerMatrices(c: LlamaConfig): [number, number][] {
  const H = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  return [
    [q, H],
    [kv, H],
    [kv, H],
    [H, q],
    [I, H],
    [I, H],
    [H, I],
  ];
}

/** Weights of the projections of all layers (norms excluded: they are 2·hidden per layer). */
export function layerParameters(c: LlamaConfig): number {
  return c.numLayers * layerMatrices(c).reduce((s, [o, i]) => s + o * i, 0);
}

/** Every parameter the model holds (the tied head counted once). */
export function totalParameters(c: LlamaConfig): number {
  const head = c.tieWordEmbeddings ? 0 : c.vocabSize * c.hiddenSize;
  return layerParameters(c) + c.vocabSize * c.hiddenSize + head + (2 * c.numLayers + 1) * c.hiddenSize;
}

/**
 * f32 bytes one decoding step must read: every projection and the output head once (the embedding row and
 * the norms are negligible). Decode tokens/s can be at most bandwidth ÷ this.
 */
export function bytesPerDecodedToken(c: LlamaConfig): number {
  return 4 * (layerParameters(c) + c.vocabSize * c.hiddenSize);
}

/**
 * FLOPs of a prefill of `tokens` tokens from an empty cache with logits for the last position only: the
 * projections (2 per weight per token), causal attention (q·kᵀ and p·v over the t + 1 keys of query t),
 * and one output-head product.
 */
export function prefillFlops(c: LlamaConfig, tokens: number): number {
  const projections = 2 * tokens * layerParameters(c);
  const pairs = (tokens * (tokens + 1)) / 2;
  const attention = c.numLayers * c.numHeads * 2 * 2 * c.headDim * pairs;
  return projections + attention + 2 * c.hiddenSize * c.vocabSize;
}

/** Bytes of the KV cache buffers for `positions` positions, as KVCache allocates them (in CACHE_STEP rows). */
export function kvCacheBytes(c: LlamaConfig, positions: number): number {
  const rows = Math.ceil(positions / CACHE_STEP) * CACHE_STEP;
  return c.numLayers * 2 * c.numKvHeads * c.headDim * Math.min(rows, c.maxPositions) * 4;
}

/**
 * Seeded random weights for `config` under Hugging Face names, each made when it is read (so the host copies
 * never all exist at once): projections uniform in ±1/√in (a trained model's scale, so activations stay
 * finite), norms 1, embedding ±0.1.
 */
export function syntheticWeightSource(config: LlamaConfig, seed: number): WeightSource {
  const names = [...expectedWeightNames(config, config.tieWordEmbeddings ?? true)];
  const shapeOf = (name: string): number[] => {
    const H = config.hiddenSize;
    if (name === 'model.embed_tokens.weight' || name === 'lm_head.weight') return [config.vocabSize, H];
    if (name.endsWith('norm.weight')) return [H];
    const [o, i] =
      layerMatrices(config)[['q_', 'k_', 'v_', 'o_', 'gate', 'up', 'down'].findIndex((p) => name.includes(`.${p}`))];
    return [o, i];
  };
  return {
    name: 'synthetic weights',
    names: () => names,
    fileOf: () => 'synthetic weights',
    read: async (name): Promise<HostWeight> => {
      const shape = shapeOf(name);
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (name.endsWith('norm.weight')) data.fill(1);
      else {
        const rng = new Rng(seed + names.indexOf(name));
        const scale = name.includes('embed') ? 0.1 : 1 / Math.sqrt(shape[1]);
        for (let i = 0; i < data.length; i++) data[i] = (rng.uniform() * 2 - 1) * scale;
      }
      return { shape, data };
    },
  };
}

export interface DecodeRun {
  /** Milliseconds of each decoding step after the first (forward with the cache, logits read back, argmax). */
  readonly stepMs: readonly number[];
  /** Prefill of the prompt, ms (forward, last position's logits read back). */
  readonly prefillMs: number;
  /** Largest process RSS seen after any step, bytes. */
  readonly peakRss: number;
  /** Most bytes held by live tensors after any step. */
  readonly peakTensorBytes: number;
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * Greedy decoding of `steps` tokens after `prompt`, as the generation engine runs it (one forward per token
 * with a KV cache, the last position's logits read back), without a tokenizer: the synthetic model has none.
 */
export async function greedyDecode(model: CausalLM, prompt: readonly number[], steps: number): Promise<DecodeRun> {
  const cache = model.createCache({ capacity: prompt.length + steps });
  const stepMs: number[] = [];
  let peakRss = process.memoryUsage().rss;
  let peakTensorBytes = 0;
  const forward = async (ids: readonly number[]): Promise<number> => {
    const logits = T.tidy(() => model.forward(T.tensor([...ids], [1, ids.length], 'i32'), { cache, lastOnly: true }));
    try {
      peakTensorBytes = Math.max(peakTensorBytes, T.memory().bytes);
      return argmax((await logits.data()) as Float32Array);
    } finally {
      logits.dispose();
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
  };
  try {
    const t0 = performance.now();
    let token = await forward(prompt);
    const prefillMs = performance.now() - t0;
    for (let i = 0; i < steps; i++) {
      const s = performance.now();
      token = await forward([token]);
      stepMs.push(performance.now() - s);
    }
    return { stepMs, prefillMs, peakRss, peakTensorBytes };
  } finally {
    for (const c of cache) c.dispose();
  }
}

/** `count` seeded token ids in [3, vocab): a prompt for a model without a tokenizer. */
export function seededTokens(count: number, vocab: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => 3 + Math.floor(rng.uniform() * (vocab - 3)));
}
