import { describe, expect, it } from 'vitest';
import { measure, noiseNotes, seededData, withBaseline } from '../../bench/harness.js';
import { measureParallelism } from '../../bench/machine.js';
import { compareCase, relativeError, splitRuns } from '../../bench/peers-suite.js';
import { adapterFromDetails, type BenchRecord, recordLabel } from '../../bench/record.js';
import { summarize } from '../../bench/stats.js';
import { fallbackNotes, parseBackendList } from '../../bench/toolkit.js';
import { type CaseFields, testMachine, timedRecord } from '../helpers/bench.js';

const matmul4: CaseFields = {
  suite: 'peers',
  op: 'matmul',
  size: 4,
  shape: '[4,4]x[4,4]',
  dtype: 'f32',
  flops: 128,
  machine: testMachine(),
  adapter: null,
};

const rec = (backend: string, kind: 'toolkit' | 'peer', threads: number | null, ms: number): BenchRecord =>
  timedRecord(matmul4, backend, kind, threads, ms);

describe('measure', () => {
  it('runs the warm-ups untimed, then times each run with the clock', async () => {
    const ticks = [0, 5, 10, 12, 20, 27];
    let clock = 0;
    const events: string[] = [];
    const m = await measure(
      async () => {
        events.push('run');
      },
      { warmup: 2, runs: 3, now: () => ticks[clock++] },
    );
    expect(events).toHaveLength(5);
    // Samples are the differences of consecutive clock reads around each timed run.
    expect(m.samples).toEqual([5, 2, 7]);
    expect(m.stats.median).toBe(5);
    expect(m.runs).toBe(3);
    expect(m.warmup).toBe(2);
  });

  it('awaits each run before starting the next', async () => {
    let active = 0;
    let overlap = false;
    await measure(
      async () => {
        active++;
        if (active > 1) overlap = true;
        await new Promise((r) => setTimeout(r, 1));
        active--;
      },
      { warmup: 1, runs: 3 },
    );
    expect(overlap).toBe(false);
  });

  it('drops the runs that would overrun the budget, keeping at least one timed run', async () => {
    // Each run advances the fake clock by 10 ms.
    let t = 0;
    const opts = { now: () => t, warmup: 2, runs: 5 };
    const tick = (): void => {
      t += 10;
    };
    // Warm-ups end at 20 ms; the first timed run ends at 30; a second would end at 40 > 25.
    const cut = await measure(tick, { ...opts, budgetMs: 25 });
    expect(cut).toMatchObject({ warmup: 2, runs: 1, samples: [10] });
    t = 0;
    // Even a budget smaller than one run makes one warm-up and one timed run.
    expect(await measure(tick, { ...opts, budgetMs: 1 })).toMatchObject({ warmup: 1, runs: 1 });
    t = 0;
    expect(await measure(tick, { ...opts, budgetMs: 1000 })).toMatchObject({ warmup: 2, runs: 5 });
  });

  it('keeps warming up until warmupMs has passed, within the budget', async () => {
    let t = 0;
    const tick = (): void => {
      t += 10;
    };
    // One warm-up is asked for, but warm-up lasts until 35 ms: runs ending at 10, 20, 30, 40.
    expect(await measure(tick, { now: () => t, warmup: 1, runs: 2, warmupMs: 35 })).toMatchObject({
      warmup: 4,
      runs: 2,
    });
    t = 0;
    // The budget still wins: 45 ms leaves room for 3 warm-ups and one timed run.
    expect(await measure(tick, { now: () => t, warmup: 1, runs: 2, warmupMs: 1000, budgetMs: 45 })).toMatchObject({
      warmup: 4,
      runs: 1,
    });
  });

  it('rejects bad counts and stops when aborted', async () => {
    await expect(measure(() => {}, { warmup: 0, runs: 0 })).rejects.toThrow(/runs must be an integer ≥ 1/);
    await expect(measure(() => {}, { warmup: -1, runs: 1 })).rejects.toThrow(/warmup/);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(measure(() => {}, { warmup: 0, runs: 1, signal: ac.signal })).rejects.toThrow('stop');
  });
});

describe('seededData', () => {
  it('is the same for the same seed, different for another, and within [-1, 1)', () => {
    const a = seededData(1000, 7);
    expect(seededData(1000, 7)).toEqual(a);
    expect(seededData(1000, 8)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a)).toBeLessThan(1);
  });
});

describe('records and ratios', () => {
  it('computes GFLOPS at the median and the baseline ratio as baseline ÷ record', () => {
    const js = rec('js', 'toolkit', 1, 40);
    const fast = withBaseline(rec('native', 'toolkit', 1, 10), js, 'js');
    // 128 FLOPs in 10 ms.
    expect(fast.gflops).toBeCloseTo(128 / 1e7, 15);
    expect(fast.baseline).toBe('js');
    expect(fast.ratio).toBe(4);
  });

  it('compares each toolkit backend with its peer at the same threads, and scales threads against 1t', () => {
    const out = compareCase([
      rec('onnxruntime-node', 'peer', 1, 12),
      rec('onnxruntime-node', 'peer', 2, 6),
      rec('onnxruntime-web', 'peer', 1, 30),
      rec('native', 'toolkit', 1, 8),
      rec('native', 'toolkit', 2, 5),
      rec('wasm', 'toolkit', 1, 20),
      rec('js', 'toolkit', 1, 600),
    ]);
    const by = (label: string) => out.find((r) => recordLabel(r) === label)!;
    expect(by('native 1t').ratio).toBe(12 / 8);
    expect(by('native 1t').baseline).toBe('onnxruntime-node 1t');
    expect(by('native 2t').ratio).toBe(6 / 5);
    expect(by('native 2t').ratios).toEqual({ 'native 1t': 8 / 5 });
    expect(by('onnxruntime-node 2t').ratios).toEqual({ 'onnxruntime-node 1t': 2 });
    expect(by('wasm 1t').ratio).toBe(30 / 20);
    expect(by('js').baseline).toBe('onnxruntime-node 1t');
    expect(by('js').ratio).toBe(12 / 600);
    expect(by('onnxruntime-web 1t').ratio).toBeNull();
  });

  it('measures output agreement relative to the reference magnitude', () => {
    expect(relativeError(Float32Array.of(1, 2, 10), Float32Array.of(1, 2, 10))).toBe(0);
    // |10.5 − 10| / 10
    expect(relativeError(Float32Array.of(1, 2, 10.5), Float32Array.of(1, 2, 10))).toBeCloseTo(0.05, 7);
    expect(relativeError(Float32Array.of(1), Float32Array.of(1, 2))).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('adapterFromDetails', () => {
  it('marks fallback adapters and SwiftShader as emulated, a real GPU not', () => {
    const swift = adapterFromDetails({
      description: 'SwiftShader Device (Subzero)',
      vendor: 'google',
      architecture: 'swiftshader',
      isFallbackAdapter: false,
    });
    expect(swift?.emulated).toBe(true);
    const fallback = adapterFromDetails({
      description: 'Some adapter',
      vendor: 'x',
      architecture: 'y',
      isFallbackAdapter: true,
    });
    expect(fallback?.emulated).toBe(true);
    const gpu = adapterFromDetails({
      description: 'NVIDIA H100 80GB HBM3',
      vendor: 'nvidia',
      architecture: 'hopper',
      isFallbackAdapter: false,
      emulated: false,
    });
    expect(gpu).toEqual({
      description: 'NVIDIA H100 80GB HBM3',
      vendor: 'nvidia',
      architecture: 'hopper',
      isFallbackAdapter: false,
      emulated: false,
    });
    expect(adapterFromDetails(undefined)).toBeNull();
  });
});

describe('run planning and caveats', () => {
  it('spreads runs over rounds evenly, remainder first, never more rounds than runs', () => {
    expect(splitRuns(10, 5)).toEqual([2, 2, 2, 2, 2]);
    expect(splitRuns(7, 3)).toEqual([3, 2, 2]);
    expect(splitRuns(2, 5)).toEqual([1, 1]);
    expect(splitRuns(1, 1)).toEqual([1]);
  });

  it('flags a measurement whose p90 is over 1.5× its median, only with enough runs', () => {
    const m = (samples: number[]) => ({ samples, stats: summarize(samples), warmup: 0, runs: samples.length });
    // p90 of [10,10,10,10,40]: position 3.6 → 10 + 0.6·30 = 28 = 2.8× the median 10.
    expect(noiseNotes(m([10, 10, 10, 10, 40]))).toEqual(['noisy: p90 is 2.8× the median']);
    expect(noiseNotes(m([10, 11, 10, 12, 11]))).toEqual([]);
    expect(noiseNotes(m([10, 40]))).toEqual([]);
  });

  it('names every fallback-ledger entry of a measurement', () => {
    const notes = fallbackNotes([
      { op: 'conv2d', kind: 'fallback', from: 'webgpu', to: 'js', why: 'webgpu has no kernel for it', count: 3 },
      { op: 'add', kind: 'reference', from: 'native', to: 'js', why: 'no native code for f64, f64 inputs', count: 1 },
      { op: 'mul', kind: 'copy', from: 'js', to: 'wasm', why: 'an input was made on js', count: 2 },
    ]);
    expect(notes).toEqual([
      "conv2d ran on js through per-op fallback (webgpu has no kernel for it): this is js's speed, not webgpu's",
      "add ran the js reference kernel on native (no native code for f64, f64 inputs): not native's kernel speed",
      'mul copied an input from js to wasm on every run (an input was made on js)',
    ]);
    expect(fallbackNotes([])).toEqual([]);
  });

  it('parses backend lists, expanding all and refusing unknown names', () => {
    expect(parseBackendList('webgpu, js,webgpu')).toEqual(['webgpu', 'js']);
    expect(parseBackendList('all')).toEqual(['js', 'wasm', 'webgpu', 'native']);
    expect(() => parseBackendList('js,cuda')).toThrow(/unknown backend 'cuda'/);
    expect(() => parseBackendList(' , ')).toThrow(/no backend named/);
  });
});

describe('measureParallelism', () => {
  it('reports CPU-seconds per second of busy threads: positive and not above the thread count', async () => {
    const got = await measureParallelism(2, 100);
    expect(got).toBeGreaterThan(0);
    // The main thread only waits, so the process cannot use more than the two spinning threads (plus slack for start-up).
    expect(got).toBeLessThan(2.5);
  });
});
