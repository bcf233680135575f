// The top-level `test` and `benchmark` commands. `test` runs vitest for real once, on a fixture
// namespace whose declared tests are one small file (never the suite that holds this test).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/record.js';
import { formatTestSummary, summarizeReport, type TestSummary, type VitestReport } from '../../cli/builtins/test.js';
import { argvOf, runCli } from '../helpers/run-cli.js';

const fixtureProjects = fileURLToPath(new URL('./fixtures/test-command/', import.meta.url));
const cli = (argv: string[], env: Record<string, string> = {}) => runCli(argv, { projectsDir: fixtureProjects, env });

describe('test: arguments', () => {
  it.each([
    [['test'], /test: say what to run: --all, or one namespace of empty, tiny/],
    [['test', '--all', 'tiny'], /give --all or a namespace, not both/],
    [['test', 'tinny'], /unknown namespace 'tinny'; choose one of empty, tiny, or --all/],
    [['test', 'empty'], /the empty namespace has no tests yet \(no test\/projects\/empty/],
    [['test', '--bogus'], /unknown option --bogus/],
  ])('%j is a usage error', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it("resolves a namespace (or its seed alias) to its tests and the workflow's declared ones, and warns about missing ones", async () => {
    for (const name of ['tiny', 'tiny-seed-name']) {
      const r = await cli(['test', name, '--list', '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual({
        target: 'tiny',
        paths: ['test/bench/stats.test.ts'],
        missing: ['test/bench/no-such-file.test.ts'],
      });
      expect(r.err).toContain('tiny declares tests in test/bench/no-such-file.test.ts, which does not exist');
    }
    const all = await cli(['test', '--all', '--list']);
    expect(all.out.trim()).toBe('every test file (test/**/*.test.ts)');
  });

  it('maps the real workflows to their own and declared tests', async () => {
    const r = await runCli(['test', 'style-transfer', '--list', '--json']);
    const paths = JSON.parse(r.out).paths as string[];
    expect(paths[0]).toBe('test/projects/style-transfer');
    expect(paths).toContain('test/models/fast-style.test.ts');
  });

  it('refuses to run inside a test run it started', async () => {
    const r = await cli(['test', 'tiny'], { EAI_TEST_RUNNING: '1' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/refusing to run the test suites from inside a test run \(EAI_TEST_RUNNING is set\)/);
  });
});

describe('test: the summary of a vitest report', () => {
  // Recorded from vitest 4 runs: stats.test.ts (5 passing), a file with a pass, a failure, a skip and
  // a todo, and a file that failed to import (paths rewritten to /repo).
  const report = JSON.parse(
    readFileSync(new URL('./fixtures/vitest/failing-report.json', import.meta.url), 'utf8'),
  ) as VitestReport;
  const target = { target: 'sample', paths: ['test/projects/sample'], missing: [] };

  it('counts files and tests, and lists each failure with its first line', () => {
    const s = summarizeReport(report, '/repo', target);
    expect(s).toMatchObject({
      success: false,
      files: { total: 3, failed: 2 },
      tests: { total: 9, passed: 6, failed: 1, skipped: 1, todo: 1 },
    });
    expect(s.failures).toEqual([
      {
        file: 'test/projects/sample/arith.test.ts',
        test: 'arithmetic multiplies wrongly',
        message: 'AssertionError: expected 6 to be 7 // Object.is equality',
      },
      {
        file: 'test/projects/sample/broken.test.ts',
        test: null,
        message: "Cannot find module './missing.js' imported from /repo/test/projects/sample/broken.test.ts",
      },
    ]);
    expect(s.slowest[0].ms).toBeGreaterThanOrEqual(s.slowest[1].ms);
    const text = formatTestSummary(s);
    expect(text).toMatch(
      /^test sample: FAILED — 3 file\(s\) \(2 failed\), 9 test\(s\): 6 passed, 1 failed, 1 skipped, 1 todo; /,
    );
    expect(text).toContain('  test/projects/sample/arith.test.ts > arithmetic multiplies wrongly\n    AssertionError');
  });

  it('a run in which no test ran is not a success', () => {
    const empty: VitestReport = {
      ...report,
      success: true,
      numTotalTests: 0,
      numPassedTests: 0,
      numFailedTests: 0,
      numPendingTests: 0,
      numTodoTests: 0,
      testResults: [],
    };
    const s = summarizeReport(empty, '/repo', target);
    expect(s.success).toBe(false);
    expect(formatTestSummary(s)).toContain('no test ran');
  });
});

describe('test: a real run', () => {
  it('runs the namespace through vitest and summarises it', async () => {
    const r = await cli(['test', 'tiny', '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as TestSummary;
    expect(s).toMatchObject({
      target: 'tiny',
      success: true,
      files: { total: 1, failed: 0 },
      tests: { total: 5, passed: 5, failed: 0 },
      failures: [],
    });
    expect(s.slowest[0].file).toBe('test/bench/stats.test.ts');
    // vitest's own output went to stderr, the summary alone to stdout.
    expect(r.err).toContain('stats.test.ts');
  });
});

describe('benchmark', () => {
  it('appears in --help with test', async () => {
    const { out } = await runCli(['--help']);
    expect(out).toMatch(/\n {2}test +Run the toolkit's test suites/);
    expect(out).toMatch(/\n {2}benchmark +Run a workflow's benchmark suite/);
  });

  it.each([
    [['benchmark'], /benchmark: name the suite to run: one of style-transfer, ops, lora, compression/],
    [['benchmark', 'vision'], /unknown suite 'vision'; choose one of/],
    [
      ['benchmark', 'compression'],
      /benchmark compression: not yet available — .*compression:benchmark.*Available now: style-transfer \(bench:style\), ops \(bench:ops\)/,
    ],
    [['benchmark', 'lora-finetuning-mlx'], /benchmark lora: not yet available/],
    [['benchmark', 'ops', '--sizes', 'x'], /--sizes: 'x' is not an integer/],
  ])('%j is a usage error', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it("shows the suite's own help, also under a seed name", async () => {
    expect((await runCli(['benchmark', 'ops', '--help'])).out).toContain(
      'Usage:\n  efficientai-toolkit bench:ops [options]',
    );
    const style = await runCli(['benchmark', 'coreml-stable-diffusion-style-transfer', '--help']);
    expect(style.out).toContain('efficientai-toolkit bench:style [options]');
    expect((await runCli(['benchmark', '--help'])).out).toContain('style-transfer runs bench:style');
  });

  it('runs the suite with its options and --json', async () => {
    const r = await runCli([
      'benchmark',
      ...argvOf('ops', { backends: 'js', ops: 'add', sizes: 8, runs: 1, warmup: 0, json: true }),
    ]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as BenchReport;
    expect(report.suite).toBe('ops');
    expect(report.records.map((x) => [x.op, x.size, x.backend])).toEqual([['add', 8, 'js']]);
  });
});
