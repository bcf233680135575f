/**
 * Learning-rate schedules as MLX defines them (mlx.optimizers.schedulers), by mlx-lm's `lr_schedule` config:
 *
 *   lr_schedule: { name: cosine_decay, warmup: 100, warmup_init: 1e-7, arguments: [1e-5, 1000, 1e-7] }
 *
 * A schedule maps the optimizer's step (updates done so far, from 0) to a learning rate; the update with
 * step s uses schedule(s). With `warmup` W, steps 0…W ramp linearly from `warmup_init` (default 0) to the
 * schedule's first argument, and step W + 1 + i uses the schedule at i (MLX's join_schedules).
 * @module
 */
import { UsageError } from '../errors.js';

export type Schedule = (step: number) => number;

/** init·decay_rate^step. */
export function exponentialDecay(init: number, decayRate: number): Schedule {
  return (step) => init * decayRate ** step;
}

/** init·decay_rate^⌊step / step_size⌋. */
export function stepDecay(init: number, decayRate: number, stepSize: number): Schedule {
  return (step) => init * decayRate ** Math.floor(step / stepSize);
}

/** end + (init − end)·½(1 + cos(π·min(step, decay_steps)/decay_steps)). */
export function cosineDecay(init: number, decaySteps: number, end = 0): Schedule {
  return (step) => {
    const s = Math.min(step, decaySteps);
    return end + 0.5 * (1 + Math.cos((Math.PI * s) / decaySteps)) * (init - end);
  };
}

/** init → end linearly over `steps`, then end. */
export function linearSchedule(init: number, end: number, steps: number): Schedule {
  return (step) => init + Math.min(step, steps) * ((end - init) / steps);
}

/** schedules[0] before boundaries[0], then schedules[i + 1](step − boundaries[i]) from boundaries[i] on. */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (schedules.length !== boundaries.length + 1) {
    throw new UsageError(`joinSchedules: ${schedules.length} schedules need ${schedules.length - 1} boundaries`);
  }
  return (step) => {
    let lr = schedules[0](step);
    boundaries.forEach((b, i) => {
      if (step >= b) lr = schedules[i + 1](step - b);
    });
    return lr;
  };
}

/** mlx-lm's `lr_schedule` table. */
export interface ScheduleConfig {
  readonly name: string;
  readonly arguments: readonly number[];
  readonly warmup?: number;
  readonly warmup_init?: number;
}

const BUILDERS: Record<string, { arity: [number, number]; build: (...a: number[]) => Schedule }> = {
  cosine_decay: { arity: [2, 3], build: (i, d, e) => cosineDecay(i, d, e) },
  linear_schedule: { arity: [3, 3], build: (i, e, s) => linearSchedule(i, e, s) },
  exponential_decay: { arity: [2, 2], build: (i, r) => exponentialDecay(i, r) },
  step_decay: { arity: [3, 3], build: (i, r, s) => stepDecay(i, r, s) },
};

/** A schedule from mlx-lm's config (mlx_lm/tuner/utils.py build_schedule); `where` names it in errors. */
export function buildSchedule(config: ScheduleConfig, where = 'lr_schedule'): Schedule {
  const entry = BUILDERS[config.name];
  if (!entry) {
    throw new UsageError(`${where}.name "${config.name}" is not one of ${Object.keys(BUILDERS).join(', ')}`);
  }
  const args = config.arguments;
  const [lo, hi] = entry.arity;
  if (!Array.isArray(args) || args.length < lo || args.length > hi || args.some((a) => !Number.isFinite(a))) {
    throw new UsageError(
      `${where}.arguments for ${config.name} must be ${lo === hi ? lo : `${lo} or ${hi}`} numbers ` +
        `(the first is the initial learning rate), got ${JSON.stringify(args)}`,
    );
  }
  const main = entry.build(...args);
  const warmup = config.warmup ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new UsageError(`${where}.warmup ${warmup} must be a whole number of steps`);
  }
  if (warmup === 0) return main;
  const ramp = linearSchedule(config.warmup_init ?? 0, args[0], warmup);
  return joinSchedules([ramp, main], [warmup + 1]);
}
