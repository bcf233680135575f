/**
 * The Llama model on synthetic networks against an independent float64 forward pass
 * (test/helpers/llama-reference.ts): llama2.c files (adjacent-pair RoPE, shared or separate classifier),
 * Hugging Face folders (Llama and Qwen2 with q/k/v biases, GQA, tied or untied, one file or shards,
 * F32/F16/BF16, rope_scaling), and the KV caches (decoding step by step, chunked prefill, the rotating cache's
 * window) against full forward passes of the reference.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import { parseLlama2c } from '../../../core/io/llama2c.js';
import type { Linear } from '../../../core/nn/linear.js';
import * as T from '../../../index.js';
import { ConfigError, parseHfConfig } from '../../../models/llama/config.js';
import { type LayerCache, RotatingKVCache } from '../../../models/llama/kv-cache.js';
import { llamaFromHf, llamaFromLlama2c } from '../../../models/llama/load.js';
import type { LlamaModel } from '../../../models/llama/model.js';
import { ropeFrequencies } from '../../../models/llama/rope.js';
import { linearSlots } from '../../../models/llama/weights.js';
import { openHfWeights, readJsonFile } from '../../../node/models/hf-folder.js';
import {
  type HfFolderOptions,
  randomWeights,
  refWeights,
  type TinyShape,
  type Weights,
  writeHfFolder,
  writeLlama2c,
} from '../../helpers/llama-files.js';
import { type RefConfig, referenceLogits } from '../../helpers/llama-reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'llama-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SHAPE: TinyShape = { hidden: 16, intermediate: 24, layers: 2, heads: 4, kvHeads: 2, vocab: 40 };
const TOKENS = [1, 7, 3, 22, 39, 5, 11, 0, 17];

function refConfig(model: LlamaModel, seqLen = 0): RefConfig {
  const c = model.config;
  const { invFreq, attentionFactor } = ropeFrequencies(c, seqLen);
  return {
    hidden: c.hiddenSize,
    intermediate: c.intermediateSize,
    layers: c.numLayers,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    vocab: c.vocabSize,
    eps: c.rmsNormEps,
    traditional: c.ropeTraditional,
    invFreq: Array.from(invFreq),
    attentionFactor,
  };
}

/** Max |a − b| over all logits, relative to the reference's spread. */
function maxDiff(got: ArrayLike<number>, want: number[][]): number {
  const flat = want.flat();
  const spread = Math.max(...flat) - Math.min(...flat);
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(got[i] - flat[i]));
  return worst / spread;
}

async function logitsOf(model: LlamaModel, tokens: readonly number[]): Promise<Float32Array> {
  const out = T.tidy(() => model.forward(T.tensor([tokens as number[]], [1, tokens.length], 'i32')));
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

async function hfModel(name: string, shape: TinyShape, weights: Weights, options: HfFolderOptions = {}) {
  const dir = join(tmp, name);
  const loaded = writeHfFolder(dir, shape, weights, options);
  const configPath = join(dir, 'config.json');
  const config = parseHfConfig(await readJsonFile(configPath), configPath);
  const files = await openHfWeights(dir);
  try {
    return { model: await llamaFromHf(config, files.source, configPath), loaded };
  } finally {
    await files.close();
  }
}

describe('Llama forward pass against the float64 reference', () => {
  for (const [version, untied] of [
    [0, false],
    [1, true],
    [2, true],
  ] as const) {
    it(`llama2.c v${version} (${untied ? 'separate' : 'shared'} classifier, GQA, adjacent-pair RoPE)`, async () => {
      await T.setBackend('js');
      const shape = { ...SHAPE, untied };
      const file = writeLlama2c(shape, randomWeights(shape, 20 + version), version);
      const model = await llamaFromLlama2c('m.bin', parseLlama2c('m.bin', file.bytes));
      expect(model.config.ropeTraditional).toBe(true);
      const want = referenceLogits(refConfig(model), refWeights(file.expected), TOKENS);
      expect(maxDiff(await logitsOf(model, TOKENS), want)).toBeLessThan(1e-5);
      model.dispose();
      expect(T.memory().tensors).toBe(0);
    });
  }

  it.each<[string, TinyShape, HfFolderOptions]>([
    ['Llama, tied, one file, F32', SHAPE, {}],
    ['Llama, untied, 3 shards, BF16', { ...SHAPE, untied: true }, { shards: 3, dtype: 'BF16' }],
    [
      'Qwen2 (q/k/v biases), untied, F16',
      { ...SHAPE, qkvBias: true, untied: true },
      { architecture: 'qwen2', dtype: 'F16' },
    ],
    ['Llama, multi-query (1 KV head)', { ...SHAPE, kvHeads: 1 }, {}],
    [
      'Llama 3 rope_scaling',
      SHAPE,
      {
        config: {
          rope_scaling: {
            rope_type: 'llama3',
            factor: 8,
            low_freq_factor: 1,
            high_freq_factor: 4,
            original_max_position_embeddings: 16,
          },
        },
      },
    ],
    [
      'yarn rope_scaling',
      SHAPE,
      { config: { rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 16 } } },
    ],
    [
      'linear rope_scaling, transformers 5 rope_parameters',
      SHAPE,
      { config: { rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 500 } } },
    ],
  ])('Hugging Face folder: %s', async (name, shape, options) => {
    await T.setBackend('js');
    const { model, loaded } = await hfModel(name.replace(/\W+/g, '-'), shape, randomWeights(shape, 5), options);
    expect(model.config.ropeTraditional).toBe(false);
    const want = referenceLogits(refConfig(model), refWeights(loaded), TOKENS);
    expect(maxDiff(await logitsOf(model, TOKENS), want)).toBeLessThan(1e-5);
    model.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('takes any Linear in every projection slot (how LoRA and quantized layers drop in)', async () => {
    await T.setBackend('js');
    const { model } = await hfModel('slots', SHAPE, randomWeights(SHAPE, 6), {});
    const before = await logitsOf(model, TOKENS);
    const slots = linearSlots(model.weights);
    expect(slots).toHaveLength(SHAPE.layers * 7 + 1);
    expect(slots[0].path).toBe('model.layers.0.self_attn.q_proj');
    expect(slots.at(-2)!.path).toBe('model.layers.1.mlp.down_proj');
    const calls: string[] = [];
    for (const slot of slots) {
      const inner = slot.get();
      const wrapper: Linear = {
        inFeatures: inner.inFeatures,
        outFeatures: inner.outFeatures,
        forward: (x) => {
          calls.push(slot.path);
          return inner.forward(x);
        },
        parameters: () => inner.parameters(),
        dispose: () => inner.dispose(),
      };
      slot.set(wrapper);
    }
    expect(Array.from(await logitsOf(model, TOKENS))).toEqual(Array.from(before));
    expect(new Set(calls)).toEqual(new Set(slots.map((s) => s.path)));
    // A projection that changes its output changes the logits.
    const q0 = slots[0].get();
    slots[0].set({ ...q0, forward: (x) => T.tidy(() => T.mul(q0.forward(x), 2)) });
    expect(Array.from(await logitsOf(model, TOKENS))).not.toEqual(Array.from(before));
    model.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('rejects weights that do not match the config, naming the tensor and file', async () => {
    await T.setBackend('js');
    const dir = join(tmp, 'mismatch');
    writeHfFolder(dir, SHAPE, randomWeights(SHAPE), { config: { intermediate_size: 20 } });
    const configPath = join(dir, 'config.json');
    const config = parseHfConfig(await readJsonFile(configPath), configPath);
    const files = await openHfWeights(dir);
    await expect(llamaFromHf(config, files.source, configPath)).rejects.toThrow(
      /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[24, 16\] but .*config\.json implies \[20, 16\]/,
    );
    const extra = randomWeights(SHAPE);
    extra.set('model.layers.0.self_attn.q_proj.bias', { shape: [16], data: new Float32Array(16) });
    writeHfFolder(dir, SHAPE, extra);
    const files2 = await openHfWeights(dir);
    await expect(llamaFromHf(config, files2.source, configPath)).rejects.toBeInstanceOf(ConfigError);
    await Promise.all([files.close(), files2.close()]);
    expect(T.memory().tensors).toBe(0);
  });
});

/**
 * Runs `steps` (token chunks) through the model with `cache`, checking each step's logits (all of its positions,
 * or the last with lastOnly) against the reference logits of the whole sequence.
 */
async function stepThrough(
  model: LlamaModel,
  cache: LayerCache[],
  steps: number[][],
  want: number[][],
  lastOnly: boolean,
) {
  let at = 0;
  for (const step of steps) {
    const out = T.tidy(() => model.forward(T.tensor([step], [1, step.length], 'i32'), { cache, lastOnly }));
    at += step.length;
    expect(out.shape).toEqual([1, lastOnly ? 1 : step.length, model.config.vocabSize]);
    expect(maxDiff(await out.data(), lastOnly ? [want[at - 1]] : want.slice(at - step.length, at))).toBeLessThan(1e-5);
    out.dispose();
  }
  expect(cache[0].offset).toBe(at);
}

describe('KV caches', () => {
  const longTokens = Array.from({ length: 20 }, (_, i) => (i * 7 + 3) % 40);

  it('decoding token by token gives the logits of full forward passes (shared and chunked prefill)', async () => {
    await T.setBackend('js');
    const { model, loaded } = await hfModel(
      'cache',
      { ...SHAPE, qkvBias: true },
      randomWeights({ ...SHAPE, qkvBias: true }, 8),
      {
        architecture: 'qwen2',
      },
    );
    const want = referenceLogits(refConfig(model), refWeights(loaded), longTokens);
    const cache = model.createCache();
    // Prefill 5 tokens in chunks of 3 and 2, then one token at a time.
    const chunks = [longTokens.slice(0, 3), longTokens.slice(3, 5), ...longTokens.slice(5).map((t) => [t])];
    await stepThrough(model, cache, chunks, want, true);
    for (const c of cache) c.dispose();
    model.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('a rotating cache attends to a sliding window, past the context length too', async () => {
    await T.setBackend('js');
    const shape = { ...SHAPE, untied: true };
    const { model, loaded } = await hfModel('rotating', shape, randomWeights(shape, 9), {
      config: { max_position_embeddings: 16 },
    });
    const window = 6;
    const tokens = Array.from({ length: 24 }, (_, i) => (i * 5 + 1) % 40); // longer than the 16-position context
    const want = referenceLogits(refConfig(model), refWeights(loaded), tokens, window);
    const cache = Array.from({ length: SHAPE.layers }, () => new RotatingKVCache(window));
    // A 10-token prefill (longer than the window: masked) and then single tokens.
    await stepThrough(model, cache, [tokens.slice(0, 10), ...tokens.slice(10).map((t) => [t])], want, false);
    expect(cache[0].length).toBe(window);
    for (const c of cache) c.dispose();
    model.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('a full cache says so instead of growing past its capacity', async () => {
    await T.setBackend('js');
    const { model } = await hfModel('full', SHAPE, randomWeights(SHAPE), {});
    const cache = model.createCache({ capacity: 4 });
    const run = (n: number) => T.tidy(() => model.forward(T.tensor([TOKENS.slice(0, n)], [1, n], 'i32'), { cache }));
    run(3).dispose();
    expect(() => run(2)).toThrow(/KV cache full: 3 positions cached \+ 2 new exceed its capacity of 4/);
    for (const c of cache) c.dispose();
    model.dispose();
    expect(T.memory().tensors).toBe(0);
  });
});
