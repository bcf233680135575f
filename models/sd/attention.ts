/**
 * Multi-head attention as Stable Diffusion uses it, and the transformer blocks built from it.
 *
 * Sliced attention: the queries are processed in slices of at most `sliceSize` rows, each one call of the fused
 * scaledDotProductAttention op, and the slices are concatenated. The fused kernels already keep the scores
 * out of memory (an online softmax per query row on every backend), so slicing here bounds the work of each
 * call instead: one dispatch per slice keeps a WebGPU submission short (browsers reset a GPU whose single
 * dispatch runs for seconds), and it bounds the host copy when a backend hands the op to another one (WebGPU
 * heads over 256 channels, e.g. the SD VAE's 512-channel single head). The result is the same for any slice
 * size (tested).
 * @module
 */

import type { Linear } from '../../core/nn/linear.js';
import * as T from '../../index.js';
import { denseLinear, GroupNorm, LayerNorm } from './layers.js';
import type { LoraAdapter, Weights } from './weights.js';

/** The base projection plus its low-rank update: the update runs unmerged so autograd reaches `down` and `up`. */
class AdaptedLinear implements Linear {
  constructor(
    readonly base: Linear,
    readonly adapter: LoraAdapter,
  ) {}

  get inFeatures(): number {
    return this.base.inFeatures;
  }

  get outFeatures(): number {
    return this.base.outFeatures;
  }

  parameters(): Readonly<Record<string, T.Tensor>> {
    return { ...this.base.parameters(), lora_A: this.adapter.down, lora_B: this.adapter.up };
  }

  /** The Weights own the base tensors and the trainer owns the adapter's: nothing to free here. */
  dispose(): void {}

  forward(x: T.Tensor): T.Tensor {
    return T.tidy(() => {
      const { down, up, scale } = this.adapter;
      const low = T.matmul(T.matmul(x, T.transpose(down)), T.transpose(up));
      return T.add(this.base.forward(x), T.mul(low, T.scalar(scale)));
    });
  }
}

/** `prefix`'s projection, wrapped with its adapter when `w.adapters` has one. */
function projection(w: Weights, prefix: string, inF: number, outF: number): Linear {
  const base = denseLinear(w, prefix, inF, outF);
  const adapter = w.adapters.get(prefix);
  return adapter ? new AdaptedLinear(base, adapter) : base;
}

/** Query rows per attention call unless the caller says otherwise: 4096 = one 512² SD image's latents. */
export const DEFAULT_ATTENTION_SLICE = 4096;

/**
 * softmax(q·kᵀ/√d)·v over `heads` heads: q [B, T, C], k and v [B, S, C] (C = heads·d) → [B, T, C].
 * `causal` masks keys after each query (CLIP's text encoder).
 */
export function multiHeadAttention(
  q: T.Tensor,
  k: T.Tensor,
  v: T.Tensor,
  heads: number,
  options: { sliceSize?: number; causal?: boolean } = {},
): T.Tensor {
  const [B, Tq, C] = q.shape;
  const S = k.shape[1];
  const d = C / heads;
  const slice = Math.max(1, options.sliceSize ?? DEFAULT_ATTENTION_SLICE);
  return T.tidy(() => {
    const split = (x: T.Tensor, n: number) => T.permute(T.reshape(x, [B, n, heads, d]), [0, 2, 1, 3]);
    const qh = split(q, Tq);
    const kh = split(k, S);
    const vh = split(v, S);
    const parts: T.Tensor[] = [];
    for (let start = 0; start < Tq; start += slice) {
      const end = Math.min(Tq, start + slice);
      const qs = start === 0 && end === Tq ? qh : T.slice(qh, [null, null, { start, end }]);
      // A causal slice of queries [start, end) sees keys up to its own position: give it keys [0, end).
      if (options.causal) {
        const ks = T.slice(kh, [null, null, { start: 0, end }]);
        const vs = T.slice(vh, [null, null, { start: 0, end }]);
        parts.push(T.scaledDotProductAttention(qs, ks, vs, { causal: true }));
      } else parts.push(T.scaledDotProductAttention(qs, kh, vh));
    }
    const o = parts.length === 1 ? parts[0] : T.concat(parts, 2);
    return T.reshape(T.permute(o, [0, 2, 1, 3]), [B, Tq, C]);
  });
}

/** diffusers `Attention`: to_q / to_k / to_v (bias optional), to_out.0; keys and values from `context` if given. */
export class Attention {
  readonly #q: Linear;
  readonly #k: Linear;
  readonly #v: Linear;
  readonly #out: Linear;

  constructor(
    w: Weights,
    prefix: string,
    channels: number,
    readonly heads: number,
    contextChannels = channels,
  ) {
    if (channels % heads !== 0) {
      throw new T.UsageError(`${w.file}: ${prefix}: ${channels} channels do not split into ${heads} heads`);
    }
    this.#q = projection(w, `${prefix}.to_q`, channels, channels);
    this.#k = projection(w, `${prefix}.to_k`, contextChannels, channels);
    this.#v = projection(w, `${prefix}.to_v`, contextChannels, channels);
    this.#out = projection(w, `${prefix}.to_out.0`, channels, channels);
  }

  /** x [B, T, C]; context [B, S, contextChannels] (default x itself). */
  forward(x: T.Tensor, context: T.Tensor = x, sliceSize?: number): T.Tensor {
    return T.tidy(() => {
      const o = multiHeadAttention(this.#q.forward(x), this.#k.forward(context), this.#v.forward(context), this.heads, {
        sliceSize,
      });
      return this.#out.forward(o);
    });
  }
}

/**
 * BasicTransformerBlock: self-attention, cross-attention on the text, and a GEGLU feed-forward (hidden 4·C,
 * `h·gelu(gate)` with exact GELU), each after a LayerNorm and added back to its input.
 */
export class TransformerBlock {
  readonly #norm1: LayerNorm;
  readonly #attn1: Attention;
  readonly #norm2: LayerNorm;
  readonly #attn2: Attention;
  readonly #norm3: LayerNorm;
  readonly #ffIn: Linear;
  readonly #ffOut: Linear;
  readonly #inner: number;

  constructor(w: Weights, prefix: string, channels: number, heads: number, contextChannels: number) {
    this.#norm1 = new LayerNorm(w, `${prefix}.norm1`, channels, 1e-5);
    this.#attn1 = new Attention(w, `${prefix}.attn1`, channels, heads);
    this.#norm2 = new LayerNorm(w, `${prefix}.norm2`, channels, 1e-5);
    this.#attn2 = new Attention(w, `${prefix}.attn2`, channels, heads, contextChannels);
    this.#norm3 = new LayerNorm(w, `${prefix}.norm3`, channels, 1e-5);
    this.#inner = 4 * channels;
    this.#ffIn = denseLinear(w, `${prefix}.ff.net.0.proj`, channels, 2 * this.#inner);
    this.#ffOut = denseLinear(w, `${prefix}.ff.net.2`, this.#inner, channels);
  }

  forward(x: T.Tensor, context: T.Tensor, sliceSize?: number): T.Tensor {
    return T.tidy(() => {
      let h = T.add(x, this.#attn1.forward(this.#norm1.forward(x), undefined, sliceSize));
      h = T.add(h, this.#attn2.forward(this.#norm2.forward(h), context, sliceSize));
      const [value, gate] = T.split(this.#ffIn.forward(this.#norm3.forward(h)), 2, -1);
      return T.add(h, this.#ffOut.forward(T.mul(value, T.gelu(gate))));
    });
  }
}

/**
 * Transformer2DModel (continuous input): GroupNorm (eps 1e-6) → proj_in → transformer blocks on the H·W tokens
 * → proj_out, plus the input. proj_in/proj_out are 1×1 convs in SD 1.x (`use_linear_projection` false) and
 * linear layers in SD 2.x; the reshape to tokens comes after a conv projection and before a linear one.
 */
export class SpatialTransformer {
  readonly #norm: GroupNorm;
  readonly #projIn: { weight: T.Tensor; bias: T.Tensor | undefined };
  readonly #projOut: { weight: T.Tensor; bias: T.Tensor | undefined };
  readonly #blocks: TransformerBlock[];

  constructor(
    w: Weights,
    prefix: string,
    readonly channels: number,
    heads: number,
    contextChannels: number,
    opts: { groups: number; linearProjection: boolean; layers: number },
  ) {
    this.#norm = new GroupNorm(w, `${prefix}.norm`, opts.groups, channels, 1e-6);
    // A conv 1×1 weight is [C, C, 1, 1], a linear one [C, C]: the same matrix (reshaped in forward).
    const shape = opts.linearProjection ? [channels, channels] : [channels, channels, 1, 1];
    const proj = (name: string) => ({
      weight: w.get(`${prefix}.${name}.weight`, shape),
      bias: w.maybe(`${prefix}.${name}.bias`, [channels]),
    });
    this.#projIn = proj('proj_in');
    this.#projOut = proj('proj_out');
    this.#blocks = Array.from(
      { length: opts.layers },
      (_, i) => new TransformerBlock(w, `${prefix}.transformer_blocks.${i}`, channels, heads, contextChannels),
    );
  }

  forward(x: T.Tensor, context: T.Tensor, sliceSize?: number): T.Tensor {
    const [B, C, H, W] = x.shape;
    return T.tidy(() => {
      // Both projection kinds are the same per-pixel matrix product; only where rounding happens differs.
      const tokens = T.reshape(T.permute(this.#norm.forward(x), [0, 2, 3, 1]), [B, H * W, C]);
      const matrix = (t: T.Tensor) => (t.rank === 2 ? t : T.reshape(t, [C, C]));
      let h = T.linear(tokens, matrix(this.#projIn.weight), this.#projIn.bias);
      for (const block of this.#blocks) h = block.forward(h, context, sliceSize);
      h = T.linear(h, matrix(this.#projOut.weight), this.#projOut.bias);
      return T.add(T.permute(T.reshape(h, [B, H, W, C]), [0, 3, 1, 2]), x);
    });
  }
}

/** The VAE mid-block attention: GroupNorm → single-head self-attention over H·W (biased projections) → + input. */
export class VaeAttention {
  readonly #norm: GroupNorm;
  readonly #attn: Attention;

  constructor(w: Weights, prefix: string, channels: number, groups: number) {
    this.#norm = new GroupNorm(w, `${prefix}.group_norm`, groups, channels, 1e-6);
    this.#attn = new Attention(w, prefix, channels, 1);
  }

  forward(x: T.Tensor, sliceSize?: number): T.Tensor {
    const [B, C, H, W] = x.shape;
    return T.tidy(() => {
      const tokens = T.reshape(T.permute(this.#norm.forward(x), [0, 2, 3, 1]), [B, H * W, C]);
      const h = this.#attn.forward(tokens, undefined, sliceSize);
      return T.add(T.permute(T.reshape(h, [B, H, W, C]), [0, 3, 1, 2]), x);
    });
  }
}
