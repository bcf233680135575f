/**
 * The Llama network (Llama 1-3, Qwen2, llama2.c's models), top to bottom as llama2.c's run.c reads:
 *
 *   h = embed(tokens)                                              [B, T, hidden]
 *   for each layer:
 *     x = rmsnorm(h) · input_layernorm
 *     q, k, v = x·Wqᵀ, x·Wkᵀ, x·Wvᵀ  (+ biases in Qwen2)            heads of head_dim; k, v with fewer heads (GQA)
 *     q, k = rope(q), rope(k) at positions offset … offset + T − 1
 *     k, v = cache.append(k, v)                                    every position so far
 *     h = h + softmax(q·kᵀ/√d + causal mask)·v · Woᵀ
 *     x = rmsnorm(h) · post_attention_layernorm
 *     h = h + (silu(x·Wgateᵀ) ⊙ x·Wupᵀ)·Wdownᵀ
 *   logits = (rmsnorm(h) · norm)·Wheadᵀ                            [B, T, vocab] (or the last position only)
 *
 * Each layer runs in its own tidy scope and its input is freed once the next layer has it, so a forward pass
 * holds one layer's activations at a time (models/layer-chain.ts).
 * @module
 */
import * as T from '../../index.js';
import { chain, releaser } from '../layer-chain.js';
import type { LlamaConfig } from './config.js';
import { KVCache, type LayerCache, RotatingKVCache } from './kv-cache.js';
import { RotaryEmbedding } from './rope.js';
import { disposeLlamaWeights, type LlamaLayerWeights, type LlamaWeights } from './weights.js';

export interface ForwardOptions {
  /** One cache per layer (from {@link LlamaModel.createCache}); without it the call sees only `tokens`. */
  readonly cache?: readonly LayerCache[];
  /** Compute logits for the last position only ([B, 1, vocab]): what generation needs after a prefill. */
  readonly lastOnly?: boolean;
  /**
   * Training: keep only each block's input for the backward pass and recompute the block there (gradient
   * checkpointing, core/autograd.ts `checkpoint`). No effect outside valueAndGrad or with a cache.
   */
  readonly checkpointBlocks?: boolean;
}

export interface CacheOptions {
  /** Keep only the last `maxKvSize` positions (a rotating cache, mlx-lm's --max-kv-size); default: all. */
  readonly maxKvSize?: number;
  /** Positions a full cache may hold; default the model's context length. */
  readonly capacity?: number;
}

/** What generation and evaluation need from a causal language model. */
export interface CausalLM {
  readonly config: LlamaConfig;
  /** tokens [B, T] i32 → logits [B, T, vocab] f32 (T = 1 with lastOnly). */
  forward(tokens: T.Tensor, options?: ForwardOptions): T.Tensor;
  createCache(options?: CacheOptions): LayerCache[];
  dispose(): void;
}

export class LlamaModel implements CausalLM {
  readonly #rope: RotaryEmbedding;

  constructor(
    readonly config: LlamaConfig,
    readonly weights: LlamaWeights,
  ) {
    this.#rope = new RotaryEmbedding(config);
  }

  forward(tokens: T.Tensor, options: ForwardOptions = {}): T.Tensor {
    const { cache, lastOnly = false, checkpointBlocks = false } = options;
    if (tokens.rank !== 2 || tokens.dtype !== 'i32') {
      throw new T.ShapeError(`LlamaModel.forward: tokens must be [batch, length] i32, got ${tokens} `);
    }
    if (cache && cache.length !== this.config.numLayers) {
      throw new T.ShapeError(
        `LlamaModel.forward: ${cache.length} layer caches given for ${this.config.numLayers} layers`,
      );
    }
    const w = this.weights;
    const length = tokens.shape[1];
    const offset = cache?.[0].offset ?? 0;
    const eps = this.config.rmsNormEps;
    const x = T.tidy(() => w.embed.forward(tokens));
    return chain(
      x,
      releaser(),
      ...w.layers.map((layer, i) =>
        checkpointBlocks && !cache
          ? (h: T.Tensor) => T.tidy(() => T.checkpoint((x: T.Tensor) => this.#block(x, layer, undefined, offset), h))
          : (h: T.Tensor) => T.tidy(() => this.#block(h, layer, cache?.[i], offset)),
      ),
      (h) =>
        T.tidy(() => T.rmsNorm(lastOnly && length > 1 ? T.slice(h, [null, { start: length - 1 }]) : h, w.norm, eps)),
      (h) => T.tidy(() => w.lmHead.forward(h)),
    );
  }

  /** One transformer block: attention and MLP, each a residual around an RMSNorm. */
  #block(h: T.Tensor, layer: LlamaLayerWeights, cache: LayerCache | undefined, offset: number): T.Tensor {
    const eps = this.config.rmsNormEps;
    const attended = T.add(h, this.#attention(T.rmsNorm(h, layer.inputNorm, eps), layer, cache, offset));
    return T.add(attended, this.#mlp(T.rmsNorm(attended, layer.postAttentionNorm, eps), layer));
  }

  #attention(x: T.Tensor, layer: LlamaLayerWeights, cache: LayerCache | undefined, offset: number): T.Tensor {
    const { numHeads, numKvHeads, headDim } = this.config;
    const [B, L] = x.shape;
    // [B, L, heads·d] → [B, heads, L, d]
    const heads = (t: T.Tensor, n: number) => T.transpose(T.reshape(t, [B, L, n, headDim]), 1, 2);
    const { q, k, v } = layer.attention;
    const queries = this.#rope.apply(heads(q.forward(x), numHeads), offset);
    const newKeys = this.#rope.apply(heads(k.forward(x), numKvHeads), offset);
    const newValues = heads(v.forward(x), numKvHeads);
    const { keys, values } = cache ? cache.append(newKeys, newValues) : { keys: newKeys, values: newValues };
    const mask = cache?.mask(L);
    const out = T.scaledDotProductAttention(queries, keys, values, mask ? { mask } : { causal: true });
    return layer.attention.o.forward(T.reshape(T.transpose(out, 1, 2), [B, L, numHeads * headDim]));
  }

  #mlp(x: T.Tensor, layer: LlamaLayerWeights): T.Tensor {
    const { gate, up, down } = layer.mlp;
    return down.forward(T.mul(T.silu(gate.forward(x)), up.forward(x)));
  }

  createCache(options: CacheOptions = {}): LayerCache[] {
    const { maxKvSize, capacity = this.config.maxPositions } = options;
    return Array.from({ length: this.config.numLayers }, () =>
      maxKvSize === undefined ? new KVCache(capacity) : new RotatingKVCache(maxKvSize, Math.min(4, maxKvSize - 1)),
    );
  }

  dispose(): void {
    disposeLlamaWeights(this.weights);
  }
}
