/**
 * `efficientai-toolkit test [--all | <namespace>]`: the toolkit's own test suites through vitest,
 * then a summary (files, tests passed/failed/skipped, the failures, the slowest files). A
 * namespace's tests are test/projects/<namespace> plus what its ProjectSpec declares in `tests`
 * (its models' and kernels' tests). vitest's live output goes to stderr; the summary is the result.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { UsageError } from '../../core/errors.js';
import type { OptionSpec, ProjectSpec } from '../command.js';
import type { Discovery } from '../discover.js';
import type { BuiltinHelp } from '../help.js';

/** Set in the environment of the vitest it starts: a `test` run inside one is refused, so suites never recurse. */
export const NESTED_ENV = 'EAI_TEST_RUNNING';

export const TEST_OPTIONS: readonly OptionSpec[] = [
  { name: 'all', type: 'boolean', description: 'Run every test suite (what CI runs after the type checks)' },
  {
    name: 'namespace',
    type: 'string',
    valueName: 'namespace',
    description: 'Run one workflow namespace: test/projects/<namespace> and the tests its workflow declares',
  },
  { name: 'list', type: 'boolean', description: 'Print the test paths that would run, and run nothing' },
];

export const testHelp: BuiltinHelp = {
  name: 'test',
  summary: "Run the toolkit's test suites (all, or one namespace's) through vitest and summarise them",
  usage: 'efficientai-toolkit test (--all | <namespace>) [--list]',
  description:
    "Runs vitest from the toolkit's own checkout (its devDependencies must be installed) and prints a summary: " +
    'files and tests passed, failed and skipped, each failure with its first message line, and the slowest files. ' +
    "vitest's own output goes to stderr. A namespace runs test/projects/<namespace> plus the tests its workflow " +
    "declares (ProjectSpec.tests: its models' and kernels' tests). Exit 0 when everything passed, 1 when a test or " +
    'a file failed (or nothing ran), 2 for a bad argument. The type checks and lint of `npm test` are not part of it.',
  options: TEST_OPTIONS,
  examples: [
    'efficientai-toolkit test --all',
    'efficientai-toolkit test style-transfer',
    'efficientai-toolkit test kb --json',
  ],
};

export interface TestTarget {
  /** `all` or the namespace. */
  readonly target: string;
  /** Test files and folders relative to the root; empty for all. */
  readonly paths: readonly string[];
  /** Paths the workflow declares that do not exist (a mistake in its ProjectSpec.tests). */
  readonly missing: readonly string[];
}

/** Where a namespace's tests live under `root`: the paths that exist, and the declared ones that do not. */
export function namespaceTestPaths(project: ProjectSpec, root: string): { paths: string[]; missing: string[] } {
  const own = `test/projects/${project.namespace}`;
  const declared = (project.tests ?? []).filter((p) => p !== own);
  return {
    paths: [own, ...declared].filter((p) => existsSync(join(root, p))),
    missing: declared.filter((p) => !existsSync(join(root, p))),
  };
}

/** What `test` was asked to run. @throws UsageError for a missing, doubled or unknown target. */
export function resolveTestTarget(
  d: Discovery,
  root: string,
  args: { all?: boolean; namespace?: string | undefined },
): TestTarget {
  const names = d.projects.map((p) => p.namespace).join(', ');
  if (args.all && args.namespace !== undefined) {
    throw new UsageError(`test: give --all or a namespace, not both (got --all and '${args.namespace}')`);
  }
  if (args.all) return { target: 'all', paths: [], missing: [] };
  if (args.namespace === undefined) {
    throw new UsageError(`test: say what to run: --all, or one namespace of ${names}`);
  }
  const word = args.namespace;
  const project = d.projects.find((p) => p.namespace === word || p.aliases.includes(word));
  if (!project) throw new UsageError(`test: unknown namespace '${word}'; choose one of ${names}, or --all`);
  const { paths, missing } = namespaceTestPaths(project, root);
  if (paths.length === 0) {
    throw new UsageError(
      `test: the ${project.namespace} namespace has no tests yet (no test/projects/${project.namespace}, and its workflow declares none in ProjectSpec.tests)`,
    );
  }
  return { target: project.namespace, paths, missing };
}

/** The parts of vitest's JSON reporter (Jest-compatible) the summary reads. */
export interface VitestReport {
  readonly success: boolean;
  readonly startTime: number;
  readonly numTotalTests: number;
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests: number;
  readonly numTodoTests: number;
  readonly testResults: readonly {
    readonly name: string;
    readonly status: string;
    readonly message: string;
    readonly startTime: number;
    readonly endTime: number;
    readonly assertionResults: readonly {
      readonly fullName: string;
      readonly status: string;
      readonly failureMessages: readonly string[];
    }[];
  }[];
}

export interface TestFailure {
  readonly file: string;
  /** The test's full name; null when the file itself failed (it did not load, a hook threw). */
  readonly test: string | null;
  readonly message: string;
}

export interface TestSummary {
  readonly target: string;
  readonly paths: readonly string[];
  readonly success: boolean;
  readonly files: { readonly total: number; readonly failed: number };
  readonly tests: {
    readonly total: number;
    readonly passed: number;
    readonly failed: number;
    readonly skipped: number;
    readonly todo: number;
  };
  /** From the first file's start to the last file's end. */
  readonly durationMs: number;
  readonly failures: readonly TestFailure[];
  readonly slowest: readonly { readonly file: string; readonly ms: number }[];
}

const firstLine = (text: string): string => text.trim().split('\n')[0]?.trim() ?? '';

/** The summary of a vitest JSON report; file names relative to `root`. */
export function summarizeReport(report: VitestReport, root: string, target: TestTarget): TestSummary {
  const rel = (f: string): string => (isAbsolute(f) ? relative(root, f) : f);
  const failures: TestFailure[] = [];
  let failedFiles = 0;
  for (const f of report.testResults) {
    const failedTests = f.assertionResults.filter((a) => a.status === 'failed');
    if (f.status === 'failed') failedFiles++;
    for (const a of failedTests) {
      failures.push({ file: rel(f.name), test: a.fullName, message: firstLine(a.failureMessages[0] ?? '') });
    }
    if (f.status === 'failed' && failedTests.length === 0) {
      failures.push({ file: rel(f.name), test: null, message: firstLine(f.message) || 'the file failed' });
    }
  }
  const ends = report.testResults.map((f) => f.endTime);
  const starts = report.testResults.map((f) => f.startTime);
  const ran = report.testResults.length > 0;
  return {
    target: target.target,
    paths: target.paths,
    success: report.success && failures.length === 0 && report.numTotalTests > 0,
    files: { total: report.testResults.length, failed: failedFiles },
    tests: {
      total: report.numTotalTests,
      passed: report.numPassedTests,
      failed: report.numFailedTests,
      skipped: report.numPendingTests,
      todo: report.numTodoTests,
    },
    durationMs: ran ? Math.round(Math.max(...ends) - Math.min(...starts)) : 0,
    failures,
    slowest: report.testResults
      .map((f) => ({ file: rel(f.name), ms: Math.round(f.endTime - f.startTime) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5),
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function formatTestSummary(s: TestSummary): string {
  const t = s.tests;
  const lines = [
    `test ${s.target}: ${s.success ? 'passed' : 'FAILED'} — ${s.files.total} file(s)${s.files.failed > 0 ? ` (${s.files.failed} failed)` : ''}, ` +
      `${t.total} test(s): ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped${t.todo > 0 ? `, ${t.todo} todo` : ''}; ${seconds(s.durationMs)}`,
  ];
  if (t.total === 0) lines.push('no test ran: nothing was checked');
  if (s.failures.length > 0) {
    lines.push('', 'Failures:');
    for (const f of s.failures) lines.push(`  ${f.file}${f.test ? ` > ${f.test}` : ''}`, `    ${f.message}`);
  }
  if (s.slowest.length > 1) {
    lines.push('', `Slowest files: ${s.slowest.map((f) => `${f.file} ${seconds(f.ms)}`).join(', ')}`);
  }
  return lines.join('\n');
}

export interface RunTestsOptions {
  readonly root: string;
  readonly paths: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where vitest's own output goes (the CLI's stderr). */
  readonly output: { write(text: string): unknown };
  readonly signal: AbortSignal;
}

/** The vitest the toolkit's checkout has installed. @throws Error saying how to get it. */
export function vitestEntry(root: string): string {
  const entry = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  if (!existsSync(entry)) {
    throw new Error(
      `vitest is not installed in ${root}: the test command runs the toolkit's own suites from a checkout; run npm install there (devDependencies included)`,
    );
  }
  return entry;
}

/**
 * Run vitest on `paths` (everything when empty) and read its JSON report.
 * @throws Error when vitest ends without a report (it crashed, or it was stopped).
 */
export async function runVitest(o: RunTestsOptions): Promise<VitestReport> {
  const entry = vitestEntry(o.root);
  const dir = mkdtempSync(join(tmpdir(), 'eai-test-'));
  const reportFile = join(dir, 'report.json');
  try {
    const args = [entry, 'run', ...o.paths, '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`];
    const child = spawn(process.execPath, args, {
      cwd: o.root,
      env: { ...process.env, ...o.env, [NESTED_ENV]: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const forward = (chunk: Buffer): void => void o.output.write(chunk.toString());
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const stop = (): void => void child.kill('SIGINT');
    o.signal.addEventListener('abort', stop, { once: true });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    o.signal.removeEventListener('abort', stop);
    if (o.signal.aborted) throw new Error('test run stopped (Ctrl-C)');
    if (!existsSync(reportFile)) throw new Error(`vitest exited with code ${code} before writing its report`);
    return JSON.parse(readFileSync(reportFile, 'utf8')) as VitestReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Refuse to start from inside a test run the toolkit started (the suites must never run themselves). */
export function checkNotNested(env: Readonly<Record<string, string | undefined>>): void {
  if (env[NESTED_ENV]) {
    throw new UsageError(
      `test: refusing to run the test suites from inside a test run (${NESTED_ENV} is set): they would start themselves again`,
    );
  }
}
