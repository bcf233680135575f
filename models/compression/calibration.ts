/**
 * What calibrated quantizers learn from data: the second moment E[xxᵀ] of each projection's inputs over
 * calibration tokens (GPTQ's Hessian up to its factor 2). Every projection of the network is wrapped for one
 * pass per sequence (through {@link linearSlots}, so the model code is untouched); the sums stay on the
 * backend (xᵀx per call, added up) and are read once at the end. The inputs are the float model's
 * (mlx-lm's GPTQ runs block by block on the quantized model's outputs instead; a simplification).
 * @module
 */

import type { Linear } from '../../core/nn/linear.js';
import { yieldToEventLoop } from '../../core/yield.js';
import * as T from '../../index.js';
import type { LlamaModel } from '../llama/model.js';
import { linearSlots } from '../llama/weights.js';

/** Passes calls to `inner` and adds xᵀx of every input to a sum kept out of the model's tidy scopes. */
class InputMoments implements Linear {
  sum: T.Tensor | null = null;
  rows = 0;

  constructor(readonly inner: Linear) {}

  get inFeatures(): number {
    return this.inner.inFeatures;
  }

  get outFeatures(): number {
    return this.inner.outFeatures;
  }

  forward(x: T.Tensor): T.Tensor {
    const n = x.size / this.inFeatures;
    const flat = T.reshape(x, [n, this.inFeatures]);
    const xtx = T.matmul(flat, flat, { transposeA: true });
    const next = T.keep(this.sum ? T.add(this.sum, xtx) : xtx);
    this.sum?.dispose();
    this.sum = next;
    this.rows += n;
    return this.inner.forward(x);
  }

  parameters(): Readonly<Record<string, T.Tensor>> {
    return this.inner.parameters();
  }

  dispose(): void {
    this.sum?.dispose();
  }
}

/**
 * E[xxᵀ] [in, in] (f64, row-major) of the inputs of every projection, by path, over `sequences` (token ids,
 * each run alone). `onSequence` is called after each (progress; it may throw to cancel).
 */
export async function inputMoments(
  model: LlamaModel,
  sequences: readonly (readonly number[])[],
  onSequence: () => void = () => {},
): Promise<Map<string, Float64Array>> {
  const slots = linearSlots(model.weights);
  const recorders = slots.map((s) => new InputMoments(s.get()));
  for (const [i, s] of slots.entries()) s.set(recorders[i]);
  try {
    for (const ids of sequences) {
      T.tidy(() => model.forward(T.tensor([...ids], [1, ids.length], 'i32'))).dispose();
      await yieldToEventLoop();
      onSequence();
    }
    const out = new Map<string, Float64Array>();
    for (const [i, s] of slots.entries()) {
      const r = recorders[i];
      if (!r.sum) continue;
      const sum = await r.sum.data();
      out.set(
        s.path,
        Float64Array.from(sum, (v) => v / r.rows),
      );
    }
    return out;
  } finally {
    slots.forEach((s, i) => {
      s.set(recorders[i].inner);
      recorders[i].dispose();
    });
  }
}
