/**
 * What the Stable Diffusion loop needs from a scheduler, by step index into `timesteps` (diffusers tracks the
 * same index internally: `step_index`, started at `begin_index` for img2img).
 *
 * Ownership: `step` consumes `modelOutput` (it is disposed, or kept as the scheduler's history) and never
 * `sample`; every returned tensor is the caller's. `dispose()` frees the history (PNDM, DPM-Solver).
 * @module
 */
import type { Rng } from '../../../core/random.js';
import type { Tensor } from '../../../core/tensor.js';
import type { SchedulerConfig } from './config.js';

export type SchedulerName = 'ddim' | 'euler' | 'euler-ancestral' | 'dpm-solver++' | 'pndm';

export const SCHEDULER_NAMES: readonly SchedulerName[] = ['ddim', 'euler', 'euler-ancestral', 'dpm-solver++', 'pndm'];

export interface Scheduler {
  readonly name: SchedulerName;
  readonly config: SchedulerConfig;
  /** The UNet's timestep input per step (descending), after {@link setTimesteps}. */
  readonly timesteps: readonly number[];
  /** How much the txt2img starting noise is scaled. */
  readonly initNoiseSigma: number;
  /** The spacing in use (the config's, else this class's default). */
  readonly spacing: string;
  setTimesteps(steps: number): void;
  /** The UNet input at step `i` (Euler-family schedulers divide by √(σ²+1); the others return a new view). */
  scaleModelInput(sample: Tensor, i: number): Tensor;
  /** img2img: the clean latents noised to the level of step `i`. */
  addNoise(x0: Tensor, noise: Tensor, i: number): Tensor;
  /** One denoising step from step `i`; consumes `modelOutput`. */
  step(modelOutput: Tensor, i: number, sample: Tensor): Tensor;
  dispose(): void;
}

export interface SchedulerOptions {
  /** Noise source for stochastic schedulers (Euler ancestral, DDIM with η > 0). */
  readonly rng?: Rng;
  /** DDIM's η (default 0: deterministic). */
  readonly eta?: number;
}
