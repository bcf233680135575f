// bench:compare on recorded data: 24 runs of the smoke benchmark (bench/smoke.sh's command) recorded
// on the 2-core development VM while it was shared (load average 12–17), one commit throughout.
// Every window of 10 base runs and the 3 runs after them is an unchanged comparison; the same
// window with the head runs' times × 1.3 is an injected 30% slowdown.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareHistory } from '../../bench/compare.js';
import { type HistoryRun, parseHistory } from '../../bench/history.js';
import { argvOf, runCli } from '../helpers/run-cli.js';

const FILE = new URL('./fixtures/smoke-history-recorded.jsonl', import.meta.url);
const recorded = parseHistory(readFileSync(FILE, 'utf8'), 'smoke-history-recorded.jsonl');
const BASE = 10;
const HEAD = 3;

/** Base runs i … i+9 as commits base0…, then the next 3 runs as commit `head` with their times × `factor`. */
function window(start: number, factor: number): HistoryRun[] {
  return recorded
    .slice(start, start + BASE + HEAD)
    .map((r, i) =>
      i < BASE
        ? { ...r, commit: `ba5e${i}` }
        : { ...r, commit: 'deadbeef', cases: r.cases.map((c) => ({ ...c, medianMs: c.medianMs * factor })) },
    );
}

const starts = Array.from({ length: recorded.length - BASE - HEAD + 1 }, (_, i) => i);
const compare = (runs: HistoryRun[]) =>
  compareHistory(runs, { head: { kind: 'commit', commit: 'deadbeef' }, base: { kind: 'last', n: BASE } });

describe('bench:compare on recorded smoke runs', () => {
  it('the recording is what the smoke benchmark measures: one machine, ten cases per run', () => {
    expect(recorded).toHaveLength(24);
    expect(new Set(recorded.map((r) => r.machineKey)).size).toBe(1);
    expect(recorded.every((r) => r.cases.length === 10)).toBe(true);
    const smoke = readFileSync(new URL('../../bench/smoke.sh', import.meta.url), 'utf8');
    expect(smoke).toContain('--ops matmul,conv2d --sizes 64,128');
    expect(recorded[0].command).toContain('--ops matmul,conv2d --sizes 64,128 --runs 21 --warmup 3');
  });

  it('an unchanged head passes in every window', () => {
    for (const s of starts) {
      const r = compare(window(s, 1));
      expect(r.comparisons[0].cases.every((c) => c.noiseFrom === 'base' && c.baseRuns === BASE)).toBe(true);
      expect(r.regressions, `window starting at run ${s}`).toBe(0);
    }
  });

  it('an injected 30% slowdown is flagged, and only as a slowdown', () => {
    const flagged = starts.filter((s) => {
      const r = compare(window(s, 1.3));
      expect(r.improvements).toBe(0);
      for (const c of r.comparisons[0].cases.filter((x) => x.verdict === 'regression')) {
        expect(c.changePct).toBeGreaterThan(5);
        expect((c.headMs as number) - (c.baseMs as number)).toBeGreaterThan(c.limitMs as number);
      }
      return r.regressions > 0;
    });
    // Measured on this recording: 10 of its 12 windows flag at least one case. In the other two the
    // machine's noise (3σ of the base) exceeded 30% on every case: the rule then stays silent by design.
    expect(flagged).toHaveLength(10);
  });
});

describe('bench:compare through the CLI on recorded runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eai-compare-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, runs: HistoryRun[]): string => {
    const file = join(dir, name);
    writeFileSync(file, runs.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return file;
  };

  it('--fail-on-regression exits 1 on the slowdown and 0 on the unchanged runs; --out writes the trend page', async () => {
    const slow = write('slow.jsonl', window(5, 1.3));
    const r = await runCli([
      'bench:compare',
      '--history',
      slow,
      '--head',
      'deadbeef',
      '--fail-on-regression',
      '--out',
      dir,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\d+ case\(s\) regressed beyond the noise/);
    const result = JSON.parse(r.out);
    expect(result.regressions).toBeGreaterThan(0);
    const html = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.html')) as string), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(10);
    expect(html).toContain('REGRESSION');

    const same = write('same.jsonl', window(5, 1));
    const ok = await runCli(['bench:compare', '--history', same, '--head', 'deadbeef', '--fail-on-regression']);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('0 regression(s)');
    // Without the flag a regression is reported, not failed.
    const reported = await runCli(['bench:compare', '--history', slow, '--head', 'deadbeef']);
    expect(reported.code).toBe(0);
    expect(reported.err).toContain('reported only: add --fail-on-regression to fail');
  });

  it('bad references and files are usage errors that say what is wrong', async () => {
    const file = write('h.jsonl', window(0, 1));
    const cases: [string[], RegExp][] = [
      [['--head', 'cafe'], /--head: no run of commit cafe in the history/],
      [['--base', 'no/such-ref'], /--base: 'no\/such-ref' is neither a commit hash .* nor a git ref/],
      [['--suite', 'style'], /the history has no runs of suite 'style'/],
    ];
    for (const [extra, message] of cases) {
      const r = await runCli(['bench:compare', '--history', file, ...extra]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    }
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"v":1,\n');
    const r = await runCli(['bench:compare', '--history', broken]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.jsonl:1: not a JSON line/);
  });

  it('bench:ops --history appends a run keyed by commit and machine that bench:compare reads', async () => {
    const file = join(dir, 'sub', 'ops.jsonl');
    const argv = argvOf('bench:ops', { backends: 'js', ops: 'add', sizes: 8, runs: 2, warmup: 0, history: file });
    for (let i = 0; i < 2; i++) expect((await runCli(argv)).code).toBe(0);
    const runs = parseHistory(readFileSync(file, 'utf8'), file);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({ suite: 'ops', cases: [{ key: 'add [8,8]x[8,8] js f32', backend: 'js' }] });
    expect(runs[0].commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
    const r = await runCli(['bench:compare', '--history', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).comparisons[0].base).toHaveLength(1);
  });
});
