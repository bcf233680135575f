/**
 * Optimizers as MLX defines them (mlx.optimizers), which mlx-lm trains with:
 *
 *   Adam   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p − lr·m/(√v + ε)
 *          (no bias correction by default, as MLX: `biasCorrection` turns PyTorch's on)
 *   AdamW  Adam on p·(1 − lr·λ)  (decoupled weight decay, λ default 0.01)
 *   SGD    v ← μv + (1−τ)g (+ λp in g);  p ← p − lr·v  (or g + μv with Nesterov; plain g when μ = 0)
 *
 * `step` counts updates; update number s (from 0) uses learningRate(s) when the rate is a schedule. Every
 * update replaces the parameters in the tree (the old tensors are disposed). The state (the step and each
 * parameter's m/v/momentum tensors) can be saved and restored for an exact resume.
 * @module
 */

import { add, div, mul, sqrt, square, sub, sum } from '../../kernels/ops.js';
import { zeros } from '../creation.js';
import { UsageError } from '../errors.js';
import type { ParameterTree } from '../nn/parameters.js';
import { type Tensor, tidy } from '../tensor.js';
import type { Schedule } from './schedules.js';

export type LearningRate = number | Schedule;

type Slots = Record<string, Tensor>;

export abstract class Optimizer {
  #step = 0;
  #last = Number.NaN;
  readonly #state = new Map<string, Slots>();

  constructor(readonly learningRateSchedule: LearningRate) {
    if (typeof learningRateSchedule === 'number' && !Number.isFinite(learningRateSchedule)) {
      throw new UsageError(`learning rate ${learningRateSchedule} must be a finite number`);
    }
  }

  /** Updates applied so far. */
  get step(): number {
    return this.#step;
  }

  /** The rate the next update uses. */
  learningRate(): number {
    const s = this.learningRateSchedule;
    return typeof s === 'number' ? s : s(this.#step);
  }

  /** The rate the last update used (NaN before the first). */
  get lastLearningRate(): number {
    return this.#last;
  }

  /** The names of the per-parameter state tensors this optimizer keeps. */
  protected abstract slotNames(): readonly string[];

  /** One parameter's new value and state from its gradient. */
  protected abstract applySingle(g: Tensor, p: Tensor, slots: Slots, lr: number): { param: Tensor; slots: Slots };

  /** Apply one update to every parameter with a gradient in `grads` (names as in the tree). */
  update(tree: ParameterTree, grads: Readonly<Record<string, Tensor>>): void {
    const lr = this.learningRate();
    for (const [name, g] of Object.entries(grads)) {
      const p = tree.get(name);
      const slots =
        this.#state.get(name) ?? Object.fromEntries(this.slotNames().map((k) => [k, zeros(p.shape, p.dtype)]));
      const next = tidy(() => this.applySingle(g, p, slots, lr));
      tree.set(name, next.param);
      p.dispose();
      for (const [k, t] of Object.entries(slots)) if (next.slots[k] !== t) t.dispose();
      this.#state.set(name, next.slots);
    }
    this.#last = lr;
    this.#step++;
  }

  /** The state tensors as `<parameter>.<slot>` (the caller must not dispose them) and the step. */
  stateDict(): { step: number; tensors: Record<string, Tensor> } {
    const tensors: Record<string, Tensor> = {};
    for (const [name, slots] of this.#state) for (const [k, t] of Object.entries(slots)) tensors[`${name}.${k}`] = t;
    return { step: this.#step, tensors };
  }

  /**
   * Restore a {@link stateDict} (the tensors are taken over). Every slot of a parameter must be there; a
   * parameter with none starts from zeros at its first update.
   */
  loadStateDict(step: number, tensors: Readonly<Record<string, Tensor>>): void {
    if (!Number.isInteger(step) || step < 0) throw new UsageError(`optimizer state: step ${step} is not a count`);
    this.dispose();
    const names = this.slotNames();
    const byParam = new Map<string, Slots>();
    for (const [key, t] of Object.entries(tensors)) {
      const dot = key.lastIndexOf('.');
      const [param, slot] = [key.slice(0, dot), key.slice(dot + 1)];
      if (!names.includes(slot)) {
        throw new UsageError(`optimizer state: "${key}" is not a ${this.constructor.name} slot (${names.join(', ')})`);
      }
      const slots = byParam.get(param) ?? {};
      slots[slot] = t;
      byParam.set(param, slots);
    }
    for (const [param, slots] of byParam) {
      const missing = names.filter((n) => !(n in slots));
      if (missing.length) throw new UsageError(`optimizer state: "${param}" lacks ${missing.join(', ')}`);
      this.#state.set(param, slots);
    }
    this.#step = step;
  }

  dispose(): void {
    for (const slots of this.#state.values()) for (const t of Object.values(slots)) t.dispose();
    this.#state.clear();
  }
}

export interface AdamOptions {
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  /** PyTorch's bias-corrected moments; MLX (and mlx-lm) default to false. */
  readonly biasCorrection?: boolean;
}

export class Adam extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly biasCorrection: boolean;

  constructor(learningRate: LearningRate, options: AdamOptions = {}) {
    super(learningRate);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.biasCorrection = options.biasCorrection ?? false;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new UsageError(`Adam betas [${b1}, ${b2}] must be in [0, 1)`);
  }

  protected slotNames(): readonly string[] {
    return ['m', 'v'];
  }

  protected applySingle(g: Tensor, p: Tensor, { m, v }: Slots, lr: number): { param: Tensor; slots: Slots } {
    const [b1, b2] = this.betas;
    const m2 = add(mul(m, b1), mul(g, 1 - b1));
    const v2 = add(mul(v, b2), mul(square(g), 1 - b2));
    let param: Tensor;
    if (this.biasCorrection) {
      const t = this.step + 1;
      const c1 = lr / (1 - b1 ** t);
      const c2 = 1 / Math.sqrt(1 - b2 ** t);
      param = sub(p, div(mul(m2, c1), add(mul(sqrt(v2), c2), this.eps)));
    } else {
      param = sub(p, mul(div(m2, add(sqrt(v2), this.eps)), lr));
    }
    return { param, slots: { m: m2, v: v2 } };
  }
}

export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay λ (MLX default 0.01). */
  readonly weightDecay?: number;
}

export class AdamW extends Adam {
  readonly weightDecay: number;

  constructor(learningRate: LearningRate, options: AdamWOptions = {}) {
    super(learningRate, options);
    this.weightDecay = options.weightDecay ?? 0.01;
  }

  protected override applySingle(g: Tensor, p: Tensor, slots: Slots, lr: number): { param: Tensor; slots: Slots } {
    return super.applySingle(g, mul(p, 1 - lr * this.weightDecay), slots, lr);
  }
}

export interface SgdOptions {
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly dampening: number;
  readonly nesterov: boolean;

  constructor(learningRate: LearningRate, options: SgdOptions = {}) {
    super(learningRate);
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new UsageError('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
    }
  }

  protected slotNames(): readonly string[] {
    return this.momentum > 0 ? ['v'] : [];
  }

  protected applySingle(g0: Tensor, p: Tensor, slots: Slots, lr: number): { param: Tensor; slots: Slots } {
    const g = this.weightDecay !== 0 ? add(g0, mul(p, this.weightDecay)) : g0;
    if (this.momentum <= 0) return { param: sub(p, mul(g, lr)), slots: {} };
    const v = add(mul(slots.v, this.momentum), this.dampening > 0 ? mul(g, 1 - this.dampening) : g);
    const step = this.nesterov ? add(g, mul(v, this.momentum)) : v;
    return { param: sub(p, mul(step, lr)), slots: { v } };
  }
}

/**
 * Scale gradients so their global L2 norm is at most maxNorm (MLX's clip_grad_norm: factor
 * min(maxNorm/(norm + 1e-6), 1)). Returns the new gradients (the given ones are disposed when replaced)
 * and the norm before clipping.
 */
export async function clipGradNorm(
  grads: Record<string, Tensor>,
  maxNorm: number,
): Promise<{ grads: Record<string, Tensor>; norm: number }> {
  const names = Object.keys(grads);
  if (names.length === 0) return { grads, norm: 0 };
  const total = tidy(() => {
    let acc: Tensor | null = null;
    for (const n of names) {
      const s = sum(square(grads[n]));
      acc = acc ? add(acc, s) : s;
    }
    return acc!;
  });
  const norm = Math.sqrt((await total.data())[0]);
  total.dispose();
  const factor = Math.min(maxNorm / (norm + 1e-6), 1);
  if (factor === 1) return { grads, norm };
  const out: Record<string, Tensor> = {};
  for (const n of names) {
    out[n] = mul(grads[n], factor);
    grads[n].dispose();
  }
  return { grads: out, norm };
}
