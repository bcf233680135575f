/**
 * One component's weights by name (the diffusers / transformers state-dict keys), as f32 tensors: F16 and BF16
 * files are widened on load, because every backend computes these models in f32. Reads check each tensor's
 * shape against what the architecture (from config.json) expects and name the file, the tensor and both shapes
 * when they differ; after the model is built, tensors it never read are reported the same way, so a file of
 * another architecture fails at load instead of running with half its weights.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import { floatValues, type SafetensorsReader } from '../../core/io/safetensors.js';
import * as T from '../../index.js';

/**
 * A trainable low-rank update of one linear layer (LoRA training): `y = W·x + scale · up·(down·x)`, down
 * [r, in], up [out, r]. Kept apart from W (not merged as models/sd/lora.ts does) so gradients reach down and up.
 */
export interface LoraAdapter {
  readonly down: T.Tensor;
  readonly up: T.Tensor;
  readonly scale: number;
}

export class Weights {
  readonly #tensors: Map<string, T.Tensor>;
  readonly #read = new Set<string>();
  /** Adapters by module name (`….attn1.to_q`), set before the model is built; the attention layers read them. */
  readonly adapters = new Map<string, LoraAdapter>();

  constructor(
    /** The file (for messages). */
    readonly file: string,
    tensors: Map<string, T.Tensor>,
  ) {
    this.#tensors = tensors;
  }

  get names(): string[] {
    return [...this.#tensors.keys()];
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  /** The tensor `name`, checked against `shape` (the architecture's expectation). */
  get(name: string, shape: readonly number[]): T.Tensor {
    const t = this.#tensors.get(name);
    if (!t) {
      throw new UsageError(
        `${this.file}: no tensor "${name}" (expected ${fmt(shape)}); the file does not match its config.json ` +
          'or is not a diffusers-layout file',
      );
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UsageError(
        `${this.file}: tensor "${name}" is ${fmt(t.shape)} but the config implies ${fmt(shape)}; the weights and ` +
          'config.json describe different models',
      );
    }
    this.#read.add(name);
    return t;
  }

  /** The shape of tensor `name` as loaded. */
  shapeOf(name: string): readonly number[] {
    const t = this.#tensors.get(name);
    if (!t) throw new UsageError(`${this.file}: no tensor "${name}"`);
    return t.shape;
  }

  /** Like {@link get}, or undefined when the file lacks it (optional tensors such as biases). */
  maybe(name: string, shape: readonly number[]): T.Tensor | undefined {
    return this.#tensors.has(name) ? this.get(name, shape) : undefined;
  }

  /** Replaces a tensor (LoRA merging); the old one is disposed. */
  replace(name: string, value: T.Tensor): void {
    const old = this.#tensors.get(name);
    if (!old) throw new UsageError(`${this.file}: no tensor "${name}" to replace`);
    if (old.shape.join() !== value.shape.join()) {
      throw new UsageError(`${this.file}: "${name}" is ${fmt(old.shape)}; cannot replace it with ${fmt(value.shape)}`);
    }
    old.dispose();
    this.#tensors.set(name, value);
  }

  /** Throws naming the tensors the model never read (beyond those `ignore` accepts). */
  checkAllRead(ignore: (name: string) => boolean = () => false): void {
    const unread = this.names.filter((n) => !this.#read.has(n) && !ignore(n));
    if (unread.length === 0) return;
    const shown = unread.slice(0, 5).map((n) => `"${n}"`);
    throw new UsageError(
      `${this.file}: ${unread.length} tensors do not belong to the architecture in config.json ` +
        `(${shown.join(', ')}${unread.length > 5 ? ', …' : ''}); check that the weights and config.json match`,
    );
  }

  dispose(): void {
    for (const t of this.#tensors.values()) t.dispose();
    this.#tensors.clear();
  }
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export interface LoadWeightsOptions {
  /** Keys to leave out (buffers the model does not use, e.g. CLIP's position_ids). */
  readonly skip?: (name: string) => boolean;
  /** Old names to current ones (e.g. the VAE attention's query/key/value/proj_attn). */
  readonly rename?: (name: string) => string;
}

/** Every float tensor of a safetensors file as f32 tensors on the current backend. */
export async function loadWeights(reader: SafetensorsReader, options: LoadWeightsOptions = {}): Promise<Weights> {
  const file = reader.source.name;
  const tensors = new Map<string, T.Tensor>();
  try {
    for (const entry of reader.entries) {
      if (options.skip?.(entry.name)) continue;
      const raw = await reader.readAsCore(entry.name);
      const data = floatValues(raw);
      if (!data) {
        throw new UsageError(
          `${file}: tensor "${entry.name}" is ${raw.fileDType}; model weights must be F32, F16 or BF16`,
        );
      }
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new UsageError(
          `${file}: tensor "${entry.name}" holds ${data[bad]} at element ${bad}; the file is corrupt`,
        );
      }
      const name = options.rename ? options.rename(entry.name) : entry.name;
      if (tensors.has(name)) throw new UsageError(`${file}: two tensors map to "${name}" (old and new names?)`);
      tensors.set(name, T.tensor(data, raw.shape, 'f32'));
    }
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return new Weights(file, tensors);
}
