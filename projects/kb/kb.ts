/**
 * The knowledge base as the commands use it: where it lives, which sources make it, and
 * "open the index and bring it up to date" in one call.
 */
import { join, resolve } from 'node:path';
import type { ProjectSpec } from '../../cli/command.js';
import type { BuiltinHelp } from '../../cli/help.js';
import { defaultDataDir, type Env } from '../../node/paths.js';
import { commandSources, docSources, entrySources, type KbSource } from './sources.js';
import { KbIndex, KbIndexError, type UpdateStats } from './store.js';

export interface KbPaths {
  /** `EAI_KB_DIR`, else `<data dir>/kb` (see node/paths.ts defaultDataDir). */
  readonly dir: string;
  /** The index file (derived data: deleting it only costs a rebuild). */
  readonly index: string;
  /** The user's Markdown entries (kb:add writes here; files put here by hand count too). */
  readonly entries: string;
}

export function kbPaths(env: Env = process.env): KbPaths {
  const dir = env.EAI_KB_DIR ? resolve(env.EAI_KB_DIR) : join(defaultDataDir(env), 'kb');
  return { dir, index: join(dir, 'index.jsonl'), entries: join(dir, 'entries') };
}

/** What the knowledge base is built from. */
export interface SourceInputs {
  /** The toolkit's root: its README files, docs/ and bench/RESULTS.md are indexed. */
  readonly root: string;
  /** The workflows the CLI discovered: each command's help is indexed. */
  readonly projects: readonly ProjectSpec[];
  /** The CLI's built-in commands (info, doctor, test, …). */
  readonly builtins: readonly BuiltinHelp[];
  readonly entriesDir: string;
}

export function allSources(inputs: SourceInputs, onProblem?: (message: string) => void): KbSource[] {
  return [
    ...docSources(inputs.root),
    ...commandSources(inputs.projects, inputs.builtins),
    ...entrySources(inputs.entriesDir, onProblem),
  ];
}

export interface Refreshed {
  readonly index: KbIndex;
  readonly stats: UpdateStats;
  /** True when the file was (re)written. */
  readonly saved: boolean;
  /** Why the stored index was thrown away and rebuilt, when it was. */
  readonly rebuiltBecause?: string;
}

/**
 * Open the index at `file` (a missing or unusable one starts empty, `rebuild` starts empty
 * regardless), re-index what changed in `sources`, and save it when anything did.
 */
export async function refreshIndex(
  file: string,
  sources: readonly KbSource[],
  opts: { rebuild?: boolean; save?: boolean } = {},
): Promise<Refreshed> {
  let index: KbIndex | null = null;
  let rebuiltBecause: string | undefined;
  if (!opts.rebuild) {
    try {
      index = await KbIndex.load(file);
    } catch (err) {
      if (!(err instanceof KbIndexError)) throw err;
      rebuiltBecause = err.message;
    }
  }
  index ??= KbIndex.empty();
  const stats = await index.update(sources);
  const changed =
    stats.added + stats.updated + stats.removed > 0 || opts.rebuild === true || rebuiltBecause !== undefined;
  const save = opts.save !== false && changed;
  if (save) await index.save(file);
  return { index, stats, saved: save, ...(rebuiltBecause === undefined ? {} : { rebuiltBecause }) };
}
