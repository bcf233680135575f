/**
 * DPM-Solver++ (2M) (diffusers DPMSolverMultistepScheduler with its defaults: solver_order 2, dpmsolver++,
 * midpoint, lower_order_final, final σ = 0). With α_t = 1/√(σ² + 1), σ_t = σ·α_t and λ = log α_t − log σ_t:
 *   the model output becomes x̂₀ = (x − σ_t·ε)/α_t (or α_t·x − σ_t·v);
 *   first order:  x' = (σ_t'/σ_s)·x − α_t'·(e^(−h) − 1)·x̂₀, h = λ_t' − λ_s;
 *   second order: D1 = (x̂₀ − x̂₀_prev)/r, r = (λ_s − λ_prev)/h, x' = (σ_t'/σ_s)·x − α_t'(e^(−h) − 1)(x̂₀ + D1/2).
 * The first step (and the last, where σ' = 0) is first order. Default spacing "linspace" over n + 1 points.
 * @module
 */
import * as T from '../../../index.js';
import {
  alphasCumprod,
  checkSteps,
  interpAt,
  type SchedulerConfig,
  type TimestepSpacing,
  trainingSigmas,
} from './config.js';
import type { Scheduler } from './scheduler.js';

const f32 = Math.fround;

/** NumPy round (half to even). */
function npRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function dpmTimesteps(spacing: TimestepSpacing, steps: number, config: SchedulerConfig): number[] {
  const T = config.numTrainTimesteps;
  if (spacing === 'linspace') {
    // np.linspace(0, T−1, n+1).round()[::-1][:-1]
    const step = (T - 1) / steps;
    return Array.from({ length: steps }, (_, i) => (i === 0 ? T - 1 : npRound((steps - i) * step)));
  }
  if (spacing === 'leading') {
    const ratio = Math.floor(T / (steps + 1));
    return Array.from({ length: steps }, (_, i) => (steps - i) * ratio + config.stepsOffset);
  }
  const ratio = T / steps;
  return Array.from({ length: steps }, (_, i) => npRound(T - i * ratio) - 1);
}

/** (α_t, σ_t, λ_t) for a noise level σ. */
function alphaSigma(sigma: number): { a: number; s: number; lambda: number } {
  const a = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const s = f32(sigma * a);
  return { a, s, lambda: f32(f32(Math.log(a)) - f32(Math.log(s))) };
}

export class DpmSolverScheduler implements Scheduler {
  readonly name = 'dpm-solver++';
  readonly initNoiseSigma = 1;
  readonly spacing: TimestepSpacing;
  timesteps: number[] = [];
  sigmas: number[] = [];
  readonly #train: Float32Array;
  /** x̂₀ of the previous step (the multistep history). */
  #previous: T.Tensor | null = null;

  constructor(readonly config: SchedulerConfig) {
    this.spacing = config.timestepSpacing ?? 'linspace';
    this.#train = trainingSigmas(alphasCumprod(config));
  }

  setTimesteps(steps: number): void {
    checkSteps(steps, this.config);
    this.timesteps = dpmTimesteps(this.spacing, steps, this.config);
    this.sigmas = [...this.timesteps.map((t) => f32(interpAt(t, this.#train))), 0];
    this.#previous?.dispose();
    this.#previous = null;
  }

  scaleModelInput(sample: T.Tensor): T.Tensor {
    return T.reshape(sample, sample.shape);
  }

  addNoise(x0: T.Tensor, noise: T.Tensor, i: number): T.Tensor {
    const { a, s } = alphaSigma(this.sigmas[i]);
    return T.tidy(() => T.add(T.mul(x0, a), T.mul(noise, s)));
  }

  step(modelOutput: T.Tensor, i: number, sample: T.Tensor): T.Tensor {
    const cur = alphaSigma(this.sigmas[i]);
    const next = alphaSigma(this.sigmas[i + 1]);
    const x0 = T.tidy(() =>
      this.config.predictionType === 'epsilon'
        ? T.div(T.sub(sample, T.mul(modelOutput, cur.s)), cur.a)
        : T.sub(T.mul(sample, cur.a), T.mul(modelOutput, cur.s)),
    );
    modelOutput.dispose();
    const last = i === this.timesteps.length - 1;
    const h = f32(next.lambda - cur.lambda);
    const decay = f32(next.a * f32(Math.exp(-h) - 1));
    const previous = this.#previous;
    const result = T.tidy(() => {
      const kept = T.mul(sample, f32(next.s / cur.s));
      if (!previous || last) return T.sub(kept, T.mul(x0, decay));
      const before = alphaSigma(this.sigmas[i - 1]);
      const r = f32(f32(cur.lambda - before.lambda) / h);
      const d1 = T.mul(T.sub(x0, previous), f32(1 / r));
      return T.sub(T.sub(kept, T.mul(x0, decay)), T.mul(d1, f32(0.5 * decay)));
    });
    previous?.dispose();
    this.#previous = x0;
    return result;
  }

  dispose(): void {
    this.#previous?.dispose();
    this.#previous = null;
  }
}
