/**
 * Key/value caches: each attention layer keeps the keys and values of the positions it has seen, so that a
 * decoding step computes one position instead of the whole sequence.
 *
 * The model talks to a cache only through {@link LayerCache}. Two implementations:
 * - {@link KVCache}: every position up to a fixed capacity (the model's context length by default).
 * - {@link RotatingKVCache}: the last `maxSize` positions (plus the first `keep`), for sequences longer than
 *   the memory or the context one wants to spend: mlx-lm's RotatingKVCache (`--max-kv-size`).
 *
 * Both append by concatenation today: O(cached positions) per step, the same order as the attention that
 * reads them, but a copy. An in-place `sliceUpdate` (with buffer donation) can replace the storage behind
 * the same interface: write the new rows into a preallocated [B, heads, capacity, d] buffer and return a view
 * of its first `length` rows.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import * as T from '../../index.js';

/** The cache of one attention layer. */
export interface LayerCache {
  /** Positions seen so far: the RoPE position of the next token. */
  readonly offset: number;
  /** Positions held now (≤ offset for a rotating cache). */
  readonly length: number;
  /**
   * Adds keys and values [B, kvHeads, T, d] (RoPE already applied) and returns every cached key and value,
   * the new ones last, for attention. The returned tensors belong to the cache: valid until the next append.
   */
  append(keys: T.Tensor, values: T.Tensor): { keys: T.Tensor; values: T.Tensor };
  /**
   * A mask for the T queries just appended when plain causal alignment (query t sees keys up to t + S − T)
   * is not enough, as [T, S] u8 (nonzero keeps); undefined otherwise.
   */
  mask(queries: number): T.Tensor | undefined;
  /** Frees the cached tensors. */
  dispose(): void;
}

/** Thrown when a sequence outgrows a fixed-capacity cache. */
export class CacheFullError extends UsageError {
  override name = 'CacheFullError';
}

/** Replaces `held` by `next`, owned by the cache and outside every tidy scope. */
function swap(held: T.Tensor | null, next: T.Tensor): T.Tensor {
  T.keep(next);
  if (held !== next) held?.dispose();
  return next;
}

/** Every position, up to `capacity`. */
export class KVCache implements LayerCache {
  #keys: T.Tensor | null = null;
  #values: T.Tensor | null = null;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new UsageError(`KVCache: capacity ${capacity} must be a positive integer`);
    }
  }

  get offset(): number {
    return this.length;
  }

  get length(): number {
    return this.#keys?.shape[2] ?? 0;
  }

  append(keys: T.Tensor, values: T.Tensor): { keys: T.Tensor; values: T.Tensor } {
    const n = keys.shape[2];
    if (this.length + n > this.capacity) {
      throw new CacheFullError(
        `KV cache full: ${this.length} positions cached + ${n} new exceed its capacity of ${this.capacity} ` +
          '(the context length); shorten the prompt or max tokens, or use a rotating cache (--max-kv-size)',
      );
    }
    this.#keys = swap(this.#keys, this.#keys ? T.concat([this.#keys, keys], 2) : T.contiguous(keys));
    this.#values = swap(this.#values, this.#values ? T.concat([this.#values, values], 2) : T.contiguous(values));
    return { keys: this.#keys, values: this.#values };
  }

  mask(): undefined {
    return undefined;
  }

  dispose(): void {
    this.#keys?.dispose();
    this.#values?.dispose();
    this.#keys = this.#values = null;
  }
}

/**
 * The last `maxSize` positions, the first `keep` of the sequence always kept (attention sinks; mlx-lm keeps
 * 4). Kept in temporal order. A multi-token append keeps `maxSize − 1` earlier positions so each new query
 * sees a full window, and {@link mask} limits each query to its own window of `maxSize`, as mlx-lm does.
 */
export class RotatingKVCache implements LayerCache {
  #keys: T.Tensor | null = null;
  #values: T.Tensor | null = null;
  #offset = 0;

  constructor(
    readonly maxSize: number,
    readonly keep = 0,
  ) {
    if (!Number.isSafeInteger(maxSize) || maxSize < 2) {
      throw new UsageError(`RotatingKVCache: maxSize ${maxSize} must be an integer >= 2`);
    }
    if (!Number.isSafeInteger(keep) || keep < 0 || keep >= maxSize) {
      throw new UsageError(`RotatingKVCache: keep ${keep} must be an integer in [0, maxSize)`);
    }
  }

  get offset(): number {
    return this.#offset;
  }

  get length(): number {
    return this.#keys?.shape[2] ?? 0;
  }

  append(keys: T.Tensor, values: T.Tensor): { keys: T.Tensor; values: T.Tensor } {
    const n = keys.shape[2];
    // Keep maxSize − 1 earlier positions: one new token fills the window; a block of them gets the mask.
    const room = this.maxSize - 1;
    const trimmed = (held: T.Tensor | null, added: T.Tensor): T.Tensor => {
      if (!held) return T.contiguous(added);
      const drop = held.shape[2] - room;
      if (drop <= 0) return T.concat([held, added], 2);
      const parts = [T.slice(held, [null, null, { start: this.keep + drop }]), added];
      if (this.keep > 0) parts.unshift(T.slice(held, [null, null, { end: this.keep }]));
      return T.concat(parts, 2);
    };
    const nextKeys = T.tidy(() => trimmed(this.#keys, keys));
    const nextValues = T.tidy(() => trimmed(this.#values, values));
    this.#keys = swap(this.#keys, nextKeys);
    this.#values = swap(this.#values, nextValues);
    this.#offset += n;
    return { keys: this.#keys, values: this.#values };
  }

  mask(queries: number): T.Tensor | undefined {
    const S = this.length;
    if (queries === 1 || S <= this.maxSize) return undefined;
    // Query t (cache row S − T + t) sees rows j with S − T + t − maxSize < j ≤ S − T + t.
    const m = new Uint8Array(queries * S);
    for (let t = 0; t < queries; t++) {
      const row = S - queries + t;
      for (let j = Math.max(0, row - this.maxSize + 1); j <= row; j++) m[t * S + j] = 1;
    }
    return T.tensor(m, [queries, S], 'u8');
  }

  dispose(): void {
    this.#keys?.dispose();
    this.#values?.dispose();
    this.#keys = this.#values = null;
  }
}
