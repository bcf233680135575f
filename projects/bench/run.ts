/** The `bench:*` commands' work: loaded by commands.ts only when one of them runs. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OP_BENCHES, OP_NAMES } from '../../bench/ops.js';
import { checkOpsOptions, runOpsSuite } from '../../bench/ops-suite.js';
import { runPeersSuite } from '../../bench/peers-suite.js';
import type { BenchReport } from '../../bench/record.js';
import { checkSectionId, opsSection, peersSection, styleSection, writeResultsSection } from '../../bench/results-md.js';
import { checkStyleOptions, runStyleSuite } from '../../bench/style-suite.js';
import { parseBackendList } from '../../bench/toolkit.js';
import { writeReportFiles } from '../../bench/writers/json.js';
import { markdownReport } from '../../bench/writers/markdown.js';
import { type CommandContext, EXIT } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { findStyle, NAMED_STYLES } from '../../models/styles.js';
import { defaultImagesDir, repoRoot } from '../../node/paths.js';
import type { CompareArgs, OpsArgs, PeersArgs, StyleArgs } from './commands.js';

const BIN = 'efficientai-toolkit';

/** `256,512` → [256, 512]. @throws UsageError naming the option and the bad entry. */
export function parseIntList(text: string, option: string, min = 1): number[] {
  const out = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < min) {
        throw new UsageError(
          `--${option}: '${s}' is not an integer ≥ ${min} (give a comma list, e.g. --${option} 256,512)`,
        );
      }
      return n;
    });
  if (out.length === 0) throw new UsageError(`--${option}: give at least one value, e.g. --${option} 256,512`);
  return out;
}

function parseOps(text: string): string[] {
  const ops = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const bad = ops.find((o) => !OP_BENCHES[o]);
  if (bad !== undefined || ops.length === 0) {
    throw new UsageError(`--ops: unknown op '${bad ?? text}'; choose from ${OP_NAMES.join(', ')}`);
  }
  return ops;
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

/** The measured-report tail shared by the commands: files, history, stdout (`human`, default the full table), exit code. */
async function finish(
  report: BenchReport,
  ctx: CommandContext,
  files: { out?: string | undefined; history?: string | undefined },
  human = markdownReport(report),
): Promise<number> {
  if (files.out !== undefined) {
    const written = await writeReportFiles(report, files.out);
    ctx.log.info(`wrote ${written.json}, ${written.markdown} and ${written.html}`);
  }
  ctx.output(report, human);
  if (report.records.length === 0) {
    ctx.log.error('nothing was measured: every backend asked for is unavailable (see the list above)');
    return EXIT.failure;
  }
  if (files.history !== undefined) {
    const { appendHistory, gitCommit, historyRun } = await import('../../bench/history.js');
    const run = historyRun(report, gitCommit(repoRoot()));
    await usageErrors(() => appendHistory(files.history as string, run));
    ctx.log.info(`appended the run (commit ${run.commit.slice(0, 12)}, machine ${run.machineKey}) to ${files.history}`);
  }
  return EXIT.ok;
}

/** --write-results: rewrite the command's section of the results file (bench/RESULTS.md by default). */
async function maybeWriteResults(
  args: { 'write-results': boolean; 'results-file'?: string },
  ctx: CommandContext,
  sectionId: string,
  section: () => string,
): Promise<void> {
  if (!args['write-results']) return;
  const file = args['results-file'] ?? `${repoRoot()}/bench/RESULTS.md`;
  await writeResultsSection(file, sectionId, section());
  ctx.log.info(`updated the bench:${sectionId} section of ${file}`);
}

/** Progress callbacks for a suite: it announces its total once probing is done, then ticks per measurement. */
function progressFor(ctx: CommandContext, label: string) {
  const p = ctx.progress('measurements');
  return {
    onPlan: (total: number) => p.start(total, label),
    onMeasured: (what: string) => {
      ctx.log.debug(`measured ${what}`);
      p.tick();
    },
    done: () => p.done(),
    abort: () => p.abort(),
  };
}

/** Run a suite with a progress reporter that is finished (or cleared on error) afterwards. */
async function withProgress<T>(
  ctx: CommandContext,
  label: string,
  run: (hooks: { onPlan(total: number): void; onMeasured(what: string): void }) => Promise<T>,
): Promise<T> {
  const p = progressFor(ctx, label);
  try {
    const result = await run(p);
    p.done();
    return result;
  } catch (err) {
    p.abort();
    throw err;
  }
}

export async function runOps(args: OpsArgs, ctx: CommandContext): Promise<number> {
  const backends = usage(() => parseBackendList(args.backends));
  const opNames = parseOps(args.ops);
  const sizes = parseIntList(args.sizes, 'sizes');
  usage(() => checkOpsOptions({ ops: opNames, sizes }));
  const command = [
    `${BIN} bench:ops --backends ${backends.join(',')} --ops ${opNames.join(',')} --sizes ${sizes.join(',')}`,
    `--runs ${args.runs} --warmup ${args.warmup}`,
    args.threads === undefined ? '' : `--threads ${args.threads}`,
    `--dtype ${args.dtype} --seed ${args.seed} --js-max-gflop ${args['js-max-gflop']} --budget-s ${args['budget-s']}`,
  ]
    .filter(Boolean)
    .join(' ');
  const sectionId = usage(() => checkSectionId(args['results-section']));
  const report = await withProgress(ctx, 'bench:ops', (hooks) =>
    runOpsSuite({
      backends,
      ops: opNames,
      sizes,
      runs: args.runs,
      warmup: args.warmup,
      threads: args.threads,
      dtype: args.dtype,
      seed: args.seed,
      jsMaxGflop: args['js-max-gflop'],
      budgetS: args['budget-s'],
      command,
      signal: ctx.signal,
      ...hooks,
    }),
  );
  await maybeWriteResults(args, ctx, sectionId, () => opsSection(report));
  return finish(report, ctx, { out: args.out, history: args.history });
}

export async function runPeers(args: PeersArgs, ctx: CommandContext): Promise<number> {
  const sizes = parseIntList(args.sizes, 'sizes');
  const threads = parseIntList(args.threads, 'threads');
  const command = [
    `${BIN} bench:peers --sizes ${sizes.join(',')} --threads ${threads.join(',')} --conv-size ${args['conv-size']}`,
    `--runs ${args.runs} --rounds ${args.rounds} --warmup ${args.warmup} --seed ${args.seed}`,
    args.js ? `--js-max-gflop ${args['js-max-gflop']}` : '--no-js',
  ].join(' ');
  const report = await withProgress(ctx, 'bench:peers', (hooks) =>
    runPeersSuite({
      sizes,
      threads,
      convSize: args['conv-size'],
      runs: args.runs,
      rounds: args.rounds,
      warmup: args.warmup,
      seed: args.seed,
      js: args.js,
      jsMaxGflop: args['js-max-gflop'],
      command,
      signal: ctx.signal,
      ...hooks,
    }),
  );
  await maybeWriteResults(args, ctx, 'peers', () => peersSection(report));
  return finish(report, ctx, { out: args.out, history: args.history });
}

export async function runStyle(args: StyleArgs, ctx: CommandContext): Promise<number> {
  const sizes = parseIntList(args.sizes, 'sizes');
  const threads = parseIntList(args.threads, 'threads');
  const backends = usage(() => parseBackendList(args.backends));
  usage(() => checkStyleOptions({ sizes, threads }));
  const sectionId = usage(() => checkSectionId(args['results-section']));
  if (!findStyle(args.style)) {
    throw new UsageError(
      `--style: unknown style '${args.style}'; choose one of ${NAMED_STYLES.map((s) => s.name).join(', ')}`,
    );
  }
  const content = args.content === 'seeded' ? null : (args.content ?? defaultStyleContent());
  const command = [
    `${BIN} bench:style --style ${args.style} --sizes ${sizes.join(',')} --backends ${backends.join(',')} --threads ${threads.join(',')}`,
    `--runs ${args.runs} --rounds ${args.rounds} --warmup ${args.warmup}`,
    args.content === undefined ? '' : `--content ${args.content}`,
    content === null ? `--seed ${args.seed}` : '',
    args.peers ? '' : '--no-peers',
    `--js-max-gflop ${args['js-max-gflop']} --emulated-max-gflop ${args['emulated-max-gflop']} --budget-s ${args['budget-s']}`,
  ]
    .filter(Boolean)
    .join(' ');
  const report = await withProgress(ctx, 'bench:style', (hooks) =>
    usageErrors(() =>
      runStyleSuite({
        style: args.style,
        sizes,
        backends,
        threads,
        runs: args.runs,
        rounds: args.rounds,
        warmup: args.warmup,
        content: content === null ? null : resolve(ctx.cwd, content),
        seed: args.seed,
        peers: args.peers,
        jsMaxGflop: args['js-max-gflop'],
        emulatedMaxGflop: args['emulated-max-gflop'],
        budgetS: args['budget-s'],
        command,
        signal: ctx.signal,
        ...hooks,
      }),
    ),
  );
  await maybeWriteResults(args, ctx, sectionId, () => styleSection(report));
  return finish(
    report,
    ctx,
    { out: args.out, history: args.history },
    `## bench:style — ${report.machine.date}\n\n${styleSection(report)}\n`,
  );
}

/** The astronaut sample the style-transfer CLI stylises by default, when the sample images are here. */
function defaultStyleContent(): string | null {
  const dir = defaultImagesDir();
  const file = dir === undefined ? undefined : join(dir, 'content', 'astronaut.png');
  return file !== undefined && existsSync(file) ? file : null;
}

/** Like usage(), for asynchronous work; a damaged history file is input the user fixes too. */
async function usageErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RangeError || (err instanceof Error && err.name === 'HistoryError')) {
      throw new UsageError(err.message);
    }
    throw err;
  }
}

/** bench:compare: the history's head runs against its base runs, as a table (and files with --out). */
export async function runCompare(args: CompareArgs, ctx: CommandContext): Promise<number> {
  const { compareHistory } = await import('../../bench/compare.js');
  const { readHistory, resolveRef } = await import('../../bench/history.js');
  const { compareHtml, compareMarkdown } = await import('../../bench/writers/compare.js');
  const root = repoRoot();
  const head =
    args.head === undefined
      ? { kind: 'latest' as const }
      : { kind: 'commit' as const, commit: usage(() => resolveRef(root, args.head as string, 'head')) };
  const base =
    args.base === undefined
      ? { kind: 'last' as const, n: args.last }
      : { kind: 'commit' as const, commit: usage(() => resolveRef(root, args.base as string, 'base')) };
  const history = await usageErrors(() => readHistory(args.history));
  const result = usage(() =>
    compareHistory(history, {
      head,
      base,
      ...(args.suite === undefined ? {} : { suite: args.suite }),
      ...(args.machine === undefined ? {} : { machine: args.machine }),
      thresholds: { mads: args['max-mads'], percent: args['min-change'] },
    }),
  );
  if (args.out !== undefined) {
    const { mkdir } = await import('node:fs/promises');
    const { writeFileAtomic } = await import('../../node/atomic-write.js');
    await mkdir(args.out, { recursive: true });
    const stem = join(
      args.out,
      `bench-compare-${new Date()
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replace(/:/g, '-')}`,
    );
    await writeFileAtomic(`${stem}.json`, `${JSON.stringify(result, null, 2)}\n`);
    await writeFileAtomic(`${stem}.md`, compareMarkdown(result));
    await writeFileAtomic(`${stem}.html`, compareHtml(result, history));
    ctx.log.info(`wrote ${stem}.json, .md and .html`);
  }
  ctx.output(result, compareMarkdown(result));
  if (result.regressions > 0) {
    const message = `${result.regressions} case(s) regressed beyond the noise`;
    if (args['fail-on-regression']) {
      ctx.log.error(message);
      return EXIT.failure;
    }
    ctx.log.warn(`${message} (reported only: add --fail-on-regression to fail)`);
  }
  return EXIT.ok;
}
