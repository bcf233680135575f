/**
 * The schedulers by name, and the default one for a diffusers folder (its config's `_class_name`).
 * @module
 */
import { UsageError } from '../../../core/errors.js';
import type { SchedulerConfig } from './config.js';
import { DdimScheduler } from './ddim.js';
import { DpmSolverScheduler } from './dpm-solver.js';
import { EulerScheduler } from './euler.js';
import { PndmScheduler } from './pndm.js';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerName, type SchedulerOptions } from './scheduler.js';

export * from './config.js';
export * from './scheduler.js';

const BY_CLASS: Readonly<Record<string, SchedulerName>> = {
  DDIMScheduler: 'ddim',
  PNDMScheduler: 'pndm',
  EulerDiscreteScheduler: 'euler',
  EulerAncestralDiscreteScheduler: 'euler-ancestral',
  DPMSolverMultistepScheduler: 'dpm-solver++',
};

/** The scheduler a folder's config names, or undefined when this toolkit has no such class. */
export function schedulerForClass(className: string): SchedulerName | undefined {
  return BY_CLASS[className];
}

/**
 * A scheduler over `config`: `name`, else the config's own class. Keys the config does not set take the chosen
 * class's defaults, as diffusers' `from_config` does when a pipeline's scheduler is swapped.
 */
export function createScheduler(
  config: SchedulerConfig,
  name?: SchedulerName,
  options: SchedulerOptions = {},
): Scheduler {
  const chosen = name ?? schedulerForClass(config.className);
  if (!chosen) {
    throw new UsageError(
      `scheduler class ${config.className} is not implemented; choose one with --scheduler (${SCHEDULER_NAMES.join(', ')})`,
    );
  }
  switch (chosen) {
    case 'ddim':
      return new DdimScheduler(config, options);
    case 'euler':
      return new EulerScheduler(config, false, options);
    case 'euler-ancestral':
      return new EulerScheduler(config, true, options);
    case 'dpm-solver++':
      return new DpmSolverScheduler(config);
    case 'pndm':
      return new PndmScheduler(config);
  }
}
