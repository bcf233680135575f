/**
 * Choosing the next token from the logits of the last position, on the host, as mlx-lm's sample_utils does:
 *
 * 1. repetition penalty (a logits processor): each distinct token among the last `repetitionContextSize`
 *    (prompt included) has its logit divided by the penalty when positive, multiplied when negative;
 * 2. log-probabilities at temperature 1;
 * 3. temperature 0: the most likely token (greedy, the default);
 * 4. otherwise the filters, in mlx-lm's order — top-p (keep the most likely tokens whose probabilities sum
 *    past p), min-p (drop tokens below min_p × the top probability, keeping at least `minTokensToKeep`),
 *    top-k (keep the k most likely) — then a draw from softmax(logprobs / temperature).
 *
 * Draws come from a seeded generator (core/random.ts), so a seed gives the same tokens on every backend
 * whose logits agree. Ties go to the lower token id.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import { Rng } from '../../index.js';

export interface SamplingOptions {
  /** 0 (default): greedy. */
  readonly temperature?: number;
  /** 1 (default): off. */
  readonly topP?: number;
  /** 0 (default): off. */
  readonly topK?: number;
  /** 0 (default): off. */
  readonly minP?: number;
  /** Tokens min-p always keeps; default 1. */
  readonly minTokensToKeep?: number;
  /** 1 or undefined: off (mlx-lm's default). */
  readonly repetitionPenalty?: number;
  /** How many of the latest tokens the penalty looks at; default 20. */
  readonly repetitionContextSize?: number;
  /** Seed of the draws; default: a random one (reported in the generation stats). */
  readonly seed?: number;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new UsageError(message);
}

/** Throws a UsageError naming the option for values outside their range. */
export function validateSampling(o: SamplingOptions): void {
  const { temperature = 0, topP = 1, topK = 0, minP = 0, minTokensToKeep = 1 } = o;
  const { repetitionPenalty = 1, repetitionContextSize = 20, seed } = o;
  check(
    Number.isFinite(temperature) && temperature >= 0,
    `temperature ${temperature} must be a number >= 0 (0 is greedy)`,
  );
  check(topP >= 0 && topP <= 1, `top-p ${topP} must be in [0, 1] (1 turns it off)`);
  check(Number.isSafeInteger(topK) && topK >= 0, `top-k ${topK} must be an integer >= 0 (0 turns it off)`);
  check(minP >= 0 && minP <= 1, `min-p ${minP} must be in [0, 1] (0 turns it off)`);
  check(
    Number.isSafeInteger(minTokensToKeep) && minTokensToKeep >= 1,
    `min tokens to keep ${minTokensToKeep} must be >= 1`,
  );
  check(
    Number.isFinite(repetitionPenalty) && repetitionPenalty > 0,
    `repetition penalty ${repetitionPenalty} must be > 0 (1 turns it off)`,
  );
  check(
    Number.isSafeInteger(repetitionContextSize) && repetitionContextSize >= 1,
    `repetition context size ${repetitionContextSize} must be an integer >= 1`,
  );
  check(seed === undefined || Number.isSafeInteger(seed), `seed ${seed} must be an integer`);
}

/** Index of the largest value (the first on ties); NaN never wins. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best] || Number.isNaN(values[best])) best = i;
  return best;
}

export class Sampler {
  readonly seed: number;
  readonly #rng: Rng;
  readonly #o: Required<Omit<SamplingOptions, 'seed'>>;

  constructor(options: SamplingOptions = {}) {
    validateSampling(options);
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.#rng = new Rng(this.seed);
    this.#o = {
      temperature: options.temperature ?? 0,
      topP: options.topP ?? 1,
      topK: options.topK ?? 0,
      minP: options.minP ?? 0,
      minTokensToKeep: options.minTokensToKeep ?? 1,
      repetitionPenalty: options.repetitionPenalty ?? 1,
      repetitionContextSize: options.repetitionContextSize ?? 20,
    };
  }

  /** The next token from `logits` (one position's, not modified); `history` is every token so far. */
  sample(logits: Float32Array, history: readonly number[]): number {
    const o = this.#o;
    const values = Float64Array.from(logits);
    if (o.repetitionPenalty !== 1) {
      for (const t of new Set(history.slice(-o.repetitionContextSize))) {
        values[t] = values[t] < 0 ? values[t] * o.repetitionPenalty : values[t] / o.repetitionPenalty;
      }
    }
    if (o.temperature === 0) return argmax(values);
    // Log-probabilities at temperature 1: the filters' thresholds are probabilities of the untempered model.
    let top = Number.NEGATIVE_INFINITY;
    for (const v of values) top = Math.max(top, v);
    let sum = 0;
    for (const v of values) sum += Math.exp(v - top);
    const logZ = top + Math.log(sum);
    for (let i = 0; i < values.length; i++) values[i] -= logZ;
    if (o.topP > 0 && o.topP < 1) applyTopP(values, o.topP);
    if (o.minP > 0) applyMinP(values, o.minP, o.minTokensToKeep);
    if (o.topK > 0 && o.topK < values.length) applyTopK(values, o.topK);
    return this.#draw(values, o.temperature);
  }

  /** A draw from softmax(logprobs / temperature). */
  #draw(logprobs: Float64Array, temperature: number): number {
    let top = Number.NEGATIVE_INFINITY;
    for (const v of logprobs) top = Math.max(top, v / temperature);
    const weights = logprobs.map((v) => Math.exp(v / temperature - top));
    let total = 0;
    for (const w of weights) total += w;
    let u = this.#rng.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0 && weights[i] > 0) return i;
    }
    return argmax(weights);
  }
}

/** Token ids by descending value, ties by ascending id. */
function descending(values: Float64Array): number[] {
  return Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b);
}

/** mlx-lm apply_top_p: keep tokens whose cumulative probability, summed from the least likely up, exceeds 1 − p. */
function applyTopP(logprobs: Float64Array, p: number): void {
  const order = descending(logprobs).reverse();
  let cumulative = 0;
  for (const i of order) {
    cumulative += Math.exp(logprobs[i]);
    if (!(cumulative > 1 - p)) logprobs[i] = Number.NEGATIVE_INFINITY;
  }
}

/** mlx-lm apply_min_p: drop tokens with probability below minP × the top one, keeping the top minKeep. */
function applyMinP(logprobs: Float64Array, minP: number, minKeep: number): void {
  const order = descending(logprobs);
  const threshold = logprobs[order[0]] + Math.log(minP);
  for (let rank = minKeep; rank < order.length; rank++) {
    if (logprobs[order[rank]] < threshold) logprobs[order[rank]] = Number.NEGATIVE_INFINITY;
  }
}

/** mlx-lm apply_top_k: keep the k most likely tokens. */
function applyTopK(logprobs: Float64Array, k: number): void {
  const order = descending(logprobs);
  for (let rank = k; rank < order.length; rank++) logprobs[order[rank]] = Number.NEGATIVE_INFINITY;
}
