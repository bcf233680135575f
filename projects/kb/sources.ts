/**
 * What the knowledge base indexes, as sources with a content hash: the toolkit's own docs
 * (README files, docs/, bench/RESULTS.md), the help of every command the CLI discovers (taken
 * from the ProjectSpecs, so it is exactly what `--help` teaches), and the user's Markdown
 * entries. A source becomes one or more documents (a Markdown file: one per section).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { CommandSpec, ProjectSpec } from '../../cli/command.js';
import { BIN, type BuiltinHelp, formatOptions } from '../../cli/help.js';
import { plainHeading, readFrontMatter, splitSections } from './markdown.js';

export type SourceKind = 'doc' | 'command' | 'entry';
export const SOURCE_KINDS: readonly SourceKind[] = ['doc', 'command', 'entry'];

/** One searchable unit: a Markdown section or a command's help. */
export interface KbDocument {
  /** `<source id>#<n>`. */
  readonly id: string;
  readonly source: string;
  readonly kind: SourceKind;
  /** The section heading or the command (`compression:quantize`). */
  readonly title: string;
  /** Words that say where it belongs: the file and the headings above, or a command's summary and options. */
  readonly keywords: string;
  readonly text: string;
  /** The file it came from (relative to the toolkit root for docs, absolute for entries); absent for commands. */
  readonly path?: string;
  /** 1-based line of the section's heading. */
  readonly line?: number;
  /** 1-based line where `text` starts. */
  readonly bodyLine?: number;
}

export interface KbSource {
  /** `doc:README.md`, `command:bench:ops`, `entry:my-notes`. */
  readonly id: string;
  readonly kind: SourceKind;
  readonly title: string;
  readonly path?: string;
  /** sha256 of what the documents are made from: unchanged hash, unchanged documents. */
  readonly hash: string;
  documents(): KbDocument[];
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// Folders that hold no toolkit documentation: dependencies, builds, test fixtures, hidden tool folders.
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'test', 'coverage']);

function walkReadmes(root: string, dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walkReadmes(root, join(dir, e.name), out);
    } else if (e.isFile() && e.name === 'README.md') {
      out.push(relative(root, join(dir, e.name)));
    }
  }
}

function walkMarkdown(root: string, dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !e.name.startsWith('.')) walkMarkdown(root, join(dir, e.name), out);
    else if (e.isFile() && e.name.endsWith('.md')) out.push(relative(root, join(dir, e.name)));
  }
}

/** The toolkit's documentation files under `root`, relative with `/`, sorted: every README.md, docs/**, bench/RESULTS.md. */
export function toolkitDocFiles(root: string): string[] {
  const files: string[] = [];
  walkReadmes(root, root, files);
  walkMarkdown(root, join(root, 'docs'), files);
  if (existsSync(join(root, 'bench', 'RESULTS.md'))) files.push(join('bench', 'RESULTS.md'));
  return [...new Set(files.map((f) => f.split(sep).join('/')))].sort();
}

/** The first `# heading` of a Markdown text, else `fallback`. */
function firstHeading(text: string, fallback: string): string {
  const h = /^#[ \t]+(.+)$/m.exec(text)?.[1];
  return h === undefined ? fallback : plainHeading(h);
}

function markdownDocuments(
  sourceId: string,
  kind: SourceKind,
  title: string,
  text: string,
  path: string,
  firstLine = 1,
  extraKeywords = '',
): KbDocument[] {
  return splitSections(text, title, firstLine).map((s, i) => ({
    id: `${sourceId}#${i}`,
    source: sourceId,
    kind,
    title: s.heading,
    keywords: [path, ...s.parents, extraKeywords].filter(Boolean).join(' › '),
    text: s.body,
    path,
    line: s.line,
    bodyLine: s.bodyLine,
  }));
}

/** One source per documentation file under `root`. */
export function docSources(root: string): KbSource[] {
  return toolkitDocFiles(root).map((rel) => {
    const text = readFileSync(join(root, rel), 'utf8');
    const id = `doc:${rel}`;
    const title = firstHeading(text, rel);
    return {
      id,
      kind: 'doc',
      title,
      path: rel,
      hash: sha256(text),
      documents: () => markdownDocuments(id, 'doc', rel, text, rel),
    };
  });
}

/** A command's help without the global options (the same in every command, so no signal for search). */
export function commandHelpText(
  id: string,
  summary: string,
  description: string | undefined,
  options: CommandSpec['options'],
  examples: readonly string[] | undefined,
): string {
  const parts = [`${BIN} ${id}: ${summary}`];
  if (description) parts.push(description);
  if (options.length > 0) parts.push(`Options:\n${formatOptions(options)}`);
  if (examples && examples.length > 0) parts.push(`Examples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  return parts.join('\n\n');
}

function commandSource(id: string, keywords: readonly string[], help: string): KbSource {
  const sourceId = `command:${id}`;
  return {
    id: sourceId,
    kind: 'command',
    title: id,
    hash: sha256(`${keywords.join(' ')}\n${help}`),
    documents: () => [
      { id: `${sourceId}#0`, source: sourceId, kind: 'command', title: id, keywords: keywords.join(' '), text: help },
    ],
  };
}

/** One source per command of the discovered workflows, and one per built-in command. */
export function commandSources(projects: readonly ProjectSpec[], builtins: readonly BuiltinHelp[]): KbSource[] {
  const out: KbSource[] = [];
  for (const p of projects) {
    for (const c of p.commands) {
      const id = `${p.namespace}:${c.name}`;
      const aliases = p.aliases.map((a) => `${a}:${c.name}`);
      const help = commandHelpText(id, c.summary, c.description, c.options, c.examples);
      out.push(commandSource(id, [c.summary, ...aliases, ...c.options.map((o) => `--${o.name}`)], help));
    }
  }
  for (const b of builtins) {
    const help = commandHelpText(b.name, b.summary, b.description, [], b.examples);
    out.push(commandSource(b.name, [b.summary, b.usage ?? ''], help));
  }
  return out;
}

/** Text fields of an entry's front matter. */
export interface EntryMeta {
  readonly title: string;
  readonly tags: readonly string[];
}

export function entryMeta(data: Readonly<Record<string, unknown>>, body: string, fallback: string): EntryMeta {
  const title =
    typeof data.title === 'string' && data.title.trim() !== '' ? data.title.trim() : firstHeading(body, fallback);
  const tags = Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === 'string') : [];
  return { title, tags };
}

/**
 * One source per Markdown file in `entriesDir` (user entries, from `kb:add` or written by hand).
 * A file whose front matter is broken is reported through `onProblem` and left out, not fatal.
 */
export function entrySources(entriesDir: string, onProblem: (message: string) => void = () => {}): KbSource[] {
  if (!existsSync(entriesDir)) return [];
  const out: KbSource[] = [];
  for (const name of readdirSync(entriesDir).sort()) {
    if (!name.endsWith('.md') || name.startsWith('.')) continue;
    const file = join(entriesDir, name);
    const text = readFileSync(file, 'utf8');
    const slug = name.slice(0, -3);
    let fm: ReturnType<typeof readFrontMatter>;
    try {
      fm = readFrontMatter(text, file);
    } catch (err) {
      onProblem(`${(err as Error).message}; the entry is left out of the index until it is fixed`);
      continue;
    }
    const meta = entryMeta(fm.data, fm.body, slug);
    const id = `entry:${slug}`;
    out.push({
      id,
      kind: 'entry',
      title: meta.title,
      path: file,
      hash: sha256(text),
      documents: () => markdownDocuments(id, 'entry', meta.title, fm.body, file, fm.bodyLine, meta.tags.join(' ')),
    });
  }
  return out;
}
