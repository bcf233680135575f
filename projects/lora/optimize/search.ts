/**
 * Hyperparameter search for lora:optimize (the seed's Optuna study): a search space of training keys, a
 * sampler that draws at random for the first `startup` trials and then by TPE (the tree-structured Parzen
 * estimator: candidates drawn from a density fitted to the best quarter of finished trials, the one with the
 * highest ratio of that density to the rest's kept), and median-stopping pruning (a trial whose validation
 * loss at an iteration is above the median of the finished trials' at that iteration stops there).
 * Deterministic: trial n's parameters depend only on the seed, n and the finished trials. Browser-safe.
 * @module
 */
import { UsageError } from '../../../core/errors.js';
import { Rng } from '../../../core/random.js';

export type ParamSpec =
  | { readonly type: 'loguniform' | 'uniform'; readonly low: number; readonly high: number }
  | { readonly type: 'int'; readonly low: number; readonly high: number }
  | { readonly type: 'choice'; readonly values: readonly number[] };

export type SearchSpace = Readonly<Record<string, ParamSpec>>;

/** Keys a search space may set: lora_parameters' fields and top-level training keys. */
export const SEARCHABLE = ['learning_rate', 'rank', 'scale', 'dropout', 'num_layers', 'batch_size'] as const;

export const DEFAULT_SPACE: SearchSpace = {
  learning_rate: { type: 'loguniform', low: 1e-5, high: 1e-2 },
  rank: { type: 'choice', values: [4, 8, 16] },
  scale: { type: 'choice', values: [10, 20] },
  dropout: { type: 'uniform', low: 0, high: 0.2 },
};

export type Params = Readonly<Record<string, number>>;

export interface FinishedTrial {
  readonly params: Params;
  /** The objective (final validation loss); lower is better. */
  readonly value: number;
}

/** Check a search space from a config file; errors name the key. */
export function checkSpace(space: unknown, where: string): SearchSpace {
  if (typeof space !== 'object' || space === null || Array.isArray(space)) {
    throw new UsageError(`${where}: search_space must map keys (${SEARCHABLE.join(', ')}) to {type, ...}`);
  }
  for (const [k, p] of Object.entries(space as Record<string, ParamSpec>)) {
    const at = `${where}: search_space.${k}`;
    if (!(SEARCHABLE as readonly string[]).includes(k))
      throw new UsageError(`${at}: not searchable (${SEARCHABLE.join(', ')})`);
    if (p.type === 'choice') {
      if (!Array.isArray(p.values) || p.values.length === 0 || p.values.some((v) => !Number.isFinite(v))) {
        throw new UsageError(`${at}: a choice needs values: [numbers]`);
      }
    } else if (p.type === 'uniform' || p.type === 'loguniform' || p.type === 'int') {
      if (
        !(Number.isFinite(p.low) && Number.isFinite(p.high) && p.low < p.high) ||
        (p.type === 'loguniform' && p.low <= 0)
      ) {
        throw new UsageError(`${at}: needs low < high${p.type === 'loguniform' ? ', both above 0' : ''}`);
      }
    } else {
      throw new UsageError(`${at}: type must be uniform, loguniform, int or choice`);
    }
  }
  return space as SearchSpace;
}

/** Numeric parameters are searched in this space: log for loguniform. */
const toUnit = (p: ParamSpec, v: number) => (p.type === 'loguniform' ? Math.log(v) : v);
const fromUnit = (p: ParamSpec, u: number) =>
  p.type === 'loguniform' ? Math.exp(u) : p.type === 'int' ? Math.round(u) : u;
const bounds = (p: Exclude<ParamSpec, { type: 'choice' }>): [number, number] =>
  p.type === 'loguniform' ? [Math.log(p.low), Math.log(p.high)] : [p.low, p.high];

function randomValue(p: ParamSpec, rng: Rng): number {
  if (p.type === 'choice') return p.values[rng.int(p.values.length)];
  const [lo, hi] = bounds(p);
  return fromUnit(p, lo + rng.uniform() * (hi - lo));
}

/** A 1-D Parzen density: Gaussians at the points (bandwidth from their spread) plus a uniform prior. */
function parzen(points: readonly number[], lo: number, hi: number) {
  const width = hi - lo;
  const sigma = Math.max(width / Math.max(1, points.length), width / 20);
  const n = points.length + 1;
  return {
    density(x: number): number {
      let d = 1 / width;
      for (const m of points) d += Math.exp(-0.5 * ((x - m) / sigma) ** 2) / (sigma * Math.sqrt(2 * Math.PI));
      return d / n;
    },
    sample(rng: Rng): number {
      const k = rng.int(n);
      if (k === points.length) return lo + rng.uniform() * width;
      return Math.min(hi, Math.max(lo, points[k] + sigma * rng.normal()));
    },
  };
}

const CANDIDATES = 24;
const GAMMA = 0.25;

/** Parameters for trial `n`: random for the first `startup` trials, then TPE over the finished ones. */
export function sampleParams(
  space: SearchSpace,
  finished: readonly FinishedTrial[],
  n: number,
  seed: number,
  startup: number,
): Params {
  const rng = new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0);
  const out: Record<string, number> = {};
  if (finished.length < Math.max(1, startup)) {
    for (const [k, p] of Object.entries(space)) out[k] = randomValue(p, rng);
    return out;
  }
  const sorted = [...finished].sort((a, b) => a.value - b.value);
  const split = Math.max(1, Math.ceil(GAMMA * sorted.length));
  const good = sorted.slice(0, split);
  const bad = sorted.length > split ? sorted.slice(split) : sorted;
  for (const [k, p] of Object.entries(space)) {
    if (p.type === 'choice') {
      // Categorical with add-one smoothing.
      const weights = (ts: readonly FinishedTrial[]) =>
        p.values.map((v) => (ts.filter((t) => t.params[k] === v).length + 1) / (ts.length + p.values.length));
      const [l, g] = [weights(good), weights(bad)];
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < CANDIDATES; c++) {
        let u = rng.uniform();
        let i = 0;
        while (i < l.length - 1 && u >= l[i]) u -= l[i++];
        if (l[i] / g[i] > bestScore) [best, bestScore] = [i, l[i] / g[i]];
      }
      out[k] = p.values[best];
      continue;
    }
    const [lo, hi] = bounds(p);
    const l = parzen(
      good.map((t) => toUnit(p, t.params[k])),
      lo,
      hi,
    );
    const g = parzen(
      bad.map((t) => toUnit(p, t.params[k])),
      lo,
      hi,
    );
    let best = lo;
    let bestScore = -Infinity;
    for (let c = 0; c < CANDIDATES; c++) {
      const x = l.sample(rng);
      const score = l.density(x) / g.density(x);
      if (score > bestScore) [best, bestScore] = [x, score];
    }
    out[k] = fromUnit(p, best);
  }
  return out;
}

/**
 * Median stopping: prune when `loss` at `iteration` is above the median of the finished trials' losses at
 * that iteration, once at least `minTrials` of them reported there.
 */
export function shouldPrune(
  curves: readonly (readonly (readonly [number, number])[])[],
  iteration: number,
  loss: number,
  minTrials: number,
): boolean {
  if (iteration === 0) return false;
  const at = curves.flatMap((c) => c.filter(([i]) => i === iteration).map(([, v]) => v)).sort((a, b) => a - b);
  if (at.length < Math.max(1, minTrials)) return false;
  const mid = at.length >> 1;
  const median = at.length % 2 ? at[mid] : (at[mid - 1] + at[mid]) / 2;
  return loss > median;
}
