/**
 * Round-robin measurement, shared by the suites that compare runtimes head to head
 * (`bench:peers`, `bench:style`): every runtime ("contestant") takes its share of the
 * timed runs in each round, so a slow spell on a shared machine lands on all of them
 * instead of on whichever happened to run then. A contestant may be limited to one run
 * (a slow reference) or to a time budget; it keeps at least one timed run either way.
 */
import type { FallbackEntry } from '../core/ledger.js';
import type { Measurement } from './harness.js';
import { addFallbacks } from './record.js';
import { summarize } from './stats.js';

/** What one round of one contestant gives back. */
export interface RoundResult {
  readonly samples: readonly number[];
  /** Its output (the last run's), for checking that every runtime computed the same thing. */
  readonly output?: Float32Array;
  readonly notes?: readonly string[];
  /** The fallback ledger's entries for this round's runs (toolkit contestants). */
  readonly fallbacks?: readonly FallbackEntry[];
  /** The thread count really in effect, when it differs from the one asked for. */
  readonly threads?: number;
}

/**
 * One round of a contestant: `warmup` untimed runs, then `runs` timed runs. `budgetMs` is what
 * is left of its time budget (Infinity without one): a round should drop runs that would overrun it.
 */
export type RoundFn = (warmup: number, runs: number, budgetMs: number) => Promise<RoundResult>;

/** One runtime at one thread count, accumulating samples over the rounds. */
export interface Contestant {
  readonly label: string;
  readonly backend: string;
  readonly kind: 'toolkit' | 'peer';
  threads: number;
  readonly samples: number[];
  readonly notes: Set<string>;
  /** Its fallback ledger entries over all rounds. */
  fallbacks: FallbackEntry[];
  output?: Float32Array;
  failed: boolean;
  /** Measured in the first round only, with one run and no warm-up (a slow reference kernel). */
  once: boolean;
  /** Milliseconds this contestant may spend in all (warm-ups included); Infinity: no limit. */
  budgetMs: number;
  /** Milliseconds spent so far, warm-ups and rounds included. */
  spentMs: number;
  /** Warm-up runs made (first round). */
  warmup: number;
  round: RoundFn;
}

export function contestant(
  backend: string,
  kind: 'toolkit' | 'peer',
  threads: number,
  round: RoundFn,
  label = backend === 'js' ? 'js' : `${backend} ${threads}t`,
): Contestant {
  return {
    label,
    backend,
    kind,
    threads,
    samples: [],
    notes: new Set(),
    fallbacks: [],
    failed: false,
    once: false,
    budgetMs: Number.POSITIVE_INFINITY,
    spentMs: 0,
    warmup: 0,
    round,
  };
}

/**
 * `runs` spread over `rounds` rounds as evenly as possible (earlier rounds take the remainder);
 * never more rounds than runs.
 */
export function splitRuns(runs: number, rounds: number): number[] {
  const k = Math.max(1, Math.min(rounds, runs));
  const base = Math.floor(runs / k);
  return Array.from({ length: k }, (_, i) => base + (i < runs % k ? 1 : 0));
}

/** A measurement built from samples gathered over several rounds. */
export function fromSamples(samples: readonly number[], warmup: number): Measurement {
  return { samples, stats: summarize(samples), warmup, runs: samples.length };
}

/** Untimed runs that start each turn after the first round (see RoundsOptions.rewarm). */
export const REWARM = 1;

export interface RoundsOptions {
  /** Timed runs per round (see splitRuns). */
  readonly shares: readonly number[];
  /** Untimed runs per contestant, in the first round. */
  readonly warmup: number;
  /**
   * Untimed runs at the start of each later turn (default 0): the runtimes before it evicted
   * its data and code from the caches, and its first run would time that, not its speed.
   */
  readonly rewarm?: number;
  readonly signal?: AbortSignal;
  /** One tick per contestant per round, skipped rounds included, so progress always reaches its total. */
  readonly onMeasured?: (label: string) => void;
  /** A contestant threw (other than an abort): it takes no more rounds. */
  readonly onFailure?: (ct: Contestant, err: Error) => void;
  /** Milliseconds clock; default `performance.now`. */
  readonly now?: () => number;
  /**
   * Awaited before each contestant's turn, outside its time (e.g. waitForQuiet): the previous
   * runtime's threads may still be busy after its last run, and that is not the next one's cost.
   */
  readonly settle?: () => Promise<void>;
}

/**
 * Run the contestants round-robin. Failures are reported through `onFailure` and the contestant
 * is dropped from later rounds; an abort (the signal) is rethrown. A contestant whose budget is
 * spent keeps the samples it has and is noted with how many runs it made.
 */
export async function runRounds(contestants: readonly Contestant[], o: RoundsOptions): Promise<void> {
  const now = o.now ?? (() => performance.now());
  const asked = o.shares.reduce((a, b) => a + b, 0);
  for (const [r, share] of o.shares.entries()) {
    for (const ct of contestants) {
      const done = ct.failed || (ct.once && r > 0);
      const broke = !done && r > 0 && ct.samples.length > 0 && ct.spentMs >= ct.budgetMs;
      if (!done && !broke) {
        const warmup = ct.once ? 0 : r === 0 ? o.warmup : (o.rewarm ?? 0);
        await o.settle?.();
        const t0 = now();
        try {
          const got = await ct.round(warmup, ct.once ? 1 : share, ct.budgetMs - ct.spentMs);
          ct.samples.push(...got.samples);
          if (r === 0) ct.warmup = warmup;
          for (const n of got.notes ?? []) ct.notes.add(n);
          ct.fallbacks = addFallbacks(ct.fallbacks, got.fallbacks ?? []);
          if (got.output) ct.output = got.output;
          if (got.threads !== undefined) ct.threads = got.threads;
        } catch (err) {
          if (o.signal?.aborted) throw err;
          ct.failed = true;
          o.onFailure?.(ct, err as Error);
        } finally {
          ct.spentMs += now() - t0;
        }
      }
      o.onMeasured?.(ct.label);
    }
  }
  for (const ct of contestants) {
    if (!ct.failed && !ct.once && Number.isFinite(ct.budgetMs) && ct.samples.length < asked) {
      ct.notes.add(
        `${ct.samples.length} of ${asked} timed runs: its time budget of ${+(ct.budgetMs / 1000).toFixed(3)} s ran out`,
      );
    }
  }
}
