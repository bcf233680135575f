import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareHistory, judgeCase, mad, type Thresholds } from '../../bench/compare.js';
import { appendHistory, caseKey, type HistoryRun, machineKey, parseHistory, readHistory } from '../../bench/history.js';
import { compareHtml, compareMarkdown } from '../../bench/writers/compare.js';
import { testMachine } from '../helpers/bench.js';

const T: Thresholds = { mads: 3, percent: 5 };

/** A run with one case per entry of `ms` (keys a, b, …). */
function run(commit: string, ms: Record<string, number>, machine = 'box-2c-linux-x64', suite = 'ops'): HistoryRun {
  return {
    v: 1,
    suite,
    commit,
    dirty: false,
    machineKey: machine,
    machine: testMachine(),
    date: `2026-01-${String(10 + commit.length).padStart(2, '0')}T00:00:00.000Z`,
    command: 'efficientai-toolkit bench:ops',
    cases: Object.entries(ms).map(([key, medianMs]) => ({
      key,
      op: key,
      shape: '[8,8]',
      size: 8,
      backend: 'native 2t',
      dtype: 'f32',
      medianMs,
      minMs: medianMs,
      p90Ms: medianMs,
      runs: 10,
    })),
  };
}

describe('the noise rule', () => {
  it('MAD is the median distance from the median, scaled to estimate σ', () => {
    expect(mad([1, 2, 3, 4, 100])).toBeCloseTo(1.4826, 12);
    expect(mad([5])).toBe(0);
  });

  it('a slowdown regresses only past both 3 MADs and 5%', () => {
    const base = [10, 10.2, 9.8, 10.1, 9.9]; // median 10, MAD 0.1 × 1.4826
    const slow = judgeCase(base, [13], [], T);
    expect(slow).toMatchObject({ verdict: 'regression', noiseFrom: 'base', noiseRuns: 5, limitMs: 0.5 });
    expect(slow.madMs).toBeCloseTo(0.14826, 12);
    expect(judgeCase(base, [10.49], [], T).verdict).toBe('unchanged'); // over 3 MADs (0.44), under 5%
    expect(judgeCase(base, [7], [], T).verdict).toBe('improvement');
    const noisy = [10, 12, 8, 11, 9]; // MAD 1.4826: 3 MADs = 4.45 ms = 44%
    expect(judgeCase(noisy, [14.4], [], T).verdict).toBe('unchanged');
    expect(judgeCase(noisy, [14.5], [], T).verdict).toBe('regression');
    expect(judgeCase(noisy, [14.5], [], T).changePct).toBeCloseTo(45, 9);
  });

  it('with K head runs compares their fastest with the 1/(K+1) quantile of the base', () => {
    const base = [10, 11, 12, 13, 14, 15, 16, 17, 18]; // 25th percentile: 12
    const three = judgeCase(base, [19, 13.5, 20], [], T);
    expect(three).toMatchObject({ baseMs: 12, headMs: 13.5 });
    expect(three.changePct).toBeCloseTo(12.5, 9);
    expect(judgeCase(base, [13.5], [], T).baseMs).toBe(14); // one head run: the base median
  });

  it('takes the noise from the earlier history when the base has fewer than 3 runs, else only the percentage', () => {
    expect(judgeCase([10], [11], [10, 10.5, 9.5, 12], T)).toMatchObject({
      noiseFrom: 'history',
      noiseRuns: 4,
      verdict: 'unchanged',
    });
    expect(judgeCase([10], [10.6], [], T)).toMatchObject({
      madMs: null,
      noiseFrom: null,
      verdict: 'regression',
      limitMs: 0.5,
    });
    expect(judgeCase([], [10], [], T).verdict).toBe('new');
    expect(judgeCase([10], [], [], T).verdict).toBe('missing');
  });
});

describe('compareHistory', () => {
  const history = [
    run('aaaa1', { a: 10, b: 20 }),
    run('other', { a: 1, b: 2 }, 'fast-8c-linux-x64'),
    run('aaaa2', { a: 10.2, b: 20.4 }),
    run('bbbb1', { a: 9.8, b: 19.6 }),
    run('bbbb2', { a: 10.1, b: 20.2 }),
    run('cccc1', { a: 13, b: 20.1, c: 5 }),
  ];

  it('compares the latest run with the last N runs of its machine', () => {
    const r = compareHistory(history, { head: { kind: 'latest' }, base: { kind: 'last', n: 4 } });
    expect(r.comparisons).toHaveLength(1);
    const c = r.comparisons[0];
    expect(c.machineKey).toBe('box-2c-linux-x64');
    expect(c.base.map((x) => x.commit)).toEqual(['aaaa1', 'aaaa2', 'bbbb1', 'bbbb2']);
    expect(c.cases.map((x) => [x.key, x.verdict])).toEqual([
      ['a', 'regression'],
      ['b', 'unchanged'],
      ['c', 'new'],
    ]);
    expect(r.regressions).toBe(1);
  });

  it('selects base and head runs by commit prefix, and says when a base is missing', () => {
    const r = compareHistory(history, {
      head: { kind: 'commit', commit: 'bbbb' },
      base: { kind: 'commit', commit: 'aaaa' },
    });
    const c = r.comparisons[0];
    expect(c.head.map((x) => x.commit)).toEqual(['bbbb1', 'bbbb2']);
    expect(c.base.map((x) => x.commit)).toEqual(['aaaa1', 'aaaa2']);
    expect(c.cases.every((x) => x.verdict === 'unchanged')).toBe(true);
    const none = compareHistory(history, { head: { kind: 'latest' }, base: { kind: 'commit', commit: 'ffff' } });
    expect(none.comparisons[0].notes[0]).toMatch(
      /no base run of ops on machine box-2c-linux-x64 at commit ffff; --machine any/,
    );
    expect(() =>
      compareHistory(history, { head: { kind: 'commit', commit: 'dddd' }, base: { kind: 'last', n: 3 } }),
    ).toThrow('--head: no run of commit dddd in the history');
    expect(() =>
      compareHistory(history, { head: { kind: 'latest' }, base: { kind: 'last', n: 3 }, suite: 'style' }),
    ).toThrow("the history has no runs of suite 'style'");
  });

  it('--machine any mixes machines, and says so', () => {
    const r = compareHistory(history, { head: { kind: 'latest' }, base: { kind: 'last', n: 5 }, machine: 'any' });
    expect(r.comparisons[0].base.map((x) => x.commit)).toContain('other');
    expect(r.comparisons[0].notes).toContain(
      'base and head ran on different machines: the differences include the machines, not only the code',
    );
  });

  it('renders a table and an HTML page with one trend chart per case', () => {
    const r = compareHistory(history, { head: { kind: 'latest' }, base: { kind: 'last', n: 4 } });
    const md = compareMarkdown(r);
    expect(md).toContain('1 regression(s), 0 improvement(s)');
    expect(md).toMatch(
      /\| a \[8,8\] \| native 2t \| 10\.1 \| 13\.0 \| \+29\.4% \| 0\.148 ms \(4 base runs\) \| 0\.503 \| REGRESSION \|/,
    );
    const html = compareHtml(r, history);
    expect(html.match(/<svg /g)).toHaveLength(3);
    // The trend of `a` has the five runs of this machine, not the other machine's.
    const aChart = html.split('<figure>')[1];
    expect(aChart.match(/<circle /g)).toHaveLength(5);
    expect(html).toContain('<figcaption class="warn">a [8,8] native 2t — REGRESSION +29.4%</figcaption>');
  });
});

describe('history files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eai-history-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one JSON line per run, creating the folder, and reads them back in order', async () => {
    const file = join(dir, 'sub', 'history.jsonl');
    expect(await readHistory(file)).toEqual([]);
    await appendHistory(file, run('aaaa1', { a: 1 }));
    await appendHistory(file, run('aaaa2', { a: 2 }));
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')).toHaveLength(3);
    expect((await readHistory(file)).map((r) => r.commit)).toEqual(['aaaa1', 'aaaa2']);
  });

  it('refuses to extend a damaged history, naming the file and line', async () => {
    const file = join(dir, 'history.jsonl');
    writeFileSync(file, `${JSON.stringify(run('aaaa1', { a: 1 }))}\n{"v":1,"suite":"ops"\n`);
    await expect(appendHistory(file, run('x', { a: 1 }))).rejects.toThrow(/history\.jsonl:2: not a JSON line/);
    expect(() => parseHistory('{"v":2}\n', 'h.jsonl')).toThrow('h.jsonl:1: history format v2, this toolkit reads v1');
    expect(() =>
      parseHistory(JSON.stringify({ ...run('a', { a: 1 }), cases: [{ key: 'a', medianMs: 0 }] }), 'h'),
    ).toThrow(/h:1: a case has no key or no positive medianMs/);
  });

  it('names machines and cases stably', () => {
    expect(machineKey(testMachine({ cpu: 'AMD EPYC 7B13 (x2)', os: 'Linux 6.1.0-18' }))).toBe(
      'amd-epyc-7b13-2c-linux-x64',
    );
    expect(
      caseKey({ op: 'matmul', shape: '[8,8]x[8,8]', backend: 'native', threads: 2, kind: 'toolkit', dtype: 'f32' }),
    ).toBe('matmul [8,8]x[8,8] native 2t f32');
  });
});
