/**
 * Measuring one thing: warm-up runs, then N timed runs, each awaiting completion of its
 * work (the caller's `run` must not resolve before the result exists: asynchronous
 * backends sync or read back inside it). Inputs are seeded so every backend and peer
 * sees the same numbers, run after run.
 */
import type { FallbackEntry } from '../core/ledger.js';
import { Rng } from '../core/random.js';
import type { AdapterInfo, BenchRecord, MachineInfo, OutputCheck } from './record.js';
import { gflops, type Stats, summarize } from './stats.js';

export interface MeasureOptions {
  /** Untimed runs first (JIT, caches, pipeline compilation). */
  readonly warmup: number;
  /** Timed runs; at least 1. */
  readonly runs: number;
  /** Stops between runs (Ctrl-C in the CLI). */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds the whole measurement may take: remaining warm-ups and runs are dropped once
   * the next one would overrun it (at least one timed run is always made). Default: no limit.
   */
  readonly budgetMs?: number;
  /**
   * Keep warming up (past `warmup` runs) until this many milliseconds of warm-up have passed:
   * a GPU idling at low clocks (while a CPU baseline ran) needs time, not a run count, to wake.
   * Bounded by `budgetMs` like every warm-up. Default 0.
   */
  readonly warmupMs?: number;
  /** Milliseconds clock; default `performance.now`. */
  readonly now?: () => number;
}

export interface Measurement {
  /** Milliseconds per timed run, in run order. */
  readonly samples: readonly number[];
  readonly stats: Stats;
  /** Warm-up runs made. */
  readonly warmup: number;
  /** Timed runs made (fewer than asked for when the budget ran out). */
  readonly runs: number;
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`measure: ${name} must be an integer ≥ ${min}, got ${value}`);
  }
}

/** Time `run` (awaited each time). Throws what `run` throws; aborts between runs. */
export async function measure(run: () => Promise<void> | void, options: MeasureOptions): Promise<Measurement> {
  checkCount('warmup', options.warmup, 0);
  checkCount('runs', options.runs, 1);
  const now = options.now ?? (() => performance.now());
  const stop = (): void => {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('benchmark aborted');
  };
  const budget = options.budgetMs ?? Number.POSITIVE_INFINITY;
  const limited = Number.isFinite(budget);
  const start = limited ? now() : 0;
  // The longest run so far predicts whether the next one still fits the budget.
  let longest = 0;
  const fits = (): boolean => !limited || now() - start + longest <= budget;
  const warmupMs = options.warmupMs ?? 0;
  // Warm-ups read the clock only when something depends on it.
  const clocked = limited || warmupMs > 0;
  const warmStart = warmupMs > 0 ? now() : 0;
  const warming = (n: number): boolean => n < options.warmup || (warmupMs > 0 && now() - warmStart < warmupMs);
  let warm = 0;
  for (; warming(warm); warm++) {
    stop();
    if (warm > 0 && !fits()) break;
    const t0 = clocked ? now() : 0;
    await run();
    if (clocked) longest = Math.max(longest, now() - t0);
  }
  const samples: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    stop();
    if (i > 0 && !fits()) break;
    const t0 = now();
    await run();
    const ms = now() - t0;
    samples.push(ms);
    longest = Math.max(longest, ms);
  }
  return { samples, stats: summarize(samples), warmup: warm, runs: samples.length };
}

/** Uniform values in [-1, 1) from `seed`: the same array for the same (length, seed) everywhere. */
export function seededData(length: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.uniform() * 2 - 1;
  return out;
}

/** What a record says besides its timings. */
export interface RecordFields {
  readonly suite: string;
  readonly op: string;
  readonly size: number;
  readonly shape: string;
  readonly backend: string;
  readonly kind: 'toolkit' | 'peer';
  readonly threads: number | null;
  readonly dtype: string;
  readonly flops: number | null;
  readonly machine: MachineInfo;
  readonly adapter: AdapterInfo | null;
  readonly notes?: readonly string[];
  readonly fallbacks?: readonly FallbackEntry[];
  readonly check?: OutputCheck;
}

/** p90 above this multiple of the median marks a record noisy (a busy or shared machine). */
export const NOISY_P90_RATIO = 1.5;

/** The caveat for a spread-out measurement, or none (too few runs to tell, or steady). */
export function noiseNotes(m: Measurement): string[] {
  if (m.samples.length < 5 || m.stats.p90 <= NOISY_P90_RATIO * m.stats.median) return [];
  return [`noisy: p90 is ${(m.stats.p90 / m.stats.median).toFixed(1)}× the median`];
}

/** A record without comparisons; {@link compare} fills `baseline`, `ratio` and `ratios`. */
export function makeRecord(fields: RecordFields, m: Measurement): BenchRecord {
  return {
    suite: fields.suite,
    op: fields.op,
    size: fields.size,
    shape: fields.shape,
    backend: fields.backend,
    kind: fields.kind,
    threads: fields.threads,
    dtype: fields.dtype,
    medianMs: m.stats.median,
    minMs: m.stats.min,
    p90Ms: m.stats.p90,
    meanMs: m.stats.mean,
    stddevMs: m.stats.stddev,
    flops: fields.flops,
    gflops: gflops(fields.flops, m.stats.median),
    runs: m.runs,
    warmup: m.warmup,
    machine: fields.machine,
    adapter: fields.adapter,
    baseline: null,
    ratio: null,
    ratios: {},
    notes: [...(fields.notes ?? []), ...noiseNotes(m)],
    fallbacks: fields.fallbacks ?? [],
    ...(fields.check ? { check: fields.check } : {}),
  };
}

/**
 * Set `record`'s primary comparison: `baseline`'s median ÷ its median (above 1: faster).
 * Both must come from the same run on the same inputs; the caller guarantees that.
 */
export function withBaseline(record: BenchRecord, baseline: BenchRecord | undefined, label: string): BenchRecord {
  if (!baseline) return record;
  return { ...record, baseline: label, ratio: baseline.medianMs / record.medianMs };
}

/** Add a secondary comparison (thread scaling, another peer) under `label`. */
export function withRatio(record: BenchRecord, other: BenchRecord | undefined, label: string): BenchRecord {
  if (!other) return record;
  return { ...record, ratios: { ...record.ratios, [label]: other.medianMs / record.medianMs } };
}
