/**
 * diffusers scheduler configs (scheduler/scheduler_config.json) and the noise schedule they define.
 *
 * The schedule is computed in float32 where diffusers' torch tensors are float32 (`torch.linspace`, `** 2`,
 * `1 − β`; `cumprod` accumulates in double), so ᾱ matches diffusers' within an ulp (torch's vectorised linspace
 * rounds a few β differently from a scalar loop); a scheduler switched with `--scheduler` reads the same keys, and a key the folder's
 * config lacks takes the new class's default (as `Scheduler.from_config` does), notably `timestep_spacing`.
 * @module
 */
import { UsageError } from '../../../core/errors.js';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction';
export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';

export interface SchedulerConfig {
  /** `_class_name` of the file (e.g. DDIMScheduler, PNDMScheduler). */
  readonly className: string;
  readonly numTrainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betaSchedule: BetaSchedule;
  readonly trainedBetas: readonly number[] | null;
  readonly predictionType: PredictionType;
  readonly stepsOffset: number;
  /** DDIM/PNDM: ᾱ "before" step 0 is 1 (true) or ᾱ₀ (false). Default true, as both classes default. */
  readonly setAlphaToOne: boolean;
  readonly clipSample: boolean;
  readonly clipSampleRange: number;
  /** Absent in SD 1.x / 2.x configs: each scheduler class then uses its own default. */
  readonly timestepSpacing?: TimestepSpacing;
  /** PNDM: only the PLMS steps (SD's setting). */
  readonly skipPrkSteps: boolean;
}

const f32 = Math.fround;

function oneOf<T extends string>(file: string, key: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `${file}: ${key} ${JSON.stringify(value)} is not supported; expected one of ${choices.join(', ')}`,
  );
}

function num(file: string, key: string, value: unknown, fallback: number, check: (v: number) => boolean): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !check(value)) {
    throw new UsageError(`${file}: ${key} ${JSON.stringify(value)} is out of range`);
  }
  return value;
}

/** Parse scheduler_config.json (already JSON-decoded); `file` names it in errors. */
export function parseSchedulerConfig(json: unknown, file: string): SchedulerConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new UsageError(`${file}: expected a JSON object (a diffusers scheduler_config.json)`);
  }
  const c = json as Record<string, unknown>;
  for (const [key, bad] of [
    ['rescale_betas_zero_snr', true],
    ['thresholding', true],
    ['use_karras_sigmas', true],
  ] as const) {
    if (c[key] === bad) throw new UsageError(`${file}: ${key}: ${bad} is not supported by this toolkit's schedulers`);
  }
  // DPM-Solver++ (2M) is the only multistep variant implemented; a folder asking for another must say so.
  for (const [key, want] of [
    ['algorithm_type', 'dpmsolver++'],
    ['solver_order', 2],
    ['solver_type', 'midpoint'],
    ['final_sigmas_type', 'zero'],
  ] as const) {
    if (c[key] !== undefined && c[key] !== null && c[key] !== want) {
      throw new UsageError(`${file}: ${key} ${JSON.stringify(c[key])} is not supported (only ${JSON.stringify(want)})`);
    }
  }
  const trained = c.trained_betas;
  if (trained !== undefined && trained !== null && !(Array.isArray(trained) && trained.every(Number.isFinite))) {
    throw new UsageError(`${file}: trained_betas must be null or a list of numbers`);
  }
  const numTrainTimesteps = num(
    file,
    'num_train_timesteps',
    c.num_train_timesteps,
    1000,
    (v) => Number.isInteger(v) && v >= 2,
  );
  if (Array.isArray(trained) && trained.length !== numTrainTimesteps) {
    throw new UsageError(`${file}: trained_betas has ${trained.length} values for ${numTrainTimesteps} timesteps`);
  }
  return {
    className: typeof c._class_name === 'string' ? c._class_name : 'DDIMScheduler',
    numTrainTimesteps,
    betaStart: num(file, 'beta_start', c.beta_start, 0.0001, (v) => v > 0 && v < 1),
    betaEnd: num(file, 'beta_end', c.beta_end, 0.02, (v) => v > 0 && v < 1),
    betaSchedule: oneOf(
      file,
      'beta_schedule',
      c.beta_schedule,
      ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
      'linear',
    ),
    trainedBetas: Array.isArray(trained) ? (trained as number[]) : null,
    predictionType: oneOf(file, 'prediction_type', c.prediction_type, ['epsilon', 'v_prediction'], 'epsilon'),
    stepsOffset: num(file, 'steps_offset', c.steps_offset, 0, (v) => Number.isInteger(v) && v >= 0),
    setAlphaToOne: c.set_alpha_to_one === undefined ? true : c.set_alpha_to_one === true,
    clipSample: c.clip_sample === true,
    clipSampleRange: num(file, 'clip_sample_range', c.clip_sample_range, 1, (v) => v > 0),
    timestepSpacing:
      c.timestep_spacing === undefined || c.timestep_spacing === null
        ? undefined
        : oneOf<TimestepSpacing>(
            file,
            'timestep_spacing',
            c.timestep_spacing,
            ['leading', 'linspace', 'trailing'],
            'leading',
          ),
    skipPrkSteps: c.skip_prk_steps === true,
  };
}

/** SD 1.x / 2.x's schedule (the tiny-sd and SD 1.5 values), for tests and defaults. */
export const SD_SCHEDULER_CONFIG: SchedulerConfig = {
  className: 'DDIMScheduler',
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  trainedBetas: null,
  predictionType: 'epsilon',
  stepsOffset: 1,
  setAlphaToOne: false,
  clipSample: false,
  clipSampleRange: 1,
  skipPrkSteps: true,
};

/** torch.linspace(start, end, n) in float32 (computed from both ends towards the middle, as torch does). */
function linspaceF32(start: number, end: number, n: number): number[] {
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  return Array.from({ length: n }, (_, i) => (i < half ? f32(s + f32(step * i)) : f32(e - f32(step * (n - 1 - i)))));
}

/** The cosine schedule's betas (betas_for_alpha_bar, max β 0.999), in f64 then f32 like torch.tensor(list). */
function cosineBetas(n: number): number[] {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  return Array.from({ length: n }, (_, i) => f32(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999)));
}

/** ᾱ_t = Π_{s≤t} (1 − β_s), float32 as diffusers computes it. */
export function alphasCumprod(config: SchedulerConfig): Float32Array {
  const n = config.numTrainTimesteps;
  let betas: number[];
  if (config.trainedBetas) betas = config.trainedBetas.map(f32);
  else if (config.betaSchedule === 'linear') betas = linspaceF32(config.betaStart, config.betaEnd, n);
  else if (config.betaSchedule === 'scaled_linear') {
    betas = linspaceF32(Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd), n).map((b) => f32(b * b));
  } else betas = cosineBetas(n);
  // torch.cumprod of a float32 tensor accumulates in double and rounds each prefix once (checked against
  // torch 1.13: identical to NumPy's f64 cumprod cast to f32, unlike a float32 running product).
  const out = new Float32Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    prod *= f32(1 - betas[i]);
    out[i] = prod;
  }
  return out;
}

/** NumPy's round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Integer timesteps (descending) for `steps` inference steps, as DDIM/PNDM/DPM-Solver compute them:
 * leading `arange(n)·(T//n) + offset`, linspace `round(linspace(0, T−1, n))`, trailing `round(arange(T, 0, −T/n)) − 1`.
 */
export function integerTimesteps(spacing: TimestepSpacing, steps: number, config: SchedulerConfig): number[] {
  const T = config.numTrainTimesteps;
  if (spacing === 'leading') {
    const ratio = Math.floor(T / steps);
    return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + config.stepsOffset);
  }
  if (spacing === 'linspace') return linspaceDescending(T - 1, steps).map(roundHalfEven);
  const ratio = T / steps;
  return Array.from({ length: steps }, (_, i) => roundHalfEven(T - i * ratio) - 1);
}

/** np.linspace(0, stop, n) reversed: k·(stop/(n−1)) in f64 with the last value exactly `stop`. */
export function linspaceDescending(stop: number, n: number): number[] {
  if (n === 1) return [0];
  const step = stop / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === 0 ? stop : (n - 1 - i) * step));
}

/** Checks an inference step count against the training schedule. */
export function checkSteps(steps: number, config: SchedulerConfig): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > config.numTrainTimesteps) {
    throw new UsageError(
      `steps ${steps} is out of range: use an integer from 1 to ${config.numTrainTimesteps} (the training timesteps)`,
    );
  }
}

/** σ_t = √((1 − ᾱ_t)/ᾱ_t) for every training timestep, in f32 as diffusers' tensor expression. */
export function trainingSigmas(alphas: Float32Array): Float32Array {
  return alphas.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** np.interp(x, arange(len(ys)), ys). */
export function interpAt(x: number, ys: ArrayLike<number>): number {
  if (x <= 0) return ys[0];
  if (x >= ys.length - 1) return ys[ys.length - 1];
  const i = Math.floor(x);
  const w = x - i;
  return ys[i] + w * (ys[i + 1] - ys[i]);
}
