/**
 * The checkpoint `--resume` continues from: one file, `training_state.safetensors` in the adapter folder,
 * written atomically with the trainable tensors (`params.<name>`), the optimizer's slots (`optimizer.<name>`)
 * and, in its metadata, the iteration, optimizer step, data position and dropout generator. One file, so a
 * kill between two writes can never pair weights with another iteration's optimizer state.
 * @module
 */
import { join } from 'node:path';
import { UsageError } from '../../../core/errors.js';
import type { SafetensorsTensor } from '../../../core/io/safetensors.js';
import type { ParameterTree } from '../../../core/nn/parameters.js';
import type { Optimizer } from '../../../core/optim/optimizers.js';
import { Rng, type RngState } from '../../../core/random.js';
import * as T from '../../../index.js';
import { loadSafetensorsFile, saveSafetensorsFile } from '../../../node/io/safetensors-file.js';
import type { StreamPosition } from '../data/batches.js';
import { toFileTensor } from './adapter-files.js';

export const TRAINING_STATE = 'training_state.safetensors';
const VERSION = '1';

export interface TrainingPosition {
  /** Iterations done. */
  readonly iteration: number;
  readonly data: StreamPosition;
  readonly rng: RngState;
}

export async function saveTrainingState(
  dir: string,
  tree: ParameterTree,
  optimizer: Optimizer,
  position: TrainingPosition,
): Promise<string> {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(tree.trainable())) tensors[`params.${name}`] = await toFileTensor(t);
  const state = optimizer.stateDict();
  for (const [name, t] of Object.entries(state.tensors)) tensors[`optimizer.${name}`] = await toFileTensor(t);
  const path = join(dir, TRAINING_STATE);
  await saveSafetensorsFile(path, tensors, {
    version: VERSION,
    iteration: String(position.iteration),
    optimizer_step: String(state.step),
    data: JSON.stringify(position.data),
    rng: JSON.stringify(position.rng),
  });
  return path;
}

/** Restore the tree and optimizer from a training state; returns where the run stood. */
export async function loadTrainingState(
  dir: string,
  tree: ParameterTree,
  optimizer: Optimizer,
): Promise<TrainingPosition> {
  const path = join(dir, TRAINING_STATE);
  const reader = await loadSafetensorsFile(path).catch((e: unknown) => {
    throw new UsageError(
      `--resume: cannot read ${path} (${(e as Error).message}); it is written every --save-every iterations`,
      { cause: e },
    );
  });
  const meta = reader.metadata;
  if (meta.version !== VERSION)
    throw new UsageError(`${path}: training state version ${meta.version} is not ${VERSION}`);
  let position: TrainingPosition;
  let step: number;
  try {
    position = {
      iteration: Number(meta.iteration),
      data: JSON.parse(meta.data) as StreamPosition,
      rng: JSON.parse(meta.rng) as RngState,
    };
    step = Number(meta.optimizer_step);
    Rng.fromState(position.rng);
  } catch (e) {
    throw new UsageError(`${path}: the metadata is damaged (${(e as Error).message})`, { cause: e });
  }
  const trainable = new Set(tree.trainableNames());
  const slots: Record<string, T.Tensor> = {};
  for (const key of reader.names) {
    const d = await reader.readAsCore(key);
    const t = T.fromHost(d.data, d.shape, d.dtype);
    if (key.startsWith('params.')) {
      const name = key.slice('params.'.length);
      if (!trainable.delete(name)) {
        t.dispose();
        throw new UsageError(`${path}: "${name}" is not trained by this configuration; resume with the same options`);
      }
      tree.set(name, t).dispose();
    } else if (key.startsWith('optimizer.')) {
      slots[key.slice('optimizer.'.length)] = t;
    } else {
      t.dispose();
      throw new UsageError(`${path}: unexpected tensor "${key}"`);
    }
  }
  if (trainable.size > 0) {
    throw new UsageError(`${path}: lacks "${[...trainable][0]}"; resume with the options the run started with`);
  }
  optimizer.loadStateDict(step, slots);
  return position;
}
