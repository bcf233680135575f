/**
 * The tensors of a Llama network, named as Hugging Face names them (`model.layers.{i}.self_attn.q_proj.weight`
 * ...), loaded from any {@link WeightSource} with every shape checked against the config.
 *
 * Projections are {@link Linear}s, built in one place ({@link loadLinear}): that is where an mlx-lm quantized
 * layer (a U32 `.weight` with `.scales` and `.biases`, per config.json's "quantization") becomes a
 * {@link QuantizedLinear}, and {@link linearSlots} is how a LoRA trainer swaps a projection for a wrapped one
 * without touching the model code.
 * @module
 */

import { DenseEmbedding, DenseLinear, type Linear, type TokenEmbedding } from '../../core/nn/linear.js';
import { QuantizedEmbedding, QuantizedLinear } from '../../core/nn/quantized.js';
import * as T from '../../index.js';
import { ConfigError, type LlamaConfig } from './config.js';
import { moduleQuantization, type QuantSpec } from './quantization.js';

/** Float32 values and shape of one stored tensor (other float dtypes widened). */
export interface HostWeight {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A tensor in the dtype it is stored in (u32 packed words, f16/bf16 bits, f32). */
export interface StoredWeight {
  readonly dtype: T.DType;
  readonly shape: readonly number[];
  readonly data: T.TypedArray;
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
  /** The tensor as stored, for quantized layers; a source without it holds float weights only. */
  readStored?(name: string): Promise<StoredWeight>;
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

/** Throws unless `name` is stored with `shape`; `why` names what implies the shape (the config). */
function checkStored(
  source: WeightSource,
  name: string,
  got: readonly number[] | null,
  shape: readonly number[],
  why: string,
): void {
  if (got === null) {
    throw new ConfigError(
      `${source.name}: tensor "${name}" is missing; ${why} implies it with shape [${shape.join(', ')}]`,
    );
  }
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new ConfigError(
      `${source.fileOf(name)}: tensor "${name}" has shape [${got.join(', ')}] but ${why} implies ` +
        `[${shape.join(', ')}]; the weights do not match the config`,
    );
  }
}

async function loadTensor(
  source: WeightSource,
  name: string,
  shape: readonly number[],
  config: string,
): Promise<T.Tensor> {
  if (!source.names().includes(name)) checkStored(source, name, null, shape, config);
  const w = await source.read(name);
  checkStored(source, name, w.shape, shape, config);
  return T.fromHost(w.data, shape, 'f32');
}

async function loadStored(
  source: WeightSource,
  name: string,
  dtypes: readonly T.DType[],
  shape: readonly number[],
  why: string,
): Promise<T.Tensor> {
  if (!source.names().includes(name)) checkStored(source, name, null, shape, why);
  if (!source.readStored) {
    throw new ConfigError(`${source.name}: holds float weights only; "${name}" of a quantized layer cannot be read`);
  }
  const w = await source.readStored(name);
  if (!dtypes.includes(w.dtype)) {
    throw new ConfigError(
      `${source.fileOf(name)}: tensor "${name}" is ${w.dtype}; ${why} needs ${dtypes.join(' or ')}`,
    );
  }
  checkStored(source, name, w.shape, shape, why);
  return T.fromHost(w.data, shape, w.dtype);
}

/**
 * MLX's affine triplet stored under `path` for a float matrix [rows, cols]: `.weight` U32 [rows, cols·bits/32],
 * `.scales` and `.biases` [rows, cols/group] in one float dtype.
 */
async function loadQuantized(
  source: WeightSource,
  path: string,
  rows: number,
  cols: number,
  spec: QuantSpec,
  config: string,
): Promise<T.QuantizedWeight> {
  const why = `${config} (${spec.bits}-bit, group ${spec.groupSize} for ${path})`;
  if (cols % spec.groupSize !== 0) {
    throw new ConfigError(
      `${config}: ${path} has ${cols} inputs, not a multiple of its quantization group size ${spec.groupSize}`,
    );
  }
  const tensors: T.Tensor[] = [];
  try {
    tensors.push(await loadStored(source, `${path}.weight`, ['u32'], [rows, (cols * spec.bits) / 32], why));
    const groups = [rows, cols / spec.groupSize];
    tensors.push(await loadStored(source, `${path}.scales`, ['f32', 'f16', 'bf16'], groups, why));
    tensors.push(await loadStored(source, `${path}.biases`, [tensors[1].dtype], groups, why));
  } catch (e) {
    for (const t of tensors) t.dispose();
    throw e;
  }
  const [weight, scales, biases] = tensors;
  return { weight, scales, biases, bits: spec.bits, groupSize: spec.groupSize };
}

/** How the module at `path` is stored in this source under this config (null: float). */
function quantSpecOf(config: LlamaConfig, source: WeightSource, path: string): QuantSpec | null {
  return moduleQuantization(config.quantization, path, source.names().includes(`${path}.scales`));
}

/**
 * The Linear stored under `path` (`path.weight` [out, in], and `path.bias` [out] when `bias`): dense, or
 * quantized when config.json's "quantization" says so (or `.scales` is stored beside it). The one place a
 * layer's storage format is decided.
 */
export async function loadLinear(
  source: WeightSource,
  path: string,
  inFeatures: number,
  outFeatures: number,
  bias: boolean,
  configName: string,
  config?: LlamaConfig,
): Promise<Linear> {
  const spec = config ? quantSpecOf(config, source, path) : null;
  const owned: { dispose(): void }[] = [];
  try {
    let b: T.Tensor | undefined;
    if (bias) owned.push((b = await loadTensor(source, `${path}.bias`, [outFeatures], configName)));
    if (spec) {
      return new QuantizedLinear(await loadQuantized(source, path, outFeatures, inFeatures, spec, configName), b);
    }
    return new DenseLinear(await loadTensor(source, `${path}.weight`, [outFeatures, inFeatures], configName), b);
  } catch (e) {
    for (const x of owned) x.dispose();
    throw e;
  }
}

/** Every tensor name the config implies (for spotting stray ones; a synthetic source lists these). */
export function expectedWeightNames(config: LlamaConfig, tied: boolean): Set<string> {
  const names = new Set(['model.embed_tokens.weight', 'model.norm.weight']);
  const quantizable = ['model.embed_tokens'];
  if (!tied) {
    names.add('lm_head.weight');
    quantizable.push('lm_head');
  }
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    for (const n of ['input_layernorm', 'post_attention_layernorm']) names.add(`${p}.${n}.weight`);
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) {
      names.add(`${p}.self_attn.${n}.weight`);
      quantizable.push(`${p}.self_attn.${n}`);
    }
    if (config.attentionBias) for (const n of ['q_proj', 'k_proj', 'v_proj']) names.add(`${p}.self_attn.${n}.bias`);
    if (config.outputBias) names.add(`${p}.self_attn.o_proj.bias`);
    for (const n of ['gate_proj', 'up_proj', 'down_proj']) {
      names.add(`${p}.mlp.${n}.weight`);
      quantizable.push(`${p}.mlp.${n}`);
      if (config.mlpBias) names.add(`${p}.mlp.${n}.bias`);
    }
  }
  // A quantized model stores scales and biases beside each weight mlx-lm quantized.
  if (config.quantization) for (const q of quantizable) names.add(`${q}.scales`).add(`${q}.biases`);
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
  const expected = expectedWeightNames(config, tied);
  const stray = names.filter(
    (n) => !expected.has(n) && !IGNORED.test(n) && !(tied && /^lm_head\.(weight|scales|biases)$/.test(n)),
  );
  if (stray.length > 0) {
    throw new ConfigError(
      `${source.fileOf(stray[0])}: tensor "${stray[0]}"${stray.length > 1 ? ` (and ${stray.length - 1} more)` : ''} ` +
        `is not part of the ${config.architecture} network ${configName} describes` +
        (/\.(scales|biases)$/.test(stray[0])
          ? ' (a quantized weight, but the config has no "quantization" entry: mlx-lm writes one)'
          : ''),
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
    const embedSpec = quantSpecOf(config, source, 'model.embed_tokens');
    const embed: TokenEmbedding = own(
      embedSpec
        ? new QuantizedEmbedding(
            await loadQuantized(source, 'model.embed_tokens', config.vocabSize, H, embedSpec, configName),
          )
        : new DenseEmbedding(await loadTensor(source, 'model.embed_tokens.weight', [config.vocabSize, H], configName)),
    );
    const layers: LlamaLayerWeights[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `model.layers.${i}`;
      const lin = async (path: string, inF: number, outF: number, bias: boolean) =>
        own(await loadLinear(source, `${p}.${path}`, inF, outF, bias, configName, config));
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
      : await loadLinear(source, 'lm_head', H, config.vocabSize, false, configName, config);
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
