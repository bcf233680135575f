/**
 * Euler (diffusers EulerDiscreteScheduler, s_churn = 0) and Euler ancestral (EulerAncestralDiscreteScheduler):
 * the sampler works on x = x₀ + σ·ε, with σ(t) = √((1 − ᾱ_t)/ᾱ_t) linearly interpolated at float timesteps and a
 * final σ = 0. The UNet sees `x/√(σ² + 1)`; x̂₀ = x − σ·ε (or the v-prediction form), `d = (x − x̂₀)/σ`, then
 *   Euler:            x_next = x + d·(σ_next − σ)
 *   Euler ancestral:  σ_up = √(σ_next²(σ² − σ_next²)/σ²), σ_down = √(σ_next² − σ_up²), x_next = x + d·(σ_down − σ) + z·σ_up.
 * Default spacing "linspace" (timesteps `linspace(0, T−1, n)` reversed, floats). Both keep σ and t in f32 as diffusers.
 * @module
 */
import * as T from '../../../index.js';
import {
  alphasCumprod,
  checkSteps,
  interpAt,
  linspaceDescending,
  type SchedulerConfig,
  type TimestepSpacing,
  trainingSigmas,
} from './config.js';
import type { Scheduler, SchedulerName, SchedulerOptions } from './scheduler.js';

const f32 = Math.fround;

/** Float timesteps as the Euler schedulers compute them (np.float32). */
function eulerTimesteps(spacing: TimestepSpacing, steps: number, config: SchedulerConfig): number[] {
  const T = config.numTrainTimesteps;
  if (spacing === 'linspace') return linspaceDescending(T - 1, steps).map(f32);
  if (spacing === 'leading') {
    const ratio = Math.floor(T / steps);
    return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + config.stepsOffset);
  }
  const ratio = T / steps;
  // np.arange(T, 0, -ratio).round() - 1 in float32.
  return Array.from({ length: steps }, (_, i) => f32(Math.round(T - i * ratio) - 1));
}

/** x̂₀ from the model output at noise level σ (epsilon or v-prediction). */
function predictOriginalSigma(config: SchedulerConfig, out: T.Tensor, x: T.Tensor, sigma: number): T.Tensor {
  if (config.predictionType === 'epsilon') return T.sub(x, T.mul(out, sigma));
  const s2 = f32(f32(sigma * sigma) + 1);
  return T.add(T.mul(out, f32(-sigma / f32(Math.sqrt(s2)))), T.div(x, s2));
}

export class EulerScheduler implements Scheduler {
  readonly name: SchedulerName;
  readonly spacing: TimestepSpacing;
  timesteps: number[] = [];
  /** σ per step, plus the final 0. */
  sigmas: number[] = [];
  readonly #train: Float32Array;
  readonly #options: SchedulerOptions;

  constructor(
    readonly config: SchedulerConfig,
    readonly ancestral = false,
    options: SchedulerOptions = {},
  ) {
    this.name = ancestral ? 'euler-ancestral' : 'euler';
    this.spacing = config.timestepSpacing ?? 'linspace';
    this.#train = trainingSigmas(alphasCumprod(config));
    this.#options = options;
    if (ancestral && !options.rng) throw new T.UsageError('Euler ancestral needs a random generator');
  }

  get initNoiseSigma(): number {
    const max = Math.max(...this.sigmas);
    return this.spacing === 'leading' ? f32(Math.sqrt(f32(max * max) + 1)) : max;
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config);
    this.timesteps = eulerTimesteps(this.spacing, steps, this.config);
    this.sigmas = [...this.timesteps.map((t) => f32(interpAt(t, this.#train))), 0];
  }

  scaleModelInput(sample: T.Tensor, i: number): T.Tensor {
    const s = this.sigmas[i];
    return T.div(sample, f32(Math.sqrt(f32(f32(s * s) + 1))));
  }

  addNoise(x0: T.Tensor, noise: T.Tensor, i: number): T.Tensor {
    return T.tidy(() => T.add(x0, T.mul(noise, this.sigmas[i])));
  }

  step(modelOutput: T.Tensor, i: number, sample: T.Tensor): T.Tensor {
    const sigma = this.sigmas[i];
    const next = this.sigmas[i + 1];
    const result = T.tidy(() => {
      const x0 = predictOriginalSigma(this.config, modelOutput, sample, sigma);
      const derivative = T.div(T.sub(sample, x0), sigma);
      if (!this.ancestral) return T.add(sample, T.mul(derivative, f32(next - sigma)));
      const s2 = f32(sigma * sigma);
      const n2 = f32(next * next);
      const up = f32(Math.sqrt(f32(f32(n2 * f32(s2 - n2)) / s2)));
      const down = f32(Math.sqrt(f32(n2 - f32(up * up))));
      const moved = T.add(sample, T.mul(derivative, f32(down - sigma)));
      const z = T.randomNormal(sample.shape, 0, 1, { rng: this.#options.rng });
      return T.add(moved, T.mul(z, up));
    });
    modelOutput.dispose();
    return result;
  }

  dispose(): void {}
}
