/**
 * One training iteration and one evaluation pass, as mlx-lm's tuner/trainer.py runs them: the gradient of
 * the masked mean cross-entropy with respect to the trainable tensors only, accumulated over
 * `gradAccumulationSteps` batches and averaged before one optimizer update (optionally clipped to a global
 * norm); evaluation is the token-weighted mean loss over batches. Browser-safe: no files.
 * @module
 */

import type { ParameterTree } from '../../../core/nn/parameters.js';
import { clipGradNorm, type Optimizer } from '../../../core/optim/optimizers.js';
import * as T from '../../../index.js';
import { setTraining } from '../../../models/llama/adapters.js';
import type { LlamaModel } from '../../../models/llama/model.js';
import { batchLoss, type TokenBatch } from './loss.js';

export interface TrainerOptions {
  /** Batches whose averaged gradients make one update (mlx-lm's grad_accumulation_steps). */
  readonly gradAccumulationSteps?: number;
  /** Clip the global gradient norm to this before each update (null/undefined: no clipping). */
  readonly maxGradNorm?: number | null;
  /** Recompute each block in the backward pass (mlx-lm's grad_checkpoint). */
  readonly checkpointBlocks?: boolean;
}

export interface StepResult {
  /** This batch's mean loss. */
  readonly loss: number;
  /** Tokens the loss counted. */
  readonly tokens: number;
  /** True when this batch completed an accumulation and the parameters were updated. */
  readonly updated: boolean;
  /** The global gradient norm before clipping (only when clipping). */
  readonly gradNorm?: number;
}

export class Trainer {
  #pending: Record<string, T.Tensor> | null = null;
  #accumulated = 0;

  constructor(
    readonly model: LlamaModel,
    readonly tree: ParameterTree,
    readonly optimizer: Optimizer,
    readonly options: TrainerOptions = {},
  ) {}

  /** Forward and backward on one batch; an optimizer update every gradAccumulationSteps batches. */
  async step(batch: TokenBatch): Promise<StepResult> {
    const names = this.tree.trainableNames();
    const params = names.map((n) => this.tree.get(n));
    let tokens = 0;
    setTraining(this.model, true);
    const { value, grads } = T.valueAndGrad((..._watched: T.Tensor[]) => {
      const r = batchLoss(this.model, batch, { checkpointBlocks: this.options.checkpointBlocks });
      tokens = r.tokens;
      return r.loss;
    })(...params);
    setTraining(this.model, false);
    const loss = (await value.data())[0];
    value.dispose();
    if (!Number.isFinite(loss)) {
      for (const g of grads) g.dispose();
      throw new T.ShapeError(
        `training loss is ${loss} at optimizer step ${this.optimizer.step}: lower --learning-rate or check the data`,
      );
    }
    this.#accumulate(names, grads);
    const k = this.options.gradAccumulationSteps ?? 1;
    if (this.#accumulated < k) return { loss, tokens, updated: false };
    return { loss, tokens, updated: true, ...(await this.#update(k)) };
  }

  #accumulate(names: readonly string[], grads: readonly T.Tensor[]): void {
    if (!this.#pending) {
      this.#pending = Object.fromEntries(names.map((n, i) => [n, grads[i]]));
    } else {
      const pending = this.#pending;
      names.forEach((n, i) => {
        const sum = T.add(pending[n], grads[i]);
        pending[n].dispose();
        grads[i].dispose();
        pending[n] = sum;
      });
    }
    this.#accumulated++;
  }

  async #update(k: number): Promise<{ gradNorm?: number }> {
    let grads = this.#pending!;
    this.#pending = null;
    this.#accumulated = 0;
    if (k > 1) {
      // mlx-lm averages the accumulated gradients.
      const averaged = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, T.mul(g, 1 / k)]));
      for (const g of Object.values(grads)) g.dispose();
      grads = averaged;
    }
    let gradNorm: number | undefined;
    if (this.options.maxGradNorm != null) {
      const clipped = await clipGradNorm(grads, this.options.maxGradNorm);
      grads = clipped.grads;
      gradNorm = clipped.norm;
    }
    this.optimizer.update(this.tree, grads);
    for (const g of Object.values(grads)) g.dispose();
    return gradNorm === undefined ? {} : { gradNorm };
  }

  dispose(): void {
    for (const g of Object.values(this.#pending ?? {})) g.dispose();
    this.#pending = null;
  }
}

/** The token-weighted mean loss of a model over batches (dropout off), as mlx-lm's evaluate. */
export async function evaluateLoss(
  model: LlamaModel,
  batches: Iterable<TokenBatch>,
  signal?: AbortSignal,
): Promise<{ loss: number; tokens: number }> {
  setTraining(model, false);
  let total = 0;
  let tokens = 0;
  for (const batch of batches) {
    signal?.throwIfAborted();
    const r = batchLoss(model, batch);
    total += (await r.loss.data())[0] * r.tokens;
    r.loss.dispose();
    tokens += r.tokens;
  }
  return { loss: total / tokens, tokens };
}
