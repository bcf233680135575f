/**
 * DDIM (diffusers DDIMScheduler, η = 0 by default): x̂₀ from the model output, then
 * `x_prev = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev − σ²)·ε̂ (+ σ·z)`, `prev = t − T/n` (integer), ᾱ_prev = ᾱ₀ or 1 below 0.
 * Default spacing "leading". Coefficients are rounded to f32 as diffusers' tensors are.
 * @module
 */
import * as T from '../../../index.js';
import { alphasCumprod, checkSteps, integerTimesteps, type SchedulerConfig, type TimestepSpacing } from './config.js';
import type { Scheduler, SchedulerOptions } from './scheduler.js';

const f32 = Math.fround;

/** x̂₀ and ε̂ from a model output (epsilon or v-prediction), as DDIM/PNDM/DDPM compute them. */
export function predictOriginal(
  config: SchedulerConfig,
  out: T.Tensor,
  x: T.Tensor,
  alphaProd: number,
): { x0: T.Tensor; eps: T.Tensor } {
  const sa = f32(Math.sqrt(alphaProd));
  const sb = f32(Math.sqrt(f32(1 - alphaProd)));
  if (config.predictionType === 'epsilon') {
    return { x0: T.div(T.sub(x, T.mul(out, sb)), sa), eps: T.reshape(out, out.shape) };
  }
  return { x0: T.sub(T.mul(x, sa), T.mul(out, sb)), eps: T.add(T.mul(out, sa), T.mul(x, sb)) };
}

/**
 * What DDIM and PNDM share: integer timesteps indexing ᾱ, `prev = t − T/n`, ᾱ below step 0 from
 * set_alpha_to_one, the UNet input unscaled and `add_noise` in the ᾱ form.
 */
export abstract class AlphaScheduler {
  readonly initNoiseSigma = 1;
  readonly spacing: TimestepSpacing;
  timesteps: number[] = [];
  protected readonly alphas: Float32Array;
  /** ᾱ "before" timestep 0. */
  protected readonly final: number;
  /** T // n: how far one step moves. */
  protected ratio = 0;

  constructor(readonly config: SchedulerConfig) {
    this.spacing = config.timestepSpacing ?? 'leading';
    this.alphas = alphasCumprod(config);
    this.final = config.setAlphaToOne ? 1 : this.alphas[0];
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config);
    this.timesteps = integerTimesteps(this.spacing, steps, this.config);
    this.ratio = Math.floor(this.config.numTrainTimesteps / steps);
  }

  scaleModelInput(sample: T.Tensor): T.Tensor {
    return T.reshape(sample, sample.shape);
  }

  addNoise(x0: T.Tensor, noise: T.Tensor, i: number): T.Tensor {
    return addNoiseAlphas(this.alphas[this.timesteps[i]], x0, noise);
  }
}

export class DdimScheduler extends AlphaScheduler implements Scheduler {
  readonly name = 'ddim';
  readonly #eta: number;
  readonly #options: SchedulerOptions;

  constructor(config: SchedulerConfig, options: SchedulerOptions = {}) {
    super(config);
    this.#eta = options.eta ?? 0;
    this.#options = options;
    if (this.#eta > 0 && !options.rng) throw new T.UsageError('DDIM with eta > 0 needs a random generator');
  }

  step(modelOutput: T.Tensor, i: number, sample: T.Tensor): T.Tensor {
    const t = this.timesteps[i];
    const prev = t - this.ratio;
    const a = this.alphas[t];
    const aPrev = prev >= 0 ? this.alphas[prev] : this.final;
    const variance = f32(f32(f32(1 - aPrev) / f32(1 - a)) * f32(1 - f32(a / aPrev)));
    const std = f32(this.#eta * Math.sqrt(variance));
    const result = T.tidy(() => {
      let { x0, eps } = predictOriginal(this.config, modelOutput, sample, a);
      if (this.config.clipSample) x0 = T.clamp(x0, -this.config.clipSampleRange, this.config.clipSampleRange);
      const direction = T.mul(eps, f32(Math.sqrt(f32(f32(1 - aPrev) - f32(std * std)))));
      const next = T.add(T.mul(x0, f32(Math.sqrt(aPrev))), direction);
      if (std === 0) return next;
      const z = T.randomNormal(sample.shape, 0, 1, { rng: this.#options.rng });
      return T.add(next, T.mul(z, std));
    });
    modelOutput.dispose();
    return result;
  }

  dispose(): void {}
}

/** `√ᾱ·x₀ + √(1 − ᾱ)·ε` (DDPM/DDIM/PNDM add_noise). */
export function addNoiseAlphas(alphaProd: number, x0: T.Tensor, noise: T.Tensor): T.Tensor {
  return T.tidy(() => T.add(T.mul(x0, f32(Math.sqrt(alphaProd))), T.mul(noise, f32(Math.sqrt(f32(1 - alphaProd))))));
}
