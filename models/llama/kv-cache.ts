/**
 * Key/value caches: each attention layer keeps the keys and values of the positions it has seen, so that a
 * decoding step computes one position instead of the whole sequence.
 *
 * The model talks to a cache only through {@link LayerCache}. Two implementations:
 * - {@link KVCache}: every position up to a fixed capacity (the model's context length by default).
 * - {@link RotatingKVCache}: the last `maxSize` positions (plus the first `keep`), for sequences longer than
 *   the memory or the context one wants to spend: mlx-lm's RotatingKVCache (`--max-kv-size`).
 *
 * Both keep preallocated [B, kvHeads, rows, d] buffers and write new positions into them in place with
 * `sliceUpdate` (the core's in-place op: the cache owns its buffers, so the write is O(new positions), not a
 * copy of the cache). Attention reads the buffer as it is, with the count of valid rows (the op's `kvLength`),
 * so nothing is copied to read the cache either. Buffers grow by {@link CACHE_STEP} positions at a time
 * (mlx-lm's step): a model with a 128K context does not allocate 128K positions for a short request.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import * as T from '../../index.js';

/** Positions a cache buffer grows by (mlx-lm's KVCache.step): one reallocation per this many tokens. */
export const CACHE_STEP = 256;

/** What attention reads after an append: the buffers and how many of their rows hold positions. */
export interface CachedKeys {
  /** [B, kvHeads, rows, d]: the first `length` rows hold keys, the rest are not read. */
  readonly keys: T.Tensor;
  readonly values: T.Tensor;
  /** Valid rows (attention's kvLength). */
  readonly length: number;
}

/** The cache of one attention layer. */
export interface LayerCache {
  /** Positions seen so far: the RoPE position of the next token. */
  readonly offset: number;
  /** Positions held now (≤ offset for a rotating cache). */
  readonly length: number;
  /**
   * Adds keys and values [B, kvHeads, T, d] (RoPE already applied) and returns every cached key and value,
   * the new ones last (in temporal order whenever more than one query reads them), for attention. The
   * returned tensors belong to the cache: valid until the next append.
   */
  append(keys: T.Tensor, values: T.Tensor): CachedKeys;
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

/**
 * One buffer of cached rows [B, kvHeads, rows, d] with the first `length` valid: writes go in place,
 * and the buffer grows (one copy) when a write would pass its end.
 */
class RowBuffer {
  #buffer: T.Tensor | null = null;

  /** Rows allocated (valid or not). */
  get rows(): number {
    return this.#buffer?.shape[2] ?? 0;
  }

  get tensor(): T.Tensor {
    if (!this.#buffer) throw new Error('RowBuffer: nothing written yet');
    return this.#buffer;
  }

  /** Room for `rows` rows shaped like `like`, keeping the first `keepRows` of what is there. */
  reserve(rows: number, like: T.Tensor, keepRows: number): void {
    if (this.rows >= rows) return;
    const [B, heads, , d] = like.shape;
    const grown = T.tidy(() => {
      const fresh = T.zeros([B, heads, rows - keepRows, d], like.dtype);
      if (!this.#buffer || keepRows === 0) return fresh;
      return T.concat([T.slice(this.#buffer, [null, null, { end: keepRows }]), fresh], 2);
    });
    this.#buffer = swap(this.#buffer, grown);
  }

  /** Write `rows` [B, kvHeads, n, d] at row `at` in place (the buffer is consumed and replaced). */
  write(rows: T.Tensor, at: number): void {
    const buffer = this.#buffer;
    if (!buffer) throw new Error('RowBuffer: reserve before writing');
    this.#buffer = null;
    this.#buffer = T.keep(T.sliceUpdate(buffer, rows, [0, 0, at, 0]));
  }

  /** Replace the buffer by a tensor the cache owns from now on. */
  set(next: T.Tensor): void {
    this.#buffer = swap(this.#buffer, next);
  }

  dispose(): void {
    this.#buffer?.dispose();
    this.#buffer = null;
  }
}

/** Rows to allocate for `needed` positions: whole steps, never past `limit`. */
function stepped(needed: number, limit: number): number {
  return Math.min(limit, Math.ceil(needed / CACHE_STEP) * CACHE_STEP);
}

/** Every position, up to `capacity`. */
export class KVCache implements LayerCache {
  readonly #keys = new RowBuffer();
  readonly #values = new RowBuffer();
  #length = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new UsageError(`KVCache: capacity ${capacity} must be a positive integer`);
    }
  }

  get offset(): number {
    return this.#length;
  }

  get length(): number {
    return this.#length;
  }

  append(keys: T.Tensor, values: T.Tensor): CachedKeys {
    const n = keys.shape[2];
    if (this.#length + n > this.capacity) {
      throw new CacheFullError(
        `KV cache full: ${this.#length} positions cached + ${n} new exceed its capacity of ${this.capacity} ` +
          '(the context length); shorten the prompt or max tokens, or use a rotating cache (--max-kv-size)',
      );
    }
    const rows = stepped(this.#length + n, this.capacity);
    this.#keys.reserve(rows, keys, this.#length);
    this.#values.reserve(rows, values, this.#length);
    this.#keys.write(keys, this.#length);
    this.#values.write(values, this.#length);
    this.#length += n;
    return { keys: this.#keys.tensor, values: this.#values.tensor, length: this.#length };
  }

  mask(): undefined {
    return undefined;
  }

  /** The buffers as they are (the first `length` rows valid), for a fused layer that reads before appending; none while empty. */
  peek(): { readonly keys: T.Tensor; readonly values: T.Tensor } | undefined {
    return this.#length > 0 ? { keys: this.#keys.tensor, values: this.#values.tensor } : undefined;
  }

  dispose(): void {
    this.#keys.dispose();
    this.#values.dispose();
    this.#length = 0;
  }
}

/**
 * The last `maxSize` positions, the first `keep` of the sequence always kept (attention sinks; mlx-lm keeps
 * 4), as mlx-lm's RotatingKVCache. One new position at a time is written in place: while the window fills,
 * at the end; once full, over the oldest position after the kept ones, cycling (a single query sees every
 * row, so their order does not matter). A block of positions (a prefill chunk) first puts the rows back in
 * temporal order and keeps `maxSize − 1` earlier positions so each new query sees a full window, and
 * {@link mask} limits each query to its own window of `maxSize`, as mlx-lm does.
 */
export class RotatingKVCache implements LayerCache {
  readonly #keys = new RowBuffer();
  readonly #values = new RowBuffer();
  #offset = 0;
  /** Rows of the buffers that hold positions. */
  #rows = 0;
  /** Where the next single position goes once the window is full; rows [keep, idx) are the newest. */
  #idx = 0;

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
    return this.#rows;
  }

  append(keys: T.Tensor, values: T.Tensor): CachedKeys {
    const n = keys.shape[2];
    if (n === 1 && this.#rows <= this.maxSize) this.#appendOne(keys, values);
    else this.#appendBlock(keys, values);
    this.#offset += n;
    return { keys: this.#keys.tensor, values: this.#values.tensor, length: this.#rows };
  }

  #appendOne(keys: T.Tensor, values: T.Tensor): void {
    let at: number;
    if (this.#rows < this.maxSize) {
      at = this.#rows;
      const rows = stepped(at + 1, this.maxSize);
      this.#keys.reserve(rows, keys, at);
      this.#values.reserve(rows, values, at);
      this.#rows++;
      this.#idx = this.#rows;
    } else {
      if (this.#idx >= this.maxSize) this.#idx = this.keep;
      at = this.#idx++;
    }
    this.#keys.write(keys, at);
    this.#values.write(values, at);
  }

  /** Rows [0, rows) in temporal order: [0, keep), then [idx, rows) (the oldest), then [keep, idx). */
  #ordered(buffer: T.Tensor): T.Tensor {
    const valid = T.slice(buffer, [null, null, { end: this.#rows }]);
    if (this.#idx >= this.#rows) return valid;
    const parts = [
      T.slice(valid, [null, null, { start: this.#idx }]),
      T.slice(valid, [null, null, { start: this.keep, end: this.#idx }]),
    ];
    if (this.keep > 0) parts.unshift(T.slice(valid, [null, null, { end: this.keep }]));
    return T.concat(parts, 2);
  }

  #appendBlock(keys: T.Tensor, values: T.Tensor): void {
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
    const held = (b: RowBuffer) => (this.#rows === 0 ? null : this.#ordered(b.tensor));
    const nextKeys = T.tidy(() => trimmed(held(this.#keys), keys));
    const nextValues = T.tidy(() => trimmed(held(this.#values), values));
    this.#keys.set(nextKeys);
    this.#values.set(nextValues);
    this.#rows = nextKeys.shape[2];
    this.#idx = this.#rows;
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
    this.#keys.dispose();
    this.#values.dispose();
    this.#rows = this.#idx = this.#offset = 0;
  }
}
