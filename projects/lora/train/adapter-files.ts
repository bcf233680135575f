/**
 * mlx-lm's adapter folder (formats.md §2): `adapters.safetensors` holds the trainable tensors under their
 * model paths (`model.layers.4.self_attn.q_proj.lora_a`, …, `.m` for DoRA; the unfrozen base tensors for full
 * fine-tuning) and `adapter_config.json` the run's configuration, sorted keys, indent 4. Writes are atomic.
 * Loading rebuilds the adapter layers from `fine_tune_type`, `num_layers` and `lora_parameters`, then
 * accepts only lora_a, lora_b and m leaves (any tensor for full fine-tuning), shapes checked.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../../core/errors.js';
import type { SafetensorsTensor } from '../../../core/io/safetensors.js';
import type { ParameterTree } from '../../../core/nn/parameters.js';
import type { Rng } from '../../../core/random.js';
import * as T from '../../../index.js';
import {
  type AdapterConfig,
  applyAdapters,
  type FineTuneType,
  type LoraParametersConfig,
  trainableTree,
} from '../../../models/llama/adapters.js';
import type { LlamaModel } from '../../../models/llama/model.js';
import { writeFileAtomic } from '../../../node/atomic-write.js';
import { loadSafetensorsFile, saveSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { readJsonFile } from '../../../node/models/hf-folder.js';

export const ADAPTER_WEIGHTS = 'adapters.safetensors';
export const ADAPTER_CONFIG = 'adapter_config.json';

/** A float tensor as a safetensors F32 entry. */
export async function toFileTensor(t: T.Tensor): Promise<SafetensorsTensor> {
  const f = t.dtype === 'f32' ? t : T.cast(t, 'f32');
  const data = Float32Array.from((await f.data()) as Float32Array);
  if (f !== t) f.dispose();
  return { dtype: 'F32', shape: [...t.shape], data };
}

/** The trainable tensors of a tree, ready for a safetensors file. */
export async function trainableFileTensors(tree: ParameterTree): Promise<Record<string, SafetensorsTensor>> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(tree.trainable())) out[name] = await toFileTensor(t);
  return out;
}

/** JSON with keys sorted at every level and indent 4, as mlx-lm's save_config writes. */
export function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return `${JSON.stringify(sort(value), null, 4)}\n`;
}

/** Write `adapters.safetensors` (or `name`) and adapter_config.json into `dir`, each atomically. */
export async function saveAdapterFolder(
  dir: string,
  tree: ParameterTree,
  config: Readonly<Record<string, unknown>>,
  name = ADAPTER_WEIGHTS,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await saveSafetensorsFile(path, await trainableFileTensors(tree));
  await writeFileAtomic(join(dir, ADAPTER_CONFIG), sortedJson(config));
  return path;
}

/** The adapter settings of an adapter_config.json (only fine_tune_type, num_layers, lora_parameters matter). */
export function adapterConfigFromJson(raw: unknown, file: string): AdapterConfig {
  if (typeof raw !== 'object' || raw === null) throw new UsageError(`${file}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  if ('peft_type' in c) {
    throw new UsageError(
      `${file}: is a Hugging Face PEFT adapter; convert it first with ` +
        'lora:export --adapter-path <this folder> --format mlx --output <new folder>',
    );
  }
  const type = (c.fine_tune_type ?? 'lora') as FineTuneType;
  if (!['lora', 'dora', 'full'].includes(type)) {
    throw new UsageError(`${file}: fine_tune_type "${String(type)}" is not lora, dora or full`);
  }
  const numLayers = c.num_layers ?? 16;
  if (typeof numLayers !== 'number') throw new UsageError(`${file}: num_layers must be a number`);
  const p = c.lora_parameters as Record<string, unknown> | null | undefined;
  if (type !== 'full') {
    if (typeof p !== 'object' || p === null) throw new UsageError(`${file}: lora_parameters is missing`);
    for (const k of ['rank', 'scale'] as const) {
      if (typeof p[k] !== 'number') throw new UsageError(`${file}: lora_parameters.${k} must be a number`);
    }
  }
  return {
    fineTuneType: type,
    numLayers,
    loraParameters: type === 'full' ? null : ({ dropout: 0, ...p } as unknown as LoraParametersConfig),
  };
}

const ADAPTER_LEAF = /\.(lora_a|lora_b|m)$/;

/**
 * Put the tensors of an adapters.safetensors file into the tree (names and shapes checked). Every trainable
 * tensor must be in the file unless `partial`.
 */
export async function loadAdapterWeights(
  path: string,
  tree: ParameterTree,
  fineTuneType: FineTuneType,
  partial = false,
): Promise<void> {
  const reader = await loadSafetensorsFile(path);
  const seen = new Set<string>();
  for (const name of reader.names) {
    if (fineTuneType !== 'full' && !ADAPTER_LEAF.test(name)) {
      throw new UsageError(
        `${path}: "${name}" is not an adapter tensor (lora_a, lora_b or m) of a ${fineTuneType} adapter`,
      );
    }
    if (!tree.has(name)) {
      throw new UsageError(
        `${path}: "${name}" names no tensor of this model with this adapter configuration; ` +
          'was the adapter trained on another model or with other num_layers/keys?',
      );
    }
    const d = await reader.readAsCore(name);
    const t = T.fromHost(d.data, d.shape, d.dtype);
    const old = tree.get(name);
    const cast = t.dtype === old.dtype ? t : T.cast(t, old.dtype);
    if (cast !== t) t.dispose();
    try {
      tree.set(name, cast);
    } catch (e) {
      cast.dispose();
      throw new UsageError(`${path}: ${(e as Error).message}`, { cause: e });
    }
    old.dispose();
    seen.add(name);
  }
  const missing = tree.trainableNames().filter((n) => !seen.has(n));
  if (!partial && missing.length > 0) {
    throw new UsageError(`${path}: lacks ${missing.length} adapter tensor(s), e.g. "${missing[0]}"`);
  }
}

/** Apply the adapter in `dir` (adapter_config.json + adapters.safetensors) to `model`. */
export async function loadAdapterFolder(
  model: LlamaModel,
  dir: string,
  rng?: Rng,
): Promise<{ config: AdapterConfig; tree: ParameterTree }> {
  const configPath = join(dir, ADAPTER_CONFIG);
  const config = adapterConfigFromJson(await readJsonFile(configPath), configPath);
  applyAdapters(model, config, rng);
  const tree = trainableTree(model, config);
  await loadAdapterWeights(join(dir, ADAPTER_WEIGHTS), tree, config.fineTuneType);
  return { config, tree };
}
