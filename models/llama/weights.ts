/**
 * The tensors of a Llama network, named as Hugging Face names them (`model.layers.{i}.self_attn.q_proj.weight`
 * ...), loaded from any {@link WeightSource} with every shape checked against the config.
 *
 * Projections are {@link Linear}s, built in one place ({@link loadLinear}): that is where a quantized layer
 * (a `.scales` tensor beside the weight) will be recognised, and {@link linearSlots} is how a LoRA trainer
 * swaps a projection for a wrapped one without touching the model code.
 * @module
 */

import { DenseEmbedding, DenseLinear, type Linear, type TokenEmbedding } from '../../core/nn/linear.js';
import * as T from '../../index.js';
import { ConfigError, type LlamaConfig } from './config.js';

/** Float32 values and shape of one stored tensor (other float dtypes widened). */
export interface HostWeight {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Stored tensors by Hugging Face name: a safetensors folder, or a llama2.c checkpoint under those names. */
export interface WeightSource {
  /** The checkpoint (folder or file) for messages. */
  readonly name: string;
  /** Every tensor name it holds. */
  names(): readonly string[];
  /** The file a tensor is in, for messages. */
  fileOf(name: string): string;
  read(name: string): Promise<HostWeight>;
}

export interface AttentionWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
}

export interface MlpWeights {
  gate: Linear;
  up: Linear;
  down: Linear;
}

/** Norm weights are plain fields so that full fine-tuning can replace them (models/llama/adapters.ts). */
export interface LlamaLayerWeights {
  inputNorm: T.Tensor;
  readonly attention: AttentionWeights;
  postAttentionNorm: T.Tensor;
  readonly mlp: MlpWeights;
}

export interface LlamaWeights {
  embed: TokenEmbedding;
  readonly layers: readonly LlamaLayerWeights[];
  norm: T.Tensor;
  lmHead: Linear;
}

/** Tensors that carry no weights of the network (precomputed RoPE tables) and are skipped. */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

async function loadTensor(
  source: WeightSource,
  name: string,
  shape: readonly number[],
  config: string,
): Promise<T.Tensor> {
  if (!source.names().includes(name)) {
    throw new ConfigError(
      `${source.name}: tensor "${name}" is missing; ${config} implies it with shape [${shape.join(', ')}]`,
    );
  }
  const w = await source.read(name);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new ConfigError(
      `${source.fileOf(name)}: tensor "${name}" has shape [${w.shape.join(', ')}] but ${config} implies ` +
        `[${shape.join(', ')}]; the weights do not match the config`,
    );
  }
  return T.fromHost(w.data, shape, 'f32');
}

/**
 * The Linear stored under `path` (`path.weight` [out, in], and `path.bias` [out] when `bias`). The one place
 * a layer's storage format is decided.
 */
export async function loadLinear(
  source: WeightSource,
  path: string,
  inFeatures: number,
  outFeatures: number,
  bias: boolean,
  config: string,
): Promise<Linear> {
  const weight = await loadTensor(source, `${path}.weight`, [outFeatures, inFeatures], config);
  try {
    const b = bias ? await loadTensor(source, `${path}.bias`, [outFeatures], config) : undefined;
    return new DenseLinear(weight, b);
  } catch (e) {
    weight.dispose();
    throw e;
  }
}

/** Every tensor name the config implies, for spotting stray ones. */
function expectedNames(config: LlamaConfig, tied: boolean): Set<string> {
  const names = new Set(['model.embed_tokens.weight', 'model.norm.weight']);
  if (!tied) names.add('lm_head.weight');
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    for (const n of ['input_layernorm', 'post_attention_layernorm']) names.add(`${p}.${n}.weight`);
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) names.add(`${p}.self_attn.${n}.weight`);
    if (config.attentionBias) for (const n of ['q_proj', 'k_proj', 'v_proj']) names.add(`${p}.self_attn.${n}.bias`);
    if (config.outputBias) names.add(`${p}.self_attn.o_proj.bias`);
    for (const n of ['gate_proj', 'up_proj', 'down_proj']) {
      names.add(`${p}.mlp.${n}.weight`);
      if (config.mlpBias) names.add(`${p}.mlp.${n}.bias`);
    }
  }
  return names;
}

/**
 * Loads and checks every tensor of the network onto the current backend. `configName` names the config in
 * messages (config.json, or the checkpoint header). Tensors the network does not use are an error (a
 * different architecture), except RoPE tables and, with tied embeddings, a stored copy of lm_head.
 */
export async function loadLlamaWeights(
  config: LlamaConfig,
  source: WeightSource,
  configName: string,
): Promise<LlamaWeights> {
  const names = source.names();
  const tied = config.tieWordEmbeddings ?? !names.includes('lm_head.weight');
  if (!tied && !names.includes('lm_head.weight')) {
    throw new ConfigError(
      `${source.name}: tensor "lm_head.weight" is missing and ${configName} sets tie_word_embeddings false; ` +
        'set it true if the output head is the embedding',
    );
  }
  const expected = expectedNames(config, tied);
  const stray = names.filter((n) => !expected.has(n) && !IGNORED.test(n) && !(tied && n === 'lm_head.weight'));
  if (stray.length > 0) {
    throw new ConfigError(
      `${source.fileOf(stray[0])}: tensor "${stray[0]}"${stray.length > 1 ? ` (and ${stray.length - 1} more)` : ''} ` +
        `is not part of the ${config.architecture} network ${configName} describes (quantized and adapter weights are not loaded here yet)`,
    );
  }

  const H = config.hiddenSize;
  const qDim = config.numHeads * config.headDim;
  const kvDim = config.numKvHeads * config.headDim;
  const I = config.intermediateSize;
  const owned: { dispose(): void }[] = [];
  const own = <X extends { dispose(): void }>(x: X): X => {
    owned.push(x);
    return x;
  };
  try {
    const embed = own(
      new DenseEmbedding(await loadTensor(source, 'model.embed_tokens.weight', [config.vocabSize, H], configName)),
    );
    const layers: LlamaLayerWeights[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `model.layers.${i}`;
      const lin = async (path: string, inF: number, outF: number, bias: boolean) =>
        own(await loadLinear(source, `${p}.${path}`, inF, outF, bias, configName));
      layers.push({
        inputNorm: own(await loadTensor(source, `${p}.input_layernorm.weight`, [H], configName)),
        attention: {
          q: await lin('self_attn.q_proj', H, qDim, config.attentionBias),
          k: await lin('self_attn.k_proj', H, kvDim, config.attentionBias),
          v: await lin('self_attn.v_proj', H, kvDim, config.attentionBias),
          o: await lin('self_attn.o_proj', qDim, H, config.outputBias),
        },
        postAttentionNorm: own(await loadTensor(source, `${p}.post_attention_layernorm.weight`, [H], configName)),
        mlp: {
          gate: await lin('mlp.gate_proj', H, I, config.mlpBias),
          up: await lin('mlp.up_proj', H, I, config.mlpBias),
          down: await lin('mlp.down_proj', I, H, config.mlpBias),
        },
      });
    }
    const norm = own(await loadTensor(source, 'model.norm.weight', [H], configName));
    const lmHead = tied
      ? embed.asLinear()
      : await loadLinear(source, 'lm_head', H, config.vocabSize, false, configName);
    return { embed, layers, norm, lmHead };
  } catch (e) {
    for (const x of owned) x.dispose();
    throw e;
  }
}

/** One replaceable projection of the network, by its Hugging Face path (`model.layers.0.self_attn.q_proj`). */
export interface LinearSlot {
  readonly path: string;
  get(): Linear;
  set(linear: Linear): void;
}

/** Slots for the Linears of one group (a layer's attention or MLP), keyed by field, under `prefix`. */
function groupSlots<G extends { [K in keyof G]: Linear }>(
  group: G,
  prefix: string,
  names: readonly [keyof G, string][],
): LinearSlot[] {
  return names.map(([key, name]) => ({
    path: `${prefix}.${name}`,
    get: () => group[key],
    set: (l: Linear) => {
      group[key] = l as G[keyof G];
    },
  }));
}

/** Every projection in file order (attention q, k, v, o, then MLP gate, up, down per layer; then lm_head). */
export function linearSlots(weights: LlamaWeights): LinearSlot[] {
  const slots = weights.layers.flatMap((layer, i) => [
    ...groupSlots(layer.attention, `model.layers.${i}.self_attn`, [
      ['q', 'q_proj'],
      ['k', 'k_proj'],
      ['v', 'v_proj'],
      ['o', 'o_proj'],
    ]),
    ...groupSlots(layer.mlp, `model.layers.${i}.mlp`, [
      ['gate', 'gate_proj'],
      ['up', 'up_proj'],
      ['down', 'down_proj'],
    ]),
  ]);
  slots.push({
    path: 'lm_head',
    get: () => weights.lmHead,
    set: (l) => {
      weights.lmHead = l;
    },
  });
  return slots;
}

/** Frees every tensor of the network. */
export function disposeLlamaWeights(weights: LlamaWeights): void {
  weights.embed.dispose();
  for (const layer of weights.layers) {
    layer.inputNorm.dispose();
    layer.postAttentionNorm.dispose();
    for (const l of Object.values(layer.attention)) l.dispose();
    for (const l of Object.values(layer.mlp)) l.dispose();
  }
  weights.norm.dispose();
  weights.lmHead.dispose();
}
