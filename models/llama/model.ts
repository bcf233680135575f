/**
 * The Llama network (Llama 1-3, Qwen2, llama2.c's models), top to bottom as llama2.c's run.c reads:
 *
 *   h = embed(tokens)                                              [B, T, hidden]
 *   for each layer:
 *     x = rmsnorm(h) · input_layernorm
 *     q, k, v = x·Wqᵀ, x·Wkᵀ, x·Wvᵀ  (+ biases in Qwen2)            heads of head_dim; k, v with fewer heads (GQA)
 *     q, k = rope(q), rope(k) at positions offset … offset + T − 1
 *     k, v = cache.append(k, v)                                    every position so far (written in place)
 *     h = h + softmax(q·kᵀ/√d + causal mask)·v · Woᵀ
 *     x = rmsnorm(h) · post_attention_layernorm
 *     h = h + (silu(x·Wgateᵀ) ⊙ x·Wupᵀ)·Wdownᵀ
 *   logits = (rmsnorm(h) · norm)·Wheadᵀ                            [B, T, vocab] (or the last position only)
 *
 * Each layer runs in its own tidy scope and its input is freed once the next layer has it, so a forward pass
 * holds one layer's activations at a time (models/layer-chain.ts).
 * @module
 */
import { DenseLinear } from '../../core/nn/linear.js';
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
      ...w.layers.map((layer, i) => {
        if (checkpointBlocks && !cache) {
          return (h: T.Tensor) =>
            T.tidy(() => T.checkpoint((x: T.Tensor) => this.#block(x, layer, undefined, offset), h));
        }
        const layerCache = cache?.[i];
        const fused = length === 1 && layerCache instanceof KVCache ? this.#fusable(layer) : null;
        return (h: T.Tensor) =>
          T.tidy(() =>
            fused && layerCache instanceof KVCache
              ? this.#fusedBlock(h, fused, layerCache)
              : this.#block(h, layer, layerCache, offset),
          );
      }),
      (h) =>
        T.tidy(() => T.rmsNorm(lastOnly && length > 1 ? T.slice(h, [null, { start: length - 1 }]) : h, w.norm, eps)),
      (h) => T.tidy(() => w.lmHead.forward(h)),
    );
  }

  /**
   * The layer's weights for the fused decoder-layer op, or null where the separate ops must run: the op is
   * native's decoding path (one addon call per layer instead of ~20 dispatches), for dense projections
   * without bias and plain or linear RoPE.
   */
  #fusable(layer: LlamaLayerWeights): T.DecoderLayerWeights | null {
    const s = this.config.ropeScaling;
    if (T.getBackendName() !== 'native' || (s !== null && s.type !== 'linear')) return null;
    const { q, k, v, o } = layer.attention;
    const { gate, up, down } = layer.mlp;
    const dense = [q, k, v, o, gate, up, down].map((l) => (l instanceof DenseLinear && !l.bias ? l.weight : null));
    const [wq, wk, wv, wo, wGate, wUp, wDown] = dense;
    if (!wq || !wk || !wv || !wo || !wGate || !wUp || !wDown) return null;
    const f32 = [wq, wk, wv, wo, wGate, wUp, wDown, layer.inputNorm, layer.postAttentionNorm].every(
      (t) => t.dtype === 'f32',
    );
    if (!f32) return null;
    return { inputNorm: layer.inputNorm, wq, wk, wv, wo, postNorm: layer.postAttentionNorm, wGate, wUp, wDown };
  }

  /** One decoding step of a layer as one op (kernels/decoder), then the new keys and values into the cache. */
  #fusedBlock(h: T.Tensor, weights: T.DecoderLayerWeights, cache: KVCache): T.Tensor {
    const c = this.config;
    const s = c.ropeScaling;
    const [y, keys, values] = T.decoderLayer(
      h,
      weights,
      {
        cached: cache.length,
        numHeads: c.numHeads,
        numKvHeads: c.numKvHeads,
        headDim: c.headDim,
        eps: c.rmsNormEps,
        ropeBase: c.ropeTheta,
        ropeScale: s?.type === 'linear' ? 1 / s.factor : 1,
        ropeTraditional: c.ropeTraditional,
      },
      cache.peek(),
    );
    cache.append(keys, values);
    return y;
  }

  /** One transformer block: attention and MLP, each a residual around an RMSNorm. */
  #block(h: T.Tensor, layer: LlamaLayerWeights, cache: LayerCache | undefined, offset: number): T.Tensor {
    const eps = this.config.rmsNormEps;
    const attention = this.#attention(T.rmsNorm(h, layer.inputNorm, eps), layer, cache, offset);
    // The residual add and the norm after it are one op: the sum is the next residual stream.
    const [attended, normed] = T.addRmsNorm(h, attention, layer.postAttentionNorm, eps);
    return T.add(attended, this.#mlp(normed, layer));
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
    // The cache's buffers as they are, with the count of valid rows: attention reads no further.
    const { keys, values, length } = cache
      ? cache.append(newKeys, newValues)
      : { keys: newKeys, values: newValues, length: L };
    const mask = cache?.mask(L);
    const out = T.scaledDotProductAttention(queries, keys, values, {
      kvLength: length,
      ...(mask ? { mask } : { causal: true }),
    });
    return layer.attention.o.forward(T.reshape(T.transpose(out, 1, 2), [B, L, numHeads * headDim]));
  }

  #mlp(x: T.Tensor, layer: LlamaLayerWeights): T.Tensor {
    const { gate, up, down } = layer.mlp;
    // Dense projections without bias take the fused gate (one op for two products, silu and the product);
    // a quantized or adapted Linear goes through its own forward.
    const fused = gate instanceof DenseLinear && up instanceof DenseLinear && !gate.bias && !up.bias;
    const activated = fused ? T.swiglu(x, gate.weight, up.weight) : T.mul(T.silu(gate.forward(x)), up.forward(x));
    return down.forward(activated);
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
