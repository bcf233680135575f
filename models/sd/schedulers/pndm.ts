/**
 * PNDM (diffusers PNDMScheduler with skip_prk_steps, SD 1.5's default): pseudo linear multistep (PLMS).
 * The timesteps are the spaced ones with the second repeated — n + 1 model calls, e.g. 981, 961, 961, 941, …, 1
 * for 50 leading steps — and the model outputs are combined by the Adams–Bashforth weights
 * (1), (e + e₋₁)/2 on the repeated step, (3, −1)/2, (23, −16, 5)/12, (55, −59, 37, −9)/24. Each update is
 * formula (9) of the PNDM paper: x' = √(ᾱ'/ᾱ)·x − (ᾱ' − ᾱ)·e / (ᾱ·√(1 − ᾱ') + √(ᾱ(1 − ᾱ)ᾱ')).
 * Default spacing "leading". The Runge–Kutta warm-up (skip_prk_steps false) is not implemented.
 * @module
 */
import * as T from '../../../index.js';
import type { SchedulerConfig } from './config.js';
import { AlphaScheduler } from './ddim.js';
import type { Scheduler } from './scheduler.js';

const f32 = Math.fround;

export class PndmScheduler extends AlphaScheduler implements Scheduler {
  readonly name = 'pndm';
  #counter = 0;
  /** The last (up to four) model outputs, oldest first. */
  #ets: T.Tensor[] = [];
  #curSample: T.Tensor | null = null;

  constructor(config: SchedulerConfig) {
    super(config);
    if (config.className === 'PNDMScheduler' && !config.skipPrkSteps) {
      throw new T.UsageError(
        'PNDM with skip_prk_steps false (Runge–Kutta warm-up steps) is not supported; Stable Diffusion configs set it ' +
          'true. Choose another scheduler with --scheduler.',
      );
    }
  }

  override setTimesteps(steps: number): void {
    super.setTimesteps(steps);
    const spaced = this.timesteps; // descending
    // diffusers: concat(ts[:-1], ts[-2:-1], ts[-1:])[::-1] over the ascending list = the second one repeated.
    this.timesteps = steps === 1 ? spaced : [spaced[0], spaced[1], ...spaced.slice(1)];
    this.#reset();
  }

  step(modelOutput: T.Tensor, i: number, sample: T.Tensor): T.Tensor {
    let t = this.timesteps[i];
    let prev = t - this.ratio;
    if (this.#counter !== 1) {
      while (this.#ets.length > 3) this.#ets.shift()?.dispose();
      this.#ets.push(modelOutput);
    } else {
      prev = t;
      t = t + this.ratio;
    }
    const ets = this.#ets;
    const n = ets.length;
    let x = sample;
    let releaseX = false;
    const e = T.tidy(() => {
      if (n === 1 && this.#counter === 0) return T.reshape(modelOutput, modelOutput.shape);
      if (n === 1 && this.#counter === 1) return T.div(T.add(modelOutput, ets[0]), 2);
      if (n === 2) return T.div(T.sub(T.mul(ets[1], 3), ets[0]), 2);
      if (n === 3) return T.div(T.add(T.sub(T.mul(ets[2], 23), T.mul(ets[1], 16)), T.mul(ets[0], 5)), 12);
      return T.mul(
        T.sub(T.add(T.sub(T.mul(ets[3], 55), T.mul(ets[2], 59)), T.mul(ets[1], 37)), T.mul(ets[0], 9)),
        1 / 24,
      );
    });
    if (n === 1 && this.#counter === 0) {
      this.#curSample = T.reshape(sample, sample.shape);
    } else if (n === 1 && this.#counter === 1) {
      x = this.#curSample as T.Tensor;
      this.#curSample = null;
      releaseX = true;
      modelOutput.dispose(); // not kept: the repeated step's output only enters the average
    }
    const result = T.tidy(() => this.#prevSample(x, t, prev, e));
    e.dispose();
    if (releaseX) x.dispose();
    this.#counter++;
    return result;
  }

  #prevSample(x: T.Tensor, t: number, prev: number, out: T.Tensor): T.Tensor {
    const a = this.alphas[t];
    const aPrev = prev >= 0 ? this.alphas[prev] : this.final;
    const b = f32(1 - a);
    const bPrev = f32(1 - aPrev);
    const e =
      this.config.predictionType === 'v_prediction'
        ? T.add(T.mul(out, f32(Math.sqrt(a))), T.mul(x, f32(Math.sqrt(b))))
        : out;
    const sampleCoeff = f32(Math.sqrt(f32(aPrev / a)));
    const denom = f32(f32(a * f32(Math.sqrt(bPrev))) + f32(Math.sqrt(f32(f32(a * b) * aPrev))));
    return T.sub(T.mul(x, sampleCoeff), T.div(T.mul(e, f32(aPrev - a)), denom));
  }

  #reset(): void {
    for (const t of this.#ets) t.dispose();
    this.#ets = [];
    this.#curSample?.dispose();
    this.#curSample = null;
    this.#counter = 0;
  }

  dispose(): void {
    this.#reset();
  }
}
