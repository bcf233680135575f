/**
 * Building a {@link LlamaModel} from what the readers return: a llama2.c checkpoint, or a Hugging Face
 * config.json with a {@link WeightSource} over its safetensors files (node/models/hf-folder.ts opens a folder;
 * a browser can implement WeightSource over fetch()).
 * @module
 */

import type { Llama2cCheckpoint, Llama2cTensorName } from '../../core/io/llama2c.js';
import {
  type CoreTensorData,
  floatValues,
  SafetensorsError,
  type SafetensorsReader,
} from '../../core/io/safetensors.js';
import { configFromLlama2c, type LlamaConfig } from './config.js';
import { LlamaModel } from './model.js';
import { type HostWeight, loadLlamaWeights, type WeightSource } from './weights.js';

/** The Hugging Face name of each llama2.c array (stacked ones per layer); llama2.c's w1/w3/w2 are gate/up/down. */
const LLAMA2C_NAMES: readonly [Llama2cTensorName, string][] = [
  ['rms_att', 'input_layernorm.weight'],
  ['wq', 'self_attn.q_proj.weight'],
  ['wk', 'self_attn.k_proj.weight'],
  ['wv', 'self_attn.v_proj.weight'],
  ['wo', 'self_attn.o_proj.weight'],
  ['rms_ffn', 'post_attention_layernorm.weight'],
  ['w1', 'mlp.gate_proj.weight'],
  ['w2', 'mlp.down_proj.weight'],
  ['w3', 'mlp.up_proj.weight'],
];

/**
 * A llama2.c checkpoint's arrays under Hugging Face names. The q/k weights keep llama2.c's row order, which
 * pairs RoPE features as adjacent (config.ropeTraditional), so nothing is permuted.
 */
export function llama2cWeightSource(file: string, checkpoint: Llama2cCheckpoint): WeightSource {
  const { header, tensors } = checkpoint;
  const map = new Map<string, HostWeight>();
  const whole = (name: Llama2cTensorName): HostWeight => tensors.get(name)!;
  map.set('model.embed_tokens.weight', whole('tok_embeddings'));
  map.set('model.norm.weight', whole('rms_final'));
  if (tensors.has('wcls')) map.set('lm_head.weight', whole('wcls'));
  for (const [name, hf] of LLAMA2C_NAMES) {
    const { shape, data } = whole(name);
    const inner = shape.slice(1);
    const n = inner.reduce((a, b) => a * b, 1);
    for (let l = 0; l < header.nLayers; l++) {
      map.set(`model.layers.${l}.${hf}`, { shape: inner, data: data.subarray(l * n, (l + 1) * n) });
    }
  }
  return {
    name: file,
    names: () => [...map.keys()],
    fileOf: () => file,
    read: async (name) => map.get(name)!,
  };
}

/** A model from a parsed llama2.c checkpoint, on the current backend. */
export async function llamaFromLlama2c(file: string, checkpoint: Llama2cCheckpoint): Promise<LlamaModel> {
  const config = configFromLlama2c(checkpoint.header);
  const weights = await loadLlamaWeights(config, llama2cWeightSource(file, checkpoint), `${file} (header)`);
  return new LlamaModel(config, weights);
}

/** Float32 values of a tensor as readAsCore returns it (f32, or f16/bf16 bits widened). */
function toFloat32(file: string, name: string, t: CoreTensorData): Float32Array {
  const values = floatValues(t);
  if (values) return values;
  throw new SafetensorsError(`${file}: tensor "${name}" is ${t.fileDType}; model weights must be F32, F16 or BF16`);
}

/**
 * A WeightSource over safetensors readers (one file, or the shards of model.safetensors.index.json).
 * `weightMap` gives the shard of each tensor when the index lists them; every tensor must be in exactly one file.
 */
export function safetensorsWeightSource(name: string, readers: readonly SafetensorsReader[]): WeightSource {
  const owner = new Map<string, SafetensorsReader>();
  for (const r of readers) {
    for (const t of r.entries) {
      const other = owner.get(t.name);
      if (other) {
        throw new SafetensorsError(`${r.source.name}: tensor "${t.name}" is also in ${other.source.name}`);
      }
      owner.set(t.name, r);
    }
  }
  return {
    name,
    names: () => [...owner.keys()],
    fileOf: (tensor) => owner.get(tensor)?.source.name ?? name,
    read: async (tensor) => {
      const r = owner.get(tensor)!;
      const t = await r.readAsCore(tensor);
      return { shape: t.shape, data: toFloat32(r.source.name, tensor, t) };
    },
  };
}

/** A model from a Hugging Face config and its weights, on the current backend. */
export async function llamaFromHf(config: LlamaConfig, source: WeightSource, configFile: string): Promise<LlamaModel> {
  return new LlamaModel(config, await loadLlamaWeights(config, source, configFile));
}
