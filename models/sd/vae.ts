/**
 * AutoencoderKL (diffusers), Stable Diffusion's VAE:
 *
 *   encoder: conv_in → per block [ResnetBlock2D × layers, then a stride-2 conv after a right/bottom pad]
 *            → mid block (resnet, single-head attention, resnet) → GroupNorm → SiLU → conv_out (2·latent
 *            channels: mean and log-variance) → quant_conv (1×1)
 *   decoder: post_quant_conv (1×1) → conv_in → mid block → per block [resnet × (layers + 1), nearest ×2 + conv]
 *            → GroupNorm → SiLU → conv_out
 *
 * `encode` returns scaling_factor·(mean − shift) — the distribution's mean, not a sample (the tiny-sd README's
 * convention; `sample` draws mean + exp(½·clamp(logvar, −30, 20))·ε instead, as diffusers does by default).
 * `decode` takes latents in that scaled space. Images are [B, 3, H, W] in [−1, 1]. Large inputs go through in
 * overlapping tiles (tiling.ts) so memory stays at one tile's activations.
 * @module
 */
import * as T from '../../index.js';
import { VaeAttention } from './attention.js';
import type { VaeConfig } from './config.js';
import { Conv2d, Downsample, GroupNorm, ResnetBlock, Upsample } from './layers.js';
import { tiled } from './tiling.js';
import type { Weights } from './weights.js';

const EPS = 1e-6;

/** The old AutoencoderKL attention names (query/key/value/proj_attn) as the current ones. */
export function renameVaeKey(name: string): string {
  return name
    .replace(/(\.attentions\.\d+)\.query\./, '$1.to_q.')
    .replace(/(\.attentions\.\d+)\.key\./, '$1.to_k.')
    .replace(/(\.attentions\.\d+)\.value\./, '$1.to_v.')
    .replace(/(\.attentions\.\d+)\.proj_attn\./, '$1.to_out.0.');
}

class MidBlock {
  readonly #resnets: ResnetBlock[];
  readonly #attention: VaeAttention | undefined;

  constructor(w: Weights, prefix: string, channels: number, groups: number, attention: boolean) {
    const opts = { groups, eps: EPS };
    this.#resnets = [0, 1].map((j) => new ResnetBlock(w, `${prefix}.resnets.${j}`, channels, channels, opts));
    this.#attention = attention ? new VaeAttention(w, `${prefix}.attentions.0`, channels, groups) : undefined;
  }

  forward(x: T.Tensor, sliceSize?: number): T.Tensor {
    return T.tidy(() => {
      let h = this.#resnets[0].forward(x);
      if (this.#attention) h = this.#attention.forward(h, sliceSize);
      return this.#resnets[1].forward(h);
    });
  }
}

export interface VaeRunOptions {
  /** Query rows per attention call (see attention.ts). */
  readonly sliceSize?: number;
  /**
   * Tile side in pixels: inputs larger than this go through in overlapping tiles. Default: the config's
   * sample_size (512 for SD); `Infinity` never tiles.
   */
  readonly tileSize?: number;
  readonly signal?: AbortSignal;
}

export class Vae {
  readonly #encIn: Conv2d;
  readonly #encBlocks: { resnets: ResnetBlock[]; down: Downsample | undefined }[] = [];
  readonly #encMid: MidBlock;
  readonly #encNorm: GroupNorm;
  readonly #encOut: Conv2d;
  readonly #quant: Conv2d | undefined;
  readonly #postQuant: Conv2d | undefined;
  readonly #decIn: Conv2d;
  readonly #decMid: MidBlock;
  readonly #decBlocks: { resnets: ResnetBlock[]; up: Upsample | undefined }[] = [];
  readonly #decNorm: GroupNorm;
  readonly #decOut: Conv2d;

  constructor(
    readonly weights: Weights,
    readonly config: VaeConfig,
  ) {
    const c = config;
    const w = weights;
    const boc = c.blockOutChannels;
    const n = boc.length;
    const L = c.latentChannels;
    const opts = { groups: c.groups, eps: EPS };

    this.#encIn = new Conv2d(w, 'encoder.conv_in', c.inChannels, boc[0], 3);
    let out = boc[0];
    for (let i = 0; i < n; i++) {
      const input = out;
      out = boc[i];
      const p = `encoder.down_blocks.${i}`;
      const resnets = Array.from(
        { length: c.layersPerBlock },
        (_, j) => new ResnetBlock(w, `${p}.resnets.${j}`, j === 0 ? input : out, out, opts),
      );
      const down = i < n - 1 ? new Downsample(w, `${p}.downsamplers.0`, out, 0) : undefined;
      this.#encBlocks.push({ resnets, down });
    }
    this.#encMid = new MidBlock(w, 'encoder.mid_block', boc[n - 1], c.groups, c.midAttention);
    this.#encNorm = new GroupNorm(w, 'encoder.conv_norm_out', c.groups, boc[n - 1], EPS);
    this.#encOut = new Conv2d(w, 'encoder.conv_out', boc[n - 1], 2 * L, 3);
    this.#quant = c.useQuantConv ? new Conv2d(w, 'quant_conv', 2 * L, 2 * L, 1) : undefined;

    this.#postQuant = c.usePostQuantConv ? new Conv2d(w, 'post_quant_conv', L, L, 1) : undefined;
    const rev = [...boc].reverse();
    this.#decIn = new Conv2d(w, 'decoder.conv_in', L, rev[0], 3);
    this.#decMid = new MidBlock(w, 'decoder.mid_block', rev[0], c.groups, c.midAttention);
    out = rev[0];
    for (let i = 0; i < n; i++) {
      const prev = out;
      out = rev[i];
      const p = `decoder.up_blocks.${i}`;
      const resnets = Array.from(
        { length: c.layersPerBlock + 1 },
        (_, j) => new ResnetBlock(w, `${p}.resnets.${j}`, j === 0 ? prev : out, out, opts),
      );
      const up = i < n - 1 ? new Upsample(w, `${p}.upsamplers.0`, out) : undefined;
      this.#decBlocks.push({ resnets, up });
    }
    this.#decNorm = new GroupNorm(w, 'decoder.conv_norm_out', c.groups, boc[0], EPS);
    this.#decOut = new Conv2d(w, 'decoder.conv_out', boc[0], c.outChannels, 3);
    weights.checkAllRead();
  }

  /** Image pixels per latent pixel (8 for SD). */
  get factor(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /** quant_conv(encoder(x)): the latent distribution's [mean | logvar], [B, 2·latent, H/f, W/f]. */
  moments(x: T.Tensor, sliceSize?: number): T.Tensor {
    return T.tidy(() => {
      let h = this.#encIn.forward(x);
      for (const block of this.#encBlocks) {
        for (const r of block.resnets) h = swap(h, r.forward(h));
        if (block.down) h = swap(h, block.down.forward(h));
      }
      h = swap(h, this.#encMid.forward(h, sliceSize));
      h = swap(h, this.#encOut.forward(T.silu(this.#encNorm.forward(h))));
      return this.#quant ? this.#quant.forward(h) : h;
    });
  }

  /** decoder(post_quant_conv(z)) for unscaled latents z: [B, 3, H, W] in about [−1, 1]. */
  decodeRaw(z: T.Tensor, sliceSize?: number): T.Tensor {
    return T.tidy(() => {
      let h = this.#postQuant ? this.#postQuant.forward(z) : z;
      h = this.#decIn.forward(h);
      h = swap(h, this.#decMid.forward(h, sliceSize));
      for (const block of this.#decBlocks) {
        for (const r of block.resnets) h = swap(h, r.forward(h));
        if (block.up) h = swap(h, block.up.forward(h));
      }
      return this.#decOut.forward(T.silu(this.#decNorm.forward(h)));
    });
  }

  #checkImage(x: T.Tensor): void {
    const f = this.factor;
    if (x.rank !== 4 || x.shape[1] !== this.config.inChannels || x.shape[2] % f !== 0 || x.shape[3] % f !== 0) {
      throw new T.ShapeError(
        `VAE: images must be [B, ${this.config.inChannels}, H, W] with H and W multiples of ${f}, got [${x.shape.join(', ')}]`,
      );
    }
  }

  /** The latent distribution's moments, tiled when the image is larger than the tile size (batch 1). */
  async #momentsOf(x: T.Tensor, options: VaeRunOptions): Promise<T.Tensor> {
    this.#checkImage(x);
    const tile = options.tileSize ?? this.config.sampleSize;
    if (x.shape[0] !== 1 || (x.shape[2] <= tile && x.shape[3] <= tile)) return this.moments(x, options.sliceSize);
    return tiled(x, { tile, scale: 1 / this.factor }, (t) => this.moments(t, options.sliceSize), options.signal);
  }

  /** scaling_factor·(mean − shift) of the moments: the deterministic latents. */
  latentMean(moments: T.Tensor): T.Tensor {
    const L = this.config.latentChannels;
    const { scalingFactor, shiftFactor } = this.config;
    return T.tidy(() => T.mul(T.sub(T.slice(moments, [null, { start: 0, end: L }]), shiftFactor), scalingFactor));
  }

  /** latents / scaling_factor + shift: the decoder's input. */
  unscale(latents: T.Tensor): T.Tensor {
    const { scalingFactor, shiftFactor } = this.config;
    return T.tidy(() => T.add(T.div(latents, scalingFactor), shiftFactor));
  }

  /** scaling_factor·(mean − shift): deterministic latents [B, latent, H/f, W/f] of images in [−1, 1]. */
  async encode(x: T.Tensor, options: VaeRunOptions = {}): Promise<T.Tensor> {
    const m = await this.#momentsOf(x, options);
    const z = this.latentMean(m);
    m.dispose();
    return z;
  }

  /** A scaled sample mean + exp(½·clamp(logvar, −30, 20))·ε, ε from `rng` (diffusers' default encoding). */
  async sample(x: T.Tensor, rng: T.Rng, options: VaeRunOptions = {}): Promise<T.Tensor> {
    const m = await this.#momentsOf(x, options);
    const L = this.config.latentChannels;
    const { scalingFactor, shiftFactor } = this.config;
    const z = T.tidy(() => {
      const mean = T.slice(m, [null, { start: 0, end: L }]);
      const logvar = T.clamp(T.slice(m, [null, { start: L, end: 2 * L }]), -30, 20);
      const eps = T.randomNormal(mean.shape, 0, 1, { rng });
      return T.mul(T.sub(T.add(mean, T.mul(T.exp(T.mul(logvar, 0.5)), eps)), shiftFactor), scalingFactor);
    });
    m.dispose();
    return z;
  }

  /** Images [B, 3, H, W] (about [−1, 1]) from scaled latents; tiled when larger than the tile size (batch 1). */
  async decode(latents: T.Tensor, options: VaeRunOptions = {}): Promise<T.Tensor> {
    const { latentChannels } = this.config;
    if (latents.rank !== 4 || latents.shape[1] !== latentChannels) {
      throw new T.ShapeError(`VAE: latents must be [B, ${latentChannels}, h, w], got [${latents.shape.join(', ')}]`);
    }
    const z = this.unscale(latents);
    try {
      const tile = Math.floor((options.tileSize ?? this.config.sampleSize) / this.factor);
      if (z.shape[0] !== 1 || (z.shape[2] <= tile && z.shape[3] <= tile)) return this.decodeRaw(z, options.sliceSize);
      return await tiled(z, { tile, scale: this.factor }, (t) => this.decodeRaw(t, options.sliceSize), options.signal);
    } finally {
      z.dispose();
    }
  }

  dispose(): void {
    this.weights.dispose();
  }
}

function swap(old: T.Tensor, next: T.Tensor): T.Tensor {
  old.dispose();
  return next;
}
