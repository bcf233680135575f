/** The kb: commands' implementations (loaded when one runs, never by `--help`). */
import { readFile } from 'node:fs/promises';
import type { CommandContext } from '../../cli/command.js';
import { discoverProjects } from '../../cli/discover.js';
import { BUILTINS } from '../../cli/main.js';
import { UsageError } from '../../core/errors.js';
import { repoRoot } from '../../node/paths.js';
import { addEntry, removeEntry } from './entries.js';
import { allSources, type KbPaths, kbPaths, type Refreshed, refreshIndex } from './kb.js';
import { SOURCE_KINDS, type SourceKind } from './sources.js';
import type { KbHit, SourceInfo, UpdateStats } from './store.js';
import { KbIndex } from './store.js';

/** `doc,entry` → ['doc', 'entry']. @throws UsageError naming the bad kind. */
export function parseKinds(text: string | undefined): SourceKind[] | undefined {
  if (text === undefined) return undefined;
  const kinds = text
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const bad = kinds.find((k) => !(SOURCE_KINDS as readonly string[]).includes(k));
  if (bad !== undefined || kinds.length === 0) {
    throw new UsageError(`--kind: unknown kind '${bad ?? text}'; choose from ${SOURCE_KINDS.join(', ')} (comma list)`);
  }
  return kinds as SourceKind[];
}

/** Open the index and re-index what changed, saying so on stderr. */
async function refresh(paths: KbPaths, ctx: CommandContext, rebuild = false): Promise<Refreshed> {
  const discovery = await discoverProjects();
  const sources = allSources(
    { root: repoRoot(), projects: discovery.projects, builtins: BUILTINS, entriesDir: paths.entries },
    (m) => ctx.log.warn(m),
  );
  const r = await refreshIndex(paths.index, sources, { rebuild });
  if (r.rebuiltBecause) ctx.log.warn(`${r.rebuiltBecause}; rebuilt it`);
  if (r.saved) ctx.log.info(`knowledge base: ${describeStats(r.stats)}; saved ${paths.index}`);
  return r;
}

export function describeStats(s: UpdateStats): string {
  return `${s.added} added, ${s.updated} updated, ${s.removed} removed, ${s.unchanged} unchanged source(s); ${s.documents} sections`;
}

function where(h: KbHit): string {
  if (h.kind === 'command') return `command — efficientai-toolkit ${h.title} --help`;
  const line = h.snippetLine ?? h.line;
  return `${h.kind} — ${h.path ?? h.source}${line === undefined ? '' : `:${line}`}`;
}

export function formatHits(query: string, hits: readonly KbHit[], total: number): string {
  if (hits.length === 0) return `No matches for "${query}".`;
  const lines = [`${hits.length} of ${total} matching sections for "${query}":`, ''];
  for (const h of hits) {
    lines.push(`${h.rank}. ${h.title}   (${where(h)}; score ${h.score})`);
    if (h.snippet !== '') lines.push(`   ${h.snippet}`);
  }
  return lines.join('\n');
}

export async function runSearch(
  args: { query: string; limit: number; kind?: string; refresh: boolean },
  ctx: CommandContext,
): Promise<void> {
  const paths = kbPaths(ctx.env);
  const kinds = parseKinds(args.kind);
  if (args.query.trim() === '') throw new UsageError('kb:search: give some words to search for');
  let index: KbIndex | null;
  if (args.refresh) index = (await refresh(paths, ctx)).index;
  else {
    index = await KbIndex.load(paths.index);
    if (!index)
      throw new UsageError(
        `no knowledge-base index at ${paths.index} yet: run kb:index, or search without --no-refresh`,
      );
  }
  const { hits, total } = index.search(args.query, { limit: args.limit, ...(kinds ? { kinds } : {}) });
  ctx.output(
    { query: args.query, total, index: paths.index, documents: index.documentCount, results: hits },
    formatHits(args.query, hits, total),
  );
}

export async function runIndex(args: { rebuild: boolean }, ctx: CommandContext): Promise<void> {
  const paths = kbPaths(ctx.env);
  const r = await refresh(paths, ctx, args.rebuild);
  ctx.output(
    { index: paths.index, saved: r.saved, ...r.stats },
    `${describeStats(r.stats)}\n${r.saved ? 'wrote' : 'unchanged:'} ${paths.index}`,
  );
}

export function formatSources(sources: readonly SourceInfo[]): string {
  if (sources.length === 0) return 'The knowledge base is empty.';
  const width = Math.max(...sources.map((s) => s.id.length));
  return sources
    .map((s) => `${s.id.padEnd(width)}  ${String(s.documents).padStart(3)} section(s)  ${s.title}`)
    .join('\n');
}

export async function runList(args: { kind?: string }, ctx: CommandContext): Promise<void> {
  const paths = kbPaths(ctx.env);
  const kinds = parseKinds(args.kind);
  const { index } = await refresh(paths, ctx);
  const sources = index.listSources(kinds);
  ctx.output({ index: paths.index, entries: paths.entries, sources }, formatSources(sources));
}

function parseTags(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

export async function runAdd(
  args: { title: string; text?: string; file?: string; tags?: string; id?: string; replace: boolean },
  ctx: CommandContext,
): Promise<void> {
  if ((args.text === undefined) === (args.file === undefined)) {
    throw new UsageError('kb:add: give the entry with exactly one of --text TEXT or --file FILE.md');
  }
  let body = args.text ?? '';
  if (args.file !== undefined) {
    try {
      body = await readFile(args.file, 'utf8');
    } catch (err) {
      throw new UsageError(
        `--file: cannot read ${args.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  const paths = kbPaths(ctx.env);
  const { id, file } = await addEntry(paths.entries, {
    title: args.title,
    body,
    tags: parseTags(args.tags),
    replace: args.replace,
    ...(args.id === undefined ? {} : { id: args.id }),
  });
  const { index } = await refresh(paths, ctx);
  ctx.output({ id, file, index: paths.index, documents: index.documentCount }, `added entry ${id}: ${file}`);
}

export async function runRemove(args: { id: string }, ctx: CommandContext): Promise<void> {
  const paths = kbPaths(ctx.env);
  const file = await removeEntry(paths.entries, args.id);
  await refresh(paths, ctx);
  ctx.output({ id: args.id, file, removed: true }, `removed entry ${args.id} (${file})`);
}
