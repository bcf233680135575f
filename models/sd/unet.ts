/**
 * UNet2DConditionModel (diffusers), the Stable Diffusion denoiser, for SD 1.x and 2.x configs:
 *
 *   t → sinusoidal embedding (block_out_channels[0] wide) → linear → SiLU → linear  = temb
 *   conv_in → down blocks (ResnetBlock2D [+ Transformer2D cross-attending the text] × layers, then a stride-2
 *   conv) → mid block (resnet, transformer, resnet) → up blocks (each resnet takes the next skip concatenated
 *   on channels; upsample ×2 between) → GroupNorm → SiLU → conv_out.
 *
 * Every down-path output is kept as a skip for the up path; everything else is freed as soon as the next
 * layer has read it, so peak memory is the skips plus a few activations. Heads follow the config's
 * `attention_head_dim` quirk (see config.ts).
 * @module
 */

import type { Linear } from '../../core/nn/linear.js';
import * as T from '../../index.js';
import { SpatialTransformer } from './attention.js';
import type { UNetConfig } from './config.js';
import { Conv2d, Downsample, denseLinear, GroupNorm, ResnetBlock, Upsample } from './layers.js';
import type { Weights } from './weights.js';

const f32 = Math.fround;

/**
 * diffusers' get_timestep_embedding for one timestep, in f32 as torch computes it:
 * exponent_i = −ln(10000)·i/(half − shift), arg_i = t·e^exponent_i, [sin | cos] (flipped to [cos | sin]).
 */
export function timestepEmbedding(t: number, dim: number, flipSinToCos: boolean, freqShift: number): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(dim);
  const tf = f32(t);
  for (let i = 0; i < half; i++) {
    const exponent = f32(f32(-Math.log(10000) * i) / (half - freqShift));
    const arg = f32(tf * f32(Math.exp(exponent)));
    const [first, second] = flipSinToCos ? [Math.cos(arg), Math.sin(arg)] : [Math.sin(arg), Math.cos(arg)];
    out[i] = first;
    out[half + i] = second;
  }
  return out;
}

/**
 * The same embedding as {@link timestepEmbedding}, computed with core ops for timesteps [B] given as a
 * tensor, so an exported UNet takes the timestep as an input (rounding differs from the host version by f32 ulps).
 */
export function timestepEmbeddingOf(t: T.Tensor, dim: number, flipSinToCos: boolean, freqShift: number): T.Tensor {
  const half = Math.floor(dim / 2);
  const freqs = Float32Array.from({ length: half }, (_, i) =>
    Math.exp(f32(f32(-Math.log(10000) * i) / (half - freqShift))),
  );
  return T.tidy(() => {
    const arg = T.mul(T.reshape(t, [t.shape[0], 1]), T.tensor(freqs, [1, half]));
    const [first, second] = flipSinToCos ? [T.cos(arg), T.sin(arg)] : [T.sin(arg), T.cos(arg)];
    return T.concat([first, second], 1);
  });
}

interface Stage {
  readonly resnets: ResnetBlock[];
  readonly attentions: SpatialTransformer[];
}

interface DownStage extends Stage {
  readonly down: Downsample | undefined;
}

interface UpStage extends Stage {
  readonly up: Upsample | undefined;
}

export interface UNetOptions {
  /** Query rows per attention call (see attention.ts). */
  readonly sliceSize?: number;
}

export class UNet {
  readonly #timeIn: Linear;
  readonly #timeOut: Linear;
  readonly #convIn: Conv2d;
  readonly #downs: DownStage[] = [];
  readonly #mid: { resnets: ResnetBlock[]; attention: SpatialTransformer | undefined };
  readonly #ups: UpStage[] = [];
  readonly #normOut: GroupNorm;
  readonly #convOut: Conv2d;

  constructor(
    readonly weights: Weights,
    readonly config: UNetConfig,
  ) {
    const c = config;
    const w = weights;
    const boc = c.blockOutChannels;
    const n = boc.length;
    const timeDim = boc[0] * 4;
    const norm = { groups: c.groups, eps: c.eps, timeChannels: timeDim };
    const transformer = (prefix: string, channels: number, heads: number, layers: number) =>
      new SpatialTransformer(w, prefix, channels, heads, c.crossAttentionDim, {
        groups: c.groups,
        linearProjection: c.linearProjection,
        layers,
      });

    this.#timeIn = denseLinear(w, 'time_embedding.linear_1', boc[0], timeDim);
    this.#timeOut = denseLinear(w, 'time_embedding.linear_2', timeDim, timeDim);
    this.#convIn = new Conv2d(w, 'conv_in', c.inChannels, boc[0], 3);

    let out = boc[0];
    for (let i = 0; i < n; i++) {
      const input = out;
      out = boc[i];
      const p = `down_blocks.${i}`;
      const resnets: ResnetBlock[] = [];
      const attentions: SpatialTransformer[] = [];
      for (let j = 0; j < c.layersPerBlock[i]; j++) {
        resnets.push(new ResnetBlock(w, `${p}.resnets.${j}`, j === 0 ? input : out, out, norm));
        if (c.downCrossAttention[i]) {
          attentions.push(transformer(`${p}.attentions.${j}`, out, c.heads[i], c.transformerLayers[i]));
        }
      }
      const down = i < n - 1 ? new Downsample(w, `${p}.downsamplers.0`, out, c.downsamplePadding) : undefined;
      this.#downs.push({ resnets, attentions, down });
    }

    const mid = boc[n - 1];
    this.#mid = {
      resnets: [0, 1].map((j) => new ResnetBlock(w, `mid_block.resnets.${j}`, mid, mid, norm)),
      attention: c.midCrossAttention
        ? transformer('mid_block.attentions.0', mid, c.heads[n - 1], c.transformerLayers[n - 1])
        : undefined,
    };

    const rev = [...boc].reverse();
    const revHeads = [...c.heads].reverse();
    const revLayers = [...c.layersPerBlock].reverse();
    const revTransformer = [...c.transformerLayers].reverse();
    out = rev[0];
    for (let i = 0; i < n; i++) {
      const prevOut = out;
      out = rev[i];
      const input = rev[Math.min(i + 1, n - 1)];
      const layers = revLayers[i] + 1;
      const p = `up_blocks.${i}`;
      const resnets: ResnetBlock[] = [];
      const attentions: SpatialTransformer[] = [];
      for (let j = 0; j < layers; j++) {
        const skip = j === layers - 1 ? input : out;
        const resIn = j === 0 ? prevOut : out;
        resnets.push(new ResnetBlock(w, `${p}.resnets.${j}`, resIn + skip, out, norm));
        if (c.upCrossAttention[i])
          attentions.push(transformer(`${p}.attentions.${j}`, out, revHeads[i], revTransformer[i]));
      }
      const up = i < n - 1 ? new Upsample(w, `${p}.upsamplers.0`, out) : undefined;
      this.#ups.push({ resnets, attentions, up });
    }

    this.#normOut = new GroupNorm(w, 'conv_norm_out', c.groups, boc[0], c.eps);
    this.#convOut = new Conv2d(w, 'conv_out', boc[0], c.outChannels, 3);
    weights.checkAllRead();
  }

  /** Sides a latent must be a multiple of: each down block but the last halves it. */
  get latentMultiple(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /**
   * The model output (ε or v) for latents `sample` [B, C, h, w] at timestep `t` (a number, or a tensor [B] or
   * [1] of float timesteps: how an exported UNet takes it), conditioned on `context` [B, L, cross_attention_dim]
   * (the text encoder's last_hidden_state).
   */
  forward(sample: T.Tensor, t: number | T.Tensor, context: T.Tensor, options: UNetOptions = {}): T.Tensor {
    const c = this.config;
    const [B, C, h, w] = sample.shape;
    const m = this.latentMultiple;
    if (sample.rank !== 4 || C !== c.inChannels || h % m !== 0 || w % m !== 0) {
      throw new T.ShapeError(
        `UNet: latents must be [B, ${c.inChannels}, h, w] with h and w multiples of ${m}, got [${sample.shape.join(', ')}]`,
      );
    }
    if (context.rank !== 3 || context.shape[0] !== B || context.shape[2] !== c.crossAttentionDim) {
      throw new T.ShapeError(
        `UNet: text context must be [${B}, L, ${c.crossAttentionDim}], got [${context.shape.join(', ')}]`,
      );
    }
    const slice = options.sliceSize;
    return T.tidy(() => {
      const dim = c.blockOutChannels[0];
      const tIn =
        typeof t === 'number'
          ? T.tensor(timestepEmbedding(t, dim, c.flipSinToCos, c.freqShift), [1, dim])
          : timestepEmbeddingOf(t, dim, c.flipSinToCos, c.freqShift);
      const temb = T.silu(T.expand(this.#timeOut.forward(T.silu(this.#timeIn.forward(tIn))), [B, dim * 4]));

      let x = this.#convIn.forward(sample);
      const skips: T.Tensor[] = [x];
      for (const stage of this.#downs) {
        for (let j = 0; j < stage.resnets.length; j++) {
          let y = stage.resnets[j].forward(x, temb);
          const attn = stage.attentions[j];
          if (attn) y = replace(y, attn.forward(y, context, slice));
          skips.push(y);
          x = y;
        }
        if (stage.down) {
          x = stage.down.forward(x);
          skips.push(x);
        }
      }

      x = this.#mid.resnets[0].forward(x, temb);
      if (this.#mid.attention) x = replace(x, this.#mid.attention.forward(x, context, slice));
      x = replace(x, this.#mid.resnets[1].forward(x, temb));

      for (const stage of this.#ups) {
        for (let j = 0; j < stage.resnets.length; j++) {
          const skip = skips.pop() as T.Tensor;
          const joined = T.concat([x, skip], 1);
          if (!skipsHold(skips, x)) x.dispose();
          skip.dispose();
          let y = stage.resnets[j].forward(joined, temb);
          joined.dispose();
          const attn = stage.attentions[j];
          if (attn) y = replace(y, attn.forward(y, context, slice));
          x = y;
        }
        if (stage.up) {
          // Upsample to the size of the skip it meets next (×2 for even sides, as diffusers' upsample_size).
          const next = skips[skips.length - 1];
          x = replace(x, stage.up.forward(x, [next.shape[2], next.shape[3]]));
        }
      }
      return this.#convOut.forward(T.silu(this.#normOut.forward(x)));
    });
  }

  dispose(): void {
    this.weights.dispose();
  }
}

/** Frees `old` and returns `next`: one step of a chain whose input nobody else holds. */
function replace(old: T.Tensor, next: T.Tensor): T.Tensor {
  old.dispose();
  return next;
}

function skipsHold(skips: readonly T.Tensor[], t: T.Tensor): boolean {
  return skips.includes(t);
}
