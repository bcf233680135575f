/**
 * mlx-lm's training loss (formats.md §3): next-token cross-entropy over a padded batch, counted only where
 * a row's target position s (1-based) satisfies offset ≤ s < length. mlx-lm's own mask uses s ≤ length, which
 * also trains the prediction of the pad token after the last one; its DWQ loss and a proposed fix use <, and
 * so does this one (documented in docs/lora.md). The mean is over the counted tokens.
 * @module
 */
import * as T from '../../../index.js';
import type { CausalLM } from '../../../models/llama/model.js';

/** A padded batch: rows of token ids (right-padded with 0) and, per row, the loss window. */
export interface TokenBatch {
  /** rows × width ids, row-major. */
  readonly ids: Int32Array;
  readonly rows: number;
  /** Padded row length (1 + a multiple of 32, capped at max_seq_length). */
  readonly width: number;
  /** Per row: the first target position trained (the prompt length with --mask-prompt, else 0). */
  readonly offsets: readonly number[];
  /** Per row: the tokens it holds before padding (after truncation). */
  readonly lengths: readonly number[];
}

/** The 0/1 loss mask [rows, width − 1] of a batch and the number of ones. */
export function lossMask(batch: TokenBatch): { mask: Float32Array; count: number } {
  const t = batch.width - 1;
  const mask = new Float32Array(batch.rows * t);
  let count = 0;
  for (let r = 0; r < batch.rows; r++) {
    for (let s = 1; s <= t; s++) {
      if (s >= batch.offsets[r] && s < batch.lengths[r]) {
        mask[r * t + s - 1] = 1;
        count++;
      }
    }
  }
  return { mask, count };
}

export interface LossOptions {
  /** Recompute each block in the backward pass instead of keeping its activations (memory for time). */
  readonly checkpointBlocks?: boolean;
}

/**
 * The mean masked cross-entropy of a batch (a scalar tensor) and the number of tokens it counts. Call it
 * inside a valueAndGrad to train; on its own to evaluate. A batch that counts no token is an error.
 */
export function batchLoss(
  model: CausalLM,
  batch: TokenBatch,
  options: LossOptions = {},
): { loss: T.Tensor; tokens: number } {
  const { mask, count } = lossMask(batch);
  if (count === 0) {
    throw new T.ShapeError('batchLoss: no token of this batch is trained (every row is shorter than its offset + 2)');
  }
  const t = batch.width - 1;
  const inputs = new Int32Array(batch.rows * t);
  const targets = new Int32Array(batch.rows * t);
  for (let r = 0; r < batch.rows; r++) {
    inputs.set(batch.ids.subarray(r * batch.width, r * batch.width + t), r * t);
    targets.set(batch.ids.subarray(r * batch.width + 1, (r + 1) * batch.width), r * t);
  }
  const loss = T.tidy(() => {
    const logits = model.forward(T.fromHost(inputs, [batch.rows, t], 'i32'), {
      checkpointBlocks: options.checkpointBlocks,
    });
    const ce = T.crossEntropy(logits, T.fromHost(targets, [batch.rows, t], 'i32'), { reduction: 'none' });
    return T.div(T.sum(T.mul(ce, T.fromHost(mask, [batch.rows, t], 'f32'))), count);
  });
  return { loss, tokens: count };
}
