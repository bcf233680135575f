/**
 * Fine-tuning a Llama model as mlx-lm does (formats.md §2): which layers get LoRA/DoRA adapters, which tensors
 * train, and folding adapters back into plain weights.
 *
 * - `lora`/`dora`: in the last `numLayers` blocks (-1: all), the projections named by `keys` relative to the
 *   block (`self_attn.q_proj`; absent: every projection of the block) become adapter layers. Keys naming a
 *   top-level module (`lm_head`, `model.embed_tokens`) adapt it too. Only lora_a, lora_b (and DoRA's m) train.
 * - `full`: every tensor of the last `numLayers` blocks trains; nothing is wrapped.
 *
 * The parameter tree names tensors as the safetensors files do, so the trainable ones are exactly what
 * mlx-lm writes to adapters.safetensors.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import { type Linear, TiedHead, type TokenEmbedding } from '../../core/nn/linear.js';
import {
  DEFAULT_LORA_PARAMETERS,
  DoRALinear,
  isAdapterLayer,
  LoRAEmbedding,
  LoRALinear,
  LoRATiedHead,
  type LoraParameters,
} from '../../core/nn/lora.js';
import { fieldEntry, hasParameters, ParameterTree, readOnlyEntry } from '../../core/nn/parameters.js';
import type { Rng } from '../../core/random.js';
import type { LlamaModel } from './model.js';
import { type LinearSlot, linearSlots } from './weights.js';

export type FineTuneType = 'lora' | 'dora' | 'full';

/** mlx-lm's `lora_parameters`: rank, scale, dropout and the optional `keys`. */
export interface LoraParametersConfig extends LoraParameters {
  readonly keys?: readonly string[];
}

/** What decides the adapted model's shape: mlx-lm's `fine_tune_type`, `num_layers`, `lora_parameters`. */
export interface AdapterConfig {
  readonly fineTuneType: FineTuneType;
  /** Blocks from the top to adapt or train; -1 for all. */
  readonly numLayers: number;
  /** null for full fine-tuning. */
  readonly loraParameters: LoraParametersConfig | null;
}

export const EMBED_PATH = 'model.embed_tokens';

/** The blocks `numLayers` selects, as indices. Asking for more blocks than exist is an error (as mlx-lm). */
export function adaptedBlocks(model: LlamaModel, numLayers: number): number[] {
  const n = model.config.numLayers;
  if (!Number.isInteger(numLayers) || numLayers < -1) {
    throw new UsageError(`num_layers ${numLayers} must be -1 (all blocks) or a count of blocks`);
  }
  if (numLayers > n) {
    throw new UsageError(
      `num_layers ${numLayers}: the model has only ${n} blocks; use --num-layers ${n} or -1 for all of them`,
    );
  }
  const count = numLayers === -1 ? n : numLayers;
  return Array.from({ length: count }, (_, i) => n - count + i);
}

function blockOf(path: string): { block: number; key: string } | null {
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(path);
  return m ? { block: Number(m[1]), key: m[2] } : null;
}

function wrapLinear(base: Linear, type: 'lora' | 'dora', p: LoraParameters, rng?: Rng): Linear {
  return type === 'dora' ? new DoRALinear(base, p, undefined, rng) : new LoRALinear(base, p, undefined, rng);
}

/**
 * Swap the selected layers of `model` for adapter layers (new A drawn from `rng`, default the global
 * generator; B zero). Returns the paths adapted, in file order. Nothing happens for full fine-tuning.
 */
export function applyAdapters(model: LlamaModel, config: AdapterConfig, rng?: Rng): string[] {
  if (config.fineTuneType === 'full') return [];
  const p = { ...DEFAULT_LORA_PARAMETERS, ...config.loraParameters };
  const blocks = new Set(adaptedBlocks(model, config.numLayers));
  const keys = config.loraParameters?.keys;
  const slots = linearSlots(model.weights);
  const blockKeys = new Set(slots.flatMap((s) => blockOf(s.path)?.key ?? []));
  const tiedHead = model.weights.lmHead instanceof TiedHead;
  // A tied head is the embedding's table: adapt model.embed_tokens instead (mlx-lm has no lm_head there).
  const topLevel = new Set([EMBED_PATH, ...(tiedHead ? [] : ['lm_head'])]);
  for (const k of keys ?? []) {
    if (!blockKeys.has(k) && !topLevel.has(k)) {
      throw new UsageError(
        `lora_parameters.keys: "${k}" names no layer; a block has ${[...blockKeys].join(', ')}, ` +
          `and the model ${[...topLevel].join(', ')}`,
      );
    }
  }
  const chosen = (s: LinearSlot) => {
    const b = blockOf(s.path);
    if (b) return blocks.has(b.block) && (keys === undefined || keys.includes(b.key));
    return keys?.includes(s.path) ?? false;
  };
  const adapted: string[] = [];
  for (const slot of slots) {
    if (!chosen(slot)) continue;
    if (isAdapterLayer(slot.get())) throw new UsageError(`${slot.path} already has an adapter`);
    slot.set(wrapLinear(slot.get(), config.fineTuneType, p, rng));
    adapted.push(slot.path);
  }
  if (keys?.includes(EMBED_PATH)) {
    if (config.fineTuneType === 'dora') {
      throw new UsageError(`lora_parameters.keys: ${EMBED_PATH} cannot take a DoRA adapter (LoRA only)`);
    }
    const w = model.weights;
    const tied = w.lmHead instanceof TiedHead;
    const lora = new LoRAEmbedding(w.embed, p, undefined, rng);
    w.embed = lora;
    // A tied head reads the adapted table, as mlx-lm's embed_tokens.as_linear does.
    if (tied) w.lmHead = lora.asLinear();
    adapted.unshift(EMBED_PATH);
  }
  return adapted;
}

/** Every adapter layer of the model with its path. */
export function adapterLayers(model: LlamaModel): [string, LoRALinear | DoRALinear | LoRAEmbedding][] {
  const out: [string, LoRALinear | DoRALinear | LoRAEmbedding][] = [];
  if (model.weights.embed instanceof LoRAEmbedding) out.push([EMBED_PATH, model.weights.embed]);
  for (const s of linearSlots(model.weights)) {
    const l = s.get();
    if (l instanceof LoRALinear || l instanceof DoRALinear) out.push([s.path, l]);
  }
  return out;
}

/** Switch dropout in every adapter layer on (training) or off (evaluation, generation). */
export function setTraining(model: LlamaModel, on: boolean): void {
  for (const [, layer] of adapterLayers(model)) layer.training = on;
}

function embeddingEntries(embed: TokenEmbedding) {
  if (hasParameters(embed)) return embed.parameterEntries();
  return Object.fromEntries(
    Object.entries(embed.parameters()).map(([k, t]) => [k, readOnlyEntry(k, () => t, 'the embedding is not float')]),
  );
}

function linearEntries(layer: Linear) {
  if (hasParameters(layer)) return layer.parameterEntries();
  return Object.fromEntries(
    Object.entries(layer.parameters()).map(([k, t]) => [
      k,
      readOnlyEntry(k, () => t, `${layer.constructor.name} weights are not float; train an adapter on the layer`),
    ]),
  );
}

/**
 * Every tensor of the model under its safetensors name, all frozen. Build it after adapters are applied (it
 * points at the layers that exist now).
 */
export function llamaParameterTree(model: LlamaModel): ParameterTree {
  const w = model.weights;
  const tree = new ParameterTree();
  tree.addLayer(EMBED_PATH, embeddingEntries(w.embed), false);
  const slots = new Map(linearSlots(w).map((s) => [s.path, s]));
  w.layers.forEach((layer, i) => {
    const p = `model.layers.${i}`;
    tree.add(`${p}.input_layernorm.weight`, fieldEntry(layer, 'inputNorm'), false);
    for (const key of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) {
      const path = `${p}.self_attn.${key}`;
      tree.addLayer(path, linearEntries(slots.get(path)!.get()), false);
    }
    tree.add(`${p}.post_attention_layernorm.weight`, fieldEntry(layer, 'postAttentionNorm'), false);
    for (const key of ['gate_proj', 'up_proj', 'down_proj']) {
      const path = `${p}.mlp.${key}`;
      tree.addLayer(path, linearEntries(slots.get(path)!.get()), false);
    }
  });
  tree.add('model.norm.weight', fieldEntry(w, 'norm'), false);
  // A tied head lists nothing: its table is model.embed_tokens.weight.
  tree.addLayer('lm_head', linearEntries(w.lmHead), false);
  return tree;
}

const ADAPTER_LEAVES = /\.(lora_a|lora_b|m)$/;

/**
 * The parameter tree with what `config` trains unfrozen: the adapters' lora_a, lora_b and m, or every tensor
 * of the last `numLayers` blocks for full fine-tuning. A full fine-tune of a quantized layer is refused here.
 */
export function trainableTree(model: LlamaModel, config: AdapterConfig): ParameterTree {
  const tree = llamaParameterTree(model);
  if (config.fineTuneType === 'full') {
    const blocks = adaptedBlocks(model, config.numLayers);
    tree.unfreeze(blocks.map((b) => `model.layers.${b}`));
    for (const name of tree.trainableNames()) {
      // Probe: a read-only entry (quantized storage) throws a clear error naming the tensor.
      const t = tree.get(name);
      tree.set(name, t);
    }
  } else {
    tree.unfreeze(ADAPTER_LEAVES);
  }
  if (tree.trainableNames().length === 0) {
    throw new UsageError('nothing to train: the configuration selects no layer (check num_layers and keys)');
  }
  return tree;
}

/** Replace every adapter layer by its fused float layer (the base weights plus the update). Returns the paths. */
export function fuseAdapters(model: LlamaModel): string[] {
  const w = model.weights;
  const fused: string[] = [];
  for (const s of linearSlots(w)) {
    const l = s.get();
    if (l instanceof LoRALinear || l instanceof DoRALinear) {
      s.set(l.fuse());
      l.dispose();
      fused.push(s.path);
    }
  }
  if (w.embed instanceof LoRAEmbedding) {
    const lora = w.embed;
    const tied = w.lmHead instanceof LoRATiedHead;
    w.embed = lora.fuse();
    if (tied) w.lmHead = w.embed.asLinear();
    lora.dispose();
    fused.unshift(EMBED_PATH);
  }
  return fused;
}
