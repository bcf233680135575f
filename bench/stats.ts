/**
 * Summary statistics of timing samples. Pure functions: the harness and the tests share them.
 * Percentiles interpolate linearly between the two closest ranks (NumPy's default, "R7"),
 * so p50 equals the median and a single sample is every percentile.
 */

export interface Stats {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p90: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single sample. */
  readonly stddev: number;
}

function sortedCopy(samples: readonly number[], what: string): number[] {
  if (samples.length === 0) throw new RangeError(`${what}: no samples (measure at least one run)`);
  for (const s of samples) {
    if (!Number.isFinite(s)) throw new RangeError(`${what}: sample ${s} is not a finite number`);
  }
  return [...samples].sort((a, b) => a - b);
}

/** The q-quantile (0 ≤ q ≤ 1) of `sorted`, which must be ascending and non-empty. */
function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be within 0..100, got ${p}`);
  return quantileSorted(sortedCopy(samples, 'percentile'), p / 100);
}

export function median(samples: readonly number[]): number {
  return quantileSorted(sortedCopy(samples, 'median'), 0.5);
}

export function summarize(samples: readonly number[]): Stats {
  const sorted = sortedCopy(samples, 'summarize');
  const n = sorted.length;
  const mean = sorted.reduce((s, x) => s + x, 0) / n;
  const variance = n > 1 ? sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0;
  return {
    n,
    median: quantileSorted(sorted, 0.5),
    min: sorted[0],
    max: sorted[n - 1],
    mean,
    p90: quantileSorted(sorted, 0.9),
    stddev: Math.sqrt(variance),
  };
}

/** GFLOP/s for `flops` floating-point operations done in `ms` milliseconds; null when either is unknown. */
export function gflops(flops: number | null, ms: number): number | null {
  if (flops === null || !(ms > 0)) return null;
  return flops / (ms * 1e6);
}
