/**
 * config.json parsing: transformers' defaults (LlamaConfig, Qwen2Config), rope_scaling in both spellings, and
 * a ConfigError naming the file and the field for everything else. Then the model-folder errors (index files).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseHfConfig } from '../../../models/llama/config.js';
import { openHfWeights } from '../../../node/models/hf-folder.js';
import { randomWeights, writeHfFolder } from '../../helpers/llama-files.js';
import { modelsDir } from '../../helpers/model-files.js';

const stories = JSON.parse(readFileSync(join(modelsDir, 'stories260K-hf', 'config.json'), 'utf8'));
const minimal = {
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 8,
  vocab_size: 100,
};

describe('parseHfConfig', () => {
  it("reads stories260K-hf's config.json", () => {
    expect(parseHfConfig(stories, 'config.json', [2])).toMatchObject({
      architecture: 'llama',
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      maxPositions: 512,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      ropeScaling: null,
      ropeTraditional: false,
      attentionBias: false,
      tieWordEmbeddings: true,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });

  it("fills in transformers' defaults; Qwen2 always has q/k/v biases and no o_proj bias", () => {
    const llama = parseHfConfig(minimal, 'c.json');
    expect(llama).toMatchObject({ numKvHeads: 8, headDim: 8, rmsNormEps: 1e-6, ropeTheta: 10000, maxPositions: 2048 });
    expect(llama).toMatchObject({ attentionBias: false, outputBias: false, tieWordEmbeddings: null });
    const qwen = parseHfConfig({ ...minimal, model_type: 'qwen2', tie_word_embeddings: false }, 'c.json');
    expect(qwen).toMatchObject({
      attentionBias: true,
      outputBias: false,
      maxPositions: 32768,
      tieWordEmbeddings: false,
    });
    expect(parseHfConfig({ ...minimal, attention_bias: true }, 'c.json')).toMatchObject({
      attentionBias: true,
      outputBias: true,
    });
    expect(parseHfConfig({ ...minimal, eos_token_id: [2, 7] }, 'c.json', [7, 9]).eosTokenIds).toEqual([2, 7, 9]);
  });

  it('reads rope_scaling with its legacy "type" key, and rope_parameters', () => {
    const llama3 = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    expect(parseHfConfig({ ...minimal, rope_scaling: llama3 }, 'c.json').ropeScaling).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    const yarn = parseHfConfig(
      {
        ...minimal,
        max_position_embeddings: 4096,
        rope_scaling: { type: 'yarn', original_max_position_embeddings: 1024 },
      },
      'c.json',
    );
    // No factor: transformers takes max_position_embeddings / original.
    expect(yarn.ropeScaling).toMatchObject({
      type: 'yarn',
      factor: 4,
      attentionFactor: 0.1 * Math.log(4) + 1,
      betaFast: 32,
      betaSlow: 1,
      truncate: true,
    });
    const mscale = parseHfConfig(
      { ...minimal, rope_scaling: { type: 'yarn', factor: 4, mscale: 2, mscale_all_dim: 1 } },
      'c.json',
    );
    expect(mscale.ropeScaling).toMatchObject({ attentionFactor: (0.2 * Math.log(4) + 1) / (0.1 * Math.log(4) + 1) });
    const v5 = parseHfConfig({ ...minimal, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }, 'c.json');
    expect(v5).toMatchObject({ ropeTheta: 500000, ropeScaling: null });
  });

  it.each([
    [
      { ...minimal, model_type: 'gpt2' },
      /^c\.json: model_type "gpt2" is not supported; this runtime builds llama, qwen2/,
    ],
    [{ ...minimal, hidden_size: '64' }, /^c\.json: hidden_size must be an integer >= 1, got "64"/],
    [{ ...minimal, num_hidden_layers: undefined }, /^c\.json: num_hidden_layers is missing/],
    [{ ...minimal, num_key_value_heads: 3 }, /num_attention_heads 8 must be a multiple of num_key_value_heads 3/],
    [{ ...minimal, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ ...minimal, rms_norm_eps: -1 }, /rms_norm_eps must be a positive finite number/],
    [{ ...minimal, rope_scaling: { type: 'longrope' } }, /rope_scaling type "longrope" is not supported/],
    [{ ...minimal, rope_scaling: { type: 'linear' } }, /^c\.json: rope_scaling\.factor is missing/],
    [
      {
        ...minimal,
        rope_scaling: {
          rope_type: 'llama3',
          factor: 8,
          low_freq_factor: 4,
          high_freq_factor: 1,
          original_max_position_embeddings: 10,
        },
      },
      /high_freq_factor 1 must exceed low_freq_factor 4/,
    ],
    [{ ...minimal, tie_word_embeddings: 'yes' }, /tie_word_embeddings must be true or false/],
    [{ ...minimal, eos_token_id: 'x' }, /eos_token_id must be a token id or a list of them/],
    [[], /^c\.json: must hold a JSON object/],
  ])('rejects %j', (json, pattern) => {
    expect(() => parseHfConfig(json, 'c.json')).toThrow(ConfigError);
    expect(() => parseHfConfig(json, 'c.json')).toThrow(pattern);
  });
});

describe('model folders', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hf-folder-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const shape = { hidden: 8, intermediate: 8, layers: 1, heads: 2, kvHeads: 1, vocab: 16 };

  it('checks a sharded index against its shards', async () => {
    const dir = join(tmp, 'sharded');
    writeHfFolder(dir, shape, randomWeights(shape), { shards: 2 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    const ok = await openHfWeights(dir);
    expect(ok.source.names()).toHaveLength(Object.keys(index.weight_map).length);
    await ok.close();

    const [first] = Object.keys(index.weight_map);
    const other = Object.values(index.weight_map).find((f) => f !== index.weight_map[first]);
    writeFileSync(indexPath, JSON.stringify({ weight_map: { ...index.weight_map, [first]: other } }));
    await expect(openHfWeights(dir)).rejects.toThrow(
      new RegExp(`weight_map puts "${first.replaceAll('.', '\\.')}" in .*, but that file has no such tensor`),
    );
    writeFileSync(indexPath, JSON.stringify({ weight_map: { [first]: '../x.safetensors' } }));
    await expect(openHfWeights(dir)).rejects.toThrow(/weight_map\[".*"\] must be a file name in the folder/);
    writeFileSync(indexPath, '{"weight_map": ');
    await expect(openHfWeights(dir)).rejects.toThrow(/index\.json: not valid JSON/);
  });

  it('says what is missing in a folder without weights', async () => {
    await expect(openHfWeights(tmp)).rejects.toThrow(/no model\.safetensors or model\.safetensors\.index\.json/);
  });
});
