/**
 * The building blocks the three Stable Diffusion networks share, each bound to its weights by the state-dict
 * prefix diffusers uses (`down_blocks.1.resnets.0.conv1`, …). Every block frees what it creates except its
 * output; none frees its input (the callers decide, since UNet skips outlive the layer that read them).
 * @module
 */

import { DenseLinear, type Linear } from '../../core/nn/linear.js';
import * as T from '../../index.js';
import type { Weights } from './weights.js';

export class Conv2d {
  readonly weight: T.Tensor;
  readonly bias: T.Tensor | undefined;

  constructor(
    w: Weights,
    prefix: string,
    inC: number,
    outC: number,
    readonly kernel: number,
    readonly stride = 1,
    readonly padding = Math.floor(kernel / 2),
  ) {
    this.weight = w.get(`${prefix}.weight`, [outC, inC, kernel, kernel]);
    this.bias = w.maybe(`${prefix}.bias`, [outC]);
  }

  forward(x: T.Tensor): T.Tensor {
    return T.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

/** The layer's [out, in] weight and optional bias as the core's Linear (the Weights keep ownership). */
export function denseLinear(w: Weights, prefix: string, inF: number, outF: number): Linear {
  return new DenseLinear(w.get(`${prefix}.weight`, [outF, inF]), w.maybe(`${prefix}.bias`, [outF]), false);
}

export class GroupNorm {
  readonly weight: T.Tensor;
  readonly bias: T.Tensor;

  constructor(
    w: Weights,
    prefix: string,
    readonly groups: number,
    channels: number,
    readonly eps: number,
  ) {
    if (channels % groups !== 0) {
      throw new T.UsageError(`${w.file}: ${prefix}: ${channels} channels do not split into ${groups} groups`);
    }
    this.weight = w.get(`${prefix}.weight`, [channels]);
    this.bias = w.get(`${prefix}.bias`, [channels]);
  }

  forward(x: T.Tensor): T.Tensor {
    return T.groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }
}

export class LayerNorm {
  readonly weight: T.Tensor;
  readonly bias: T.Tensor;

  constructor(
    w: Weights,
    prefix: string,
    channels: number,
    readonly eps: number,
  ) {
    this.weight = w.get(`${prefix}.weight`, [channels]);
    this.bias = w.get(`${prefix}.bias`, [channels]);
  }

  forward(x: T.Tensor): T.Tensor {
    return T.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/**
 * ResnetBlock2D: GroupNorm → SiLU → conv3×3 (+ the projected time embedding) → GroupNorm → SiLU → conv3×3,
 * plus the input (through a 1×1 `conv_shortcut` when the channel count changes). The VAE's blocks have no
 * time embedding.
 */
export class ResnetBlock {
  readonly #norm1: GroupNorm;
  readonly #conv1: Conv2d;
  readonly #timeProj: Linear | undefined;
  readonly #norm2: GroupNorm;
  readonly #conv2: Conv2d;
  readonly #shortcut: Conv2d | undefined;

  constructor(
    w: Weights,
    prefix: string,
    inC: number,
    outC: number,
    opts: { groups: number; eps: number; timeChannels?: number },
  ) {
    this.#norm1 = new GroupNorm(w, `${prefix}.norm1`, opts.groups, inC, opts.eps);
    this.#conv1 = new Conv2d(w, `${prefix}.conv1`, inC, outC, 3);
    this.#timeProj = opts.timeChannels ? denseLinear(w, `${prefix}.time_emb_proj`, opts.timeChannels, outC) : undefined;
    this.#norm2 = new GroupNorm(w, `${prefix}.norm2`, opts.groups, outC, opts.eps);
    this.#conv2 = new Conv2d(w, `${prefix}.conv2`, outC, outC, 3);
    this.#shortcut = inC !== outC ? new Conv2d(w, `${prefix}.conv_shortcut`, inC, outC, 1) : undefined;
  }

  /** `temb` is the already-SiLU'd time embedding [B, timeChannels] (shared by every block of a step). */
  forward(x: T.Tensor, temb?: T.Tensor): T.Tensor {
    return T.tidy(() => {
      let h = this.#conv1.forward(T.silu(this.#norm1.forward(x)));
      if (this.#timeProj && temb) {
        const t = this.#timeProj.forward(temb);
        h = T.add(h, T.reshape(t, [t.shape[0], t.shape[1], 1, 1]));
      }
      h = this.#conv2.forward(T.silu(this.#norm2.forward(h)));
      return T.add(this.#shortcut ? this.#shortcut.forward(x) : x, h);
    });
  }
}

/** Downsample2D: a 3×3 stride-2 conv; with padding 0 (the VAE encoder) the input is first padded right and bottom. */
export class Downsample {
  readonly #conv: Conv2d;

  constructor(
    w: Weights,
    prefix: string,
    channels: number,
    readonly padding: number,
  ) {
    this.#conv = new Conv2d(w, `${prefix}.conv`, channels, channels, 3, 2, padding);
  }

  forward(x: T.Tensor): T.Tensor {
    if (this.padding !== 0) return this.#conv.forward(x);
    return T.tidy(() =>
      this.#conv.forward(
        T.pad(x, [
          [0, 0],
          [0, 0],
          [0, 1],
          [0, 1],
        ]),
      ),
    );
  }
}

/** Upsample2D: nearest-neighbour ×2 (or to `size`, diffusers' upsample_size), then a 3×3 conv. */
export class Upsample {
  readonly #conv: Conv2d;

  constructor(w: Weights, prefix: string, channels: number) {
    this.#conv = new Conv2d(w, `${prefix}.conv`, channels, channels, 3);
  }

  forward(x: T.Tensor, size: readonly [number, number] = [2 * x.shape[2], 2 * x.shape[3]]): T.Tensor {
    return T.tidy(() => this.#conv.forward(T.resize(x, size, { mode: 'nearest' })));
  }
}
