/**
 * A parameter tree: every tensor of a network under the name it takes in a safetensors file
 * (`model.layers.0.self_attn.q_proj.lora_a`), each replaceable (an optimizer step makes new tensors, since
 * tensors are immutable) and each trainable or frozen. Training differentiates with respect to the trainable
 * ones only, so a frozen tensor is a constant to the tape: no gradient is computed for it.
 *
 * Layers hand out their tensors as {@link ParameterEntry}s keyed by suffix ({@link HasParameters}); a model
 * joins them under its paths (models/llama/parameters.ts). Build the tree after swapping layers (adapters):
 * entries point at the layer objects that existed when it was built.
 * @module
 */
import { DTypeError, ShapeError } from '../errors.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** One replaceable tensor of a layer. */
export interface ParameterEntry {
  get(): Tensor;
  /** Replace the tensor (same shape and dtype); the caller disposes the old one when it owns it. */
  set(value: Tensor): void;
}

/** A layer whose tensors can be replaced, keyed as in `Linear.parameters()` (`weight`, `lora_a`, ...). */
export interface HasParameters {
  parameterEntries(): Readonly<Record<string, ParameterEntry>>;
}

/** Whether a layer hands out replaceable entries. */
export function hasParameters(x: unknown): x is HasParameters {
  return typeof (x as Partial<HasParameters> | null)?.parameterEntries === 'function';
}

/** An entry whose tensor cannot be replaced (e.g. a quantized weight): training it is refused by name. */
export function readOnlyEntry(name: string, get: () => Tensor, why: string): ParameterEntry {
  return {
    get,
    set() {
      throw new DTypeError(`${name} cannot be trained: ${why}`);
    },
  };
}

/** A mutable field as an entry: `fieldEntry(this, 'loraA')`. */
export function fieldEntry<O extends object, K extends keyof O>(owner: O, key: K): ParameterEntry {
  return {
    get: () => owner[key] as Tensor,
    set: (value: Tensor) => {
      owner[key] = value as O[K];
    },
  };
}

/**
 * Which names a freeze/unfreeze call touches: every name (undefined), a name or a dotted prefix of names
 * (`model.layers.3` covers `model.layers.3.mlp.up_proj.weight`, not `model.layers.30...`), a list of those,
 * a regular expression, or a predicate.
 */
export type ParameterFilter = string | readonly string[] | RegExp | ((name: string) => boolean);

function matcher(filter: ParameterFilter | undefined): (name: string) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter === 'function') return filter;
  if (filter instanceof RegExp) return (n) => filter.test(n);
  const prefixes = typeof filter === 'string' ? [filter] : filter;
  return (n) => prefixes.some((p) => n === p || n.startsWith(`${p}.`));
}

export class ParameterTree {
  readonly #entries = new Map<string, ParameterEntry>();
  readonly #frozen = new Set<string>();

  /** Add the entries of a layer under `path` (`path.key`); `trainable` false adds them frozen. */
  addLayer(path: string, entries: Readonly<Record<string, ParameterEntry>>, trainable = true): this {
    for (const [key, entry] of Object.entries(entries)) this.add(path ? `${path}.${key}` : key, entry, trainable);
    return this;
  }

  add(name: string, entry: ParameterEntry, trainable = true): this {
    if (this.#entries.has(name)) throw new ShapeError(`ParameterTree: "${name}" is already in the tree`);
    this.#entries.set(name, entry);
    if (!trainable) this.#frozen.add(name);
    return this;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  get(name: string): Tensor {
    return this.#entry(name).get();
  }

  /** Replace a tensor; shape and dtype must match the current one. The old tensor is returned, not disposed. */
  set(name: string, value: Tensor): Tensor {
    const entry = this.#entry(name);
    const old = entry.get();
    if (!shapesEqual(old.shape, value.shape) || old.dtype !== value.dtype) {
      throw new ShapeError(
        `ParameterTree: "${name}" is ${formatShape(old.shape)} ${old.dtype}; got ${formatShape(value.shape)} ${value.dtype}`,
      );
    }
    entry.set(value);
    return old;
  }

  /** Mark matching parameters frozen (all when no filter). Returns how many matched. */
  freeze(filter?: ParameterFilter): number {
    return this.#mark(filter, (n) => this.#frozen.add(n));
  }

  /** Mark matching parameters trainable (all when no filter). Returns how many matched. */
  unfreeze(filter?: ParameterFilter): number {
    return this.#mark(filter, (n) => this.#frozen.delete(n));
  }

  isTrainable(name: string): boolean {
    this.#entry(name);
    return !this.#frozen.has(name);
  }

  /** Trainable names in tree order. */
  trainableNames(): string[] {
    return this.names().filter((n) => !this.#frozen.has(n));
  }

  /** The trainable tensors by name (tree order). */
  trainable(): Record<string, Tensor> {
    return Object.fromEntries(this.trainableNames().map((n) => [n, this.get(n)]));
  }

  /** Every tensor by name (tree order). */
  all(): Record<string, Tensor> {
    return Object.fromEntries(this.names().map((n) => [n, this.get(n)]));
  }

  /** Elements in the trainable tensors and in all of them. */
  counts(): { trainable: number; total: number } {
    let trainable = 0;
    let total = 0;
    for (const n of this.names()) {
      const size = this.get(n).size;
      total += size;
      if (!this.#frozen.has(n)) trainable += size;
    }
    return { trainable, total };
  }

  #entry(name: string): ParameterEntry {
    const e = this.#entries.get(name);
    if (!e) throw new ShapeError(`ParameterTree: no parameter "${name}"`);
    return e;
  }

  #mark(filter: ParameterFilter | undefined, fn: (name: string) => void): number {
    const match = matcher(filter);
    let n = 0;
    for (const name of this.#entries.keys()) {
      if (match(name)) {
        fn(name);
        n++;
      }
    }
    return n;
  }
}
