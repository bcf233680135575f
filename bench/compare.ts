/**
 * Regression alerts from the benchmark history: head runs (the latest, or a commit's) against
 * base runs (a commit's, or the last N before the head on the same machine). Each run gives a
 * case one number, its median time. A case regressed when the head is slower than the base by
 * more than both `mads` MADs of the noise measured in the history and `percent` per cent; an
 * improvement is the same the other way.
 *
 * - The noise is the MAD of the case over the base runs (three or more), else over every earlier
 *   run of the case on that machine, scaled by 1.4826 as R's mad() does, so that it estimates the
 *   standard deviation of normal noise (3 MADs ≈ 3σ). With fewer than three runs only the
 *   percentage applies, and the comparison says so.
 * - Like is compared with like: with K head runs, the head is their fastest and the base is the
 *   1/(K+1) quantile of the base runs — the quantile the fastest of K runs lands on on average.
 *   Load on a shared machine only ever adds time, so repeating the head run (CI runs the smoke
 *   benchmark three times) cuts false alarms without hiding a slowdown; K = 1 compares the one
 *   head run with the base median.
 */
import type { HistoryCase, HistoryRun } from './history.js';
import { median, percentile } from './stats.js';

export interface Thresholds {
  /** How many median absolute deviations a change must exceed. */
  readonly mads: number;
  /** How many per cent of the base median it must also exceed. */
  readonly percent: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { mads: 3, percent: 5 };

/** Which runs: those of a commit (hash prefix), the latest run, or the last `n` runs before the head. */
export type Selector =
  | { readonly kind: 'commit'; readonly commit: string }
  | { readonly kind: 'latest' }
  | { readonly kind: 'last'; readonly n: number };

export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'new' | 'missing';

export interface CaseComparison {
  readonly key: string;
  readonly op: string;
  readonly shape: string;
  readonly backend: string;
  readonly dtype: string;
  /** The base level: the 1/(K+1) quantile of the base runs' times (K head runs; the median for one); null without base. */
  readonly baseMs: number | null;
  /** The fastest head run's time; null when no head run has the case. */
  readonly headMs: number | null;
  readonly baseRuns: number;
  /** (head − base) ÷ base × 100: positive is slower. */
  readonly changePct: number | null;
  /** The noise: the case's scaled median absolute deviation (≈ σ), ms; null when fewer than 3 runs had it. */
  readonly madMs: number | null;
  /** Runs the MAD came from, and whether they were the base runs or the case's whole history on the machine. */
  readonly noiseRuns: number;
  readonly noiseFrom: 'base' | 'history' | null;
  /** The slowdown (ms) beyond which the case counts as regressed: max(mads × MAD, percent of base). */
  readonly limitMs: number | null;
  readonly verdict: Verdict;
}

export interface RunRef {
  readonly commit: string;
  readonly dirty: boolean;
  readonly date: string;
  /** 0-based line of the run in the history (file order). */
  readonly index: number;
}

export interface SuiteComparison {
  readonly suite: string;
  /** The machine key compared on, or `any`. */
  readonly machineKey: string;
  readonly base: readonly RunRef[];
  readonly head: readonly RunRef[];
  readonly cases: readonly CaseComparison[];
  readonly notes: readonly string[];
}

export interface CompareResult {
  readonly thresholds: Thresholds;
  readonly comparisons: readonly SuiteComparison[];
  readonly regressions: number;
  readonly improvements: number;
}

export interface CompareOptions {
  readonly head: Selector;
  readonly base: Selector;
  readonly suite?: string;
  /** A machine key, `any`, or undefined for the head run's own machine. */
  readonly machine?: string;
  readonly thresholds?: Thresholds;
}

/** R's mad(): 1.4826 × the median absolute deviation, which estimates σ for normally distributed values. */
export const MAD_SCALE = 1.4826;

/** Median absolute deviation, scaled by MAD_SCALE. */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return MAD_SCALE * median(values.map((v) => Math.abs(v - m)));
}

const NOISE_MIN_RUNS = 3;

/** The verdict on one case from its base medians, head medians and the history's noise. */
export function judgeCase(
  base: readonly number[],
  head: readonly number[],
  history: readonly number[],
  t: Thresholds,
): Pick<
  CaseComparison,
  'baseMs' | 'headMs' | 'changePct' | 'madMs' | 'noiseRuns' | 'noiseFrom' | 'limitMs' | 'verdict'
> {
  const baseMs = base.length > 0 ? percentile(base, 100 / (Math.max(1, head.length) + 1)) : null;
  const headMs = head.length > 0 ? Math.min(...head) : null;
  const noise = base.length >= NOISE_MIN_RUNS ? base : history.length >= NOISE_MIN_RUNS ? history : [];
  const madMs = noise.length > 0 ? mad(noise) : null;
  const noiseFrom = noise.length === 0 ? null : noise === base ? 'base' : 'history';
  if (baseMs === null || headMs === null) {
    return {
      baseMs,
      headMs,
      changePct: null,
      madMs,
      noiseRuns: noise.length,
      noiseFrom,
      limitMs: null,
      verdict: baseMs === null ? 'new' : 'missing',
    };
  }
  const limitMs = Math.max(t.mads * (madMs ?? 0), (t.percent / 100) * baseMs);
  const delta = headMs - baseMs;
  const verdict = delta > limitMs ? 'regression' : -delta > limitMs ? 'improvement' : 'unchanged';
  return {
    baseMs,
    headMs,
    changePct: (delta / baseMs) * 100,
    madMs,
    noiseRuns: noise.length,
    noiseFrom,
    limitMs,
    verdict,
  };
}

function ref(run: HistoryRun, index: number): RunRef {
  return { commit: run.commit, dirty: run.dirty, date: run.date, index };
}

interface Indexed {
  readonly run: HistoryRun;
  readonly index: number;
}

function selectHead(runs: readonly Indexed[], s: Selector): Indexed[] {
  if (s.kind === 'commit') {
    const hit = runs.filter((r) => r.run.commit.startsWith(s.commit));
    if (hit.length === 0) throw new RangeError(`--head: no run of commit ${s.commit} in the history`);
    return hit;
  }
  if (s.kind === 'last') throw new RangeError('--head takes a commit or the latest run, not the last N');
  const latest = runs.at(-1);
  if (!latest) throw new RangeError('the history has no runs to compare');
  return [latest];
}

const valuesOf = (runs: readonly Indexed[], key: string): number[] =>
  runs.flatMap((r) => r.run.cases.filter((c) => c.key === key).map((c) => c.medianMs));

/** Compare head runs with base runs, per suite and machine. @throws RangeError when a selector matches nothing. */
export function compareHistory(history: readonly HistoryRun[], o: CompareOptions): CompareResult {
  const t = o.thresholds ?? DEFAULT_THRESHOLDS;
  const all = history.map((run, index) => ({ run, index })).filter((r) => !o.suite || r.run.suite === o.suite);
  if (all.length === 0) {
    throw new RangeError(o.suite ? `the history has no runs of suite '${o.suite}'` : 'the history has no runs');
  }
  const head = selectHead(all, o.head);
  const groups = new Map<string, Indexed[]>();
  for (const h of head) {
    const machine = o.machine ?? h.run.machineKey;
    const k = `${h.run.suite}\u0000${machine}`;
    groups.set(k, [...(groups.get(k) ?? []), h]);
  }
  const comparisons: SuiteComparison[] = [];
  for (const [k, heads] of groups) {
    const [suite, machine] = k.split('\u0000');
    const headSet = new Set(heads.map((h) => h.index));
    const candidates = all.filter(
      (r) => r.run.suite === suite && (machine === 'any' || r.run.machineKey === machine) && !headSet.has(r.index),
    );
    const firstHead = Math.min(...heads.map((h) => h.index));
    const before = candidates.filter((r) => r.index < firstHead);
    let base: Indexed[];
    if (o.base.kind === 'commit') {
      const prefix = o.base.commit;
      base = candidates.filter((r) => r.run.commit.startsWith(prefix));
    } else if (o.base.kind === 'last') base = before.slice(-o.base.n);
    else base = before.slice(-1);
    const notes: string[] = [];
    if (base.length === 0) {
      notes.push(
        `no base run of ${suite} on ${machine === 'any' ? 'any machine' : `machine ${machine}`}` +
          (o.base.kind === 'commit' ? ` at commit ${o.base.commit}` : ' before the head run') +
          (machine === 'any' ? '' : '; --machine any compares across machines (timings then say little)'),
      );
    }
    if (machine === 'any' && new Set([...base, ...heads].map((r) => r.run.machineKey)).size > 1) {
      notes.push('base and head ran on different machines: the differences include the machines, not only the code');
    }
    if (heads.some((h) => h.run.dirty)) notes.push('the head run had uncommitted changes');
    const keys = new Map<string, HistoryCase>();
    for (const r of [...base, ...heads]) for (const c of r.run.cases) if (!keys.has(c.key)) keys.set(c.key, c);
    const cases = [...keys.values()].map((c): CaseComparison => {
      const baseValues = valuesOf(base, c.key);
      const judged = judgeCase(baseValues, valuesOf(heads, c.key), valuesOf(before, c.key), t);
      return {
        key: c.key,
        op: c.op,
        shape: c.shape,
        backend: c.backend,
        dtype: c.dtype,
        baseRuns: baseValues.length,
        ...judged,
      };
    });
    if (cases.some((c) => c.noiseFrom === null && c.verdict !== 'new')) {
      notes.push(`cases with fewer than ${NOISE_MIN_RUNS} runs are judged on the ${t.percent}% threshold alone`);
    }
    comparisons.push({
      suite,
      machineKey: machine,
      base: base.map((r) => ref(r.run, r.index)),
      head: heads.map((r) => ref(r.run, r.index)),
      cases,
      notes,
    });
  }
  const count = (v: Verdict): number =>
    comparisons.reduce((n, c) => n + c.cases.filter((x) => x.verdict === v).length, 0);
  return { thresholds: t, comparisons, regressions: count('regression'), improvements: count('improvement') };
}

/** Every run of a suite on a machine (or any) holding `key`, in file order: a case's trend. */
export function caseTrend(
  history: readonly HistoryRun[],
  suite: string,
  machine: string,
  key: string,
): { index: number; commit: string; date: string; medianMs: number }[] {
  return history.flatMap((run, index) => {
    if (run.suite !== suite || (machine !== 'any' && run.machineKey !== machine)) return [];
    const c = run.cases.find((x) => x.key === key);
    return c ? [{ index, commit: run.commit, date: run.date, medianMs: c.medianMs }] : [];
  });
}
