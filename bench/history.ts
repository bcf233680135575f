/**
 * Benchmark history: one JSON line per benchmark run, keyed by suite, commit and machine, with
 * each case's timing. bench:ops/peers/style append to it with `--history FILE`; bench:compare
 * reads it. Appends replace the file atomically (node/atomic-write.ts), so a crash leaves the
 * history as it was; two runs appending to one file at the same moment may lose one line
 * (serialise them, as CI does).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../node/atomic-write.js';
import { type BenchRecord, type BenchReport, type MachineInfo, recordLabel } from './record.js';

export const HISTORY_VERSION = 1;

/** One measured case of a run: enough to compare runs, not the whole record. */
export interface HistoryCase {
  /** `matmul [256,256]x[256,256] native 2t f32`: what is compared across runs. */
  readonly key: string;
  readonly op: string;
  readonly shape: string;
  readonly size: number;
  /** The record's label: backend, plus threads where they apply. */
  readonly backend: string;
  readonly dtype: string;
  readonly medianMs: number;
  readonly minMs: number;
  readonly p90Ms: number;
  readonly runs: number;
}

export interface HistoryRun {
  readonly v: number;
  readonly suite: string;
  /** The git commit measured (full hash), or `unknown` outside a git checkout. */
  readonly commit: string;
  /** Uncommitted changes to tracked files when it ran: the commit alone does not say what was measured. */
  readonly dirty: boolean;
  /** machineKey(machine): runs compare only with runs of the same key. */
  readonly machineKey: string;
  readonly machine: MachineInfo;
  readonly date: string;
  readonly command: string;
  readonly cases: readonly HistoryCase[];
}

/** The case a record measured, named the same way in every run. */
export function caseKey(r: Pick<BenchRecord, 'op' | 'shape' | 'backend' | 'threads' | 'kind' | 'dtype'>): string {
  return `${r.op} ${r.shape} ${recordLabel(r)} ${r.dtype}`;
}

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

/**
 * What makes timings comparable: CPU model, cores, OS family and architecture (`amd-epyc-7b13-2c-linux-x64`).
 * Not the load, the date or the Node version: those vary between runs of one machine and are in the run.
 */
export function machineKey(m: MachineInfo): string {
  const os = slug(m.os.split(/\s+/)[0] ?? m.os);
  return `${slug(m.cpu) || 'unknown-cpu'}-${m.cores}c-${os}-${m.arch}`;
}

export interface CommitInfo {
  readonly commit: string;
  readonly dirty: boolean;
}

/** The checkout's HEAD and whether tracked files differ from it; `unknown` where git or the checkout is missing. */
export function gitCommit(root: string): CommitInfo {
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/**
 * A commit for `--base`/`--head`: a hash prefix as given (lowercased), else a git ref resolved in `root`.
 * @throws RangeError naming the option when it is neither.
 */
export function resolveRef(root: string, ref: string, option: string): string {
  if (/^[0-9a-f]{4,40}$/i.test(ref)) return ref.toLowerCase();
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    throw new RangeError(`--${option}: '${ref}' is neither a commit hash (4–40 hex digits) nor a git ref in ${root}`);
  }
}

export function historyRun(report: BenchReport, at: CommitInfo): HistoryRun {
  return {
    v: HISTORY_VERSION,
    suite: report.suite,
    commit: at.commit,
    dirty: at.dirty,
    machineKey: machineKey(report.machine),
    machine: report.machine,
    date: report.machine.date,
    command: report.command,
    cases: report.records.map((r) => ({
      key: caseKey(r),
      op: r.op,
      shape: r.shape,
      size: r.size,
      backend: recordLabel(r),
      dtype: r.dtype,
      medianMs: r.medianMs,
      minMs: r.minMs,
      p90Ms: r.p90Ms,
      runs: r.runs,
    })),
  };
}

/** A history file that cannot be read as one: names the file and the line. */
export class HistoryError extends Error {
  override name = 'HistoryError';
}

function checkRun(value: unknown, where: string): HistoryRun {
  const fail = (why: string): never => {
    throw new HistoryError(`${where}: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not a JSON object');
  const r = value as Partial<HistoryRun>;
  if (r.v !== HISTORY_VERSION) return fail(`history format v${String(r.v)}, this toolkit reads v${HISTORY_VERSION}`);
  for (const k of ['suite', 'commit', 'machineKey', 'date'] as const) {
    if (typeof r[k] !== 'string' || r[k] === '') fail(`'${k}' is missing`);
  }
  if (!Array.isArray(r.cases)) return fail("'cases' is not a list");
  for (const c of r.cases) {
    if (typeof c?.key !== 'string' || !(typeof c.medianMs === 'number' && c.medianMs > 0)) {
      fail(`a case has no key or no positive medianMs (${JSON.stringify(c).slice(0, 80)})`);
    }
  }
  return r as HistoryRun;
}

/** The runs of a history text, in file order. @throws HistoryError naming `file:line` for a bad line. */
export function parseHistory(text: string, file: string): HistoryRun[] {
  const runs: HistoryRun[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new HistoryError(`${where}: not a JSON line (${(err as Error).message}); fix or delete that line`);
    }
    runs.push(checkRun(value, where));
  });
  return runs;
}

/** The runs in `file`; none when it does not exist yet. */
export async function readHistory(file: string): Promise<HistoryRun[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new HistoryError(`cannot read the benchmark history ${file}: ${(err as Error).message}`);
  }
  return parseHistory(text, file);
}

/**
 * Add `run` as the last line of `file` (created with its folder if missing), replacing the file
 * atomically. The existing lines are checked first: a damaged history is reported, not extended.
 */
export async function appendHistory(file: string, run: HistoryRun): Promise<void> {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  parseHistory(text, file);
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${text}${sep}${JSON.stringify(run)}\n`);
}
