/**
 * mlx-lm's batching (tuner/trainer.py iterate_batches): examples sorted by length and cut into batches of
 * `batchSize` (a last partial batch is dropped); training visits the batches in a fresh random order each
 * epoch, evaluation in order. A batch is right-padded with 0 to 1 + a multiple of 32 (capped at
 * max_seq_length), and longer examples are truncated.
 *
 * The training order is a pure function of (seed, epoch), so a position {epoch, index} is all a checkpoint
 * needs to continue with the very same batches.
 * @module
 */
import { UsageError } from '../../../core/errors.js';
import { Rng } from '../../../core/random.js';
import type { TokenBatch } from '../train/loss.js';
import type { Dataset, Example } from './dataset.js';

const PAD_TO = 32;

/** Batches of example indices: sorted by length (stable), in groups of batchSize. */
export function batchIndices(dataset: Dataset, batchSize: number): number[][] {
  const n = dataset.examples.length;
  if (n < batchSize) {
    throw new UsageError(
      `${dataset.file}: ${n} example${n === 1 ? '' : 's'} cannot fill one batch of ${batchSize}; lower --batch-size or add data`,
    );
  }
  const order = dataset.examples.map((e, i) => [e.ids.length, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const batches: number[][] = [];
  for (let i = 0; i + batchSize <= n; i += batchSize) batches.push(order.slice(i, i + batchSize).map(([, j]) => j));
  return batches;
}

/** Pad (and truncate) examples into one batch. */
export function padBatch(examples: readonly Example[], maxSeqLength: number): TokenBatch {
  const longest = Math.max(...examples.map((e) => e.ids.length));
  const width = Math.min(1 + PAD_TO * Math.ceil(longest / PAD_TO), maxSeqLength);
  const ids = new Int32Array(examples.length * width);
  const lengths = examples.map((e, r) => {
    const n = Math.min(e.ids.length, maxSeqLength);
    for (let j = 0; j < n; j++) ids[r * width + j] = e.ids[j];
    return n;
  });
  return { ids, rows: examples.length, width, offsets: examples.map((e) => e.offset), lengths };
}

/** Fisher–Yates permutation of 0…n−1 from a generator. */
function permutation(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Where a training stream stands: the epoch (from 0) and the next batch within it. */
export interface StreamPosition {
  readonly epoch: number;
  readonly index: number;
}

/** The endless training stream: every batch once per epoch, in an order drawn from (seed, epoch). */
export class BatchStream {
  readonly #batches: number[][];
  #order: number[];
  #epoch: number;
  #index: number;

  constructor(
    readonly dataset: Dataset,
    readonly batchSize: number,
    readonly maxSeqLength: number,
    readonly seed: number,
    start: StreamPosition = { epoch: 0, index: 0 },
  ) {
    this.#batches = batchIndices(dataset, batchSize);
    if (!Number.isInteger(start.index) || start.index < 0 || start.index >= this.#batches.length) {
      throw new UsageError(`data position ${start.index} is outside the ${this.#batches.length} batches of an epoch`);
    }
    this.#epoch = start.epoch;
    this.#index = start.index;
    this.#order = this.#orderOf(start.epoch);
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.#batches.length;
  }

  get position(): StreamPosition {
    return { epoch: this.#epoch, index: this.#index };
  }

  next(): TokenBatch {
    const batch = this.#batches[this.#order[this.#index]];
    this.#index++;
    if (this.#index === this.#batches.length) {
      this.#epoch++;
      this.#index = 0;
      this.#order = this.#orderOf(this.#epoch);
    }
    return padBatch(
      batch.map((i) => this.dataset.examples[i]),
      this.maxSeqLength,
    );
  }

  #orderOf(epoch: number): number[] {
    // One generator per epoch, seeded from both numbers: no state to carry between epochs.
    return permutation(this.#batches.length, new Rng((Math.imul(this.seed ^ 0x5bd1e995, 0x9e3779b1) + epoch) >>> 0));
  }
}

/** The evaluation batches in order (the first `limit`; -1 or undefined for all). */
export function evaluationBatches(dataset: Dataset, batchSize: number, maxSeqLength: number, limit = -1): TokenBatch[] {
  const batches = batchIndices(dataset, batchSize);
  const n = limit === -1 ? batches.length : Math.min(limit, batches.length);
  return batches.slice(0, n).map((b) =>
    padBatch(
      b.map((i) => dataset.examples[i]),
      maxSeqLength,
    ),
  );
}
