/**
 * The knowledge-base index: a MiniSearch full-text index over the sources' documents plus,
 * per source, the hash it was built from — so an update re-indexes only the sources whose
 * content changed, appeared or disappeared. The file is two JSON lines (a header with the
 * source table, then MiniSearch's own serialisation) written atomically: a crash mid-write
 * leaves the previous index whole.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import MiniSearch, { type SearchResult } from 'minisearch';
import { removeStaleTemps, writeFileAtomic } from '../../node/atomic-write.js';
import { ANALYZER_VERSION, processTerm, terms, tokenize } from './analyzer.js';
import type { KbDocument, KbSource, SourceKind } from './sources.js';

const FORMAT = 'efficientai-toolkit knowledge-base index';
const VERSION = 1;

/** Field weights: a word in a title counts four times one in the text, in the keywords twice. */
export const FIELD_BOOSTS = { title: 4, keywords: 2, text: 1 } as const;

const STORED = ['source', 'kind', 'title', 'path', 'line', 'bodyLine', 'text'] as const;

function options() {
  return {
    fields: ['title', 'keywords', 'text'],
    storeFields: [...STORED],
    tokenize,
    processTerm,
    autoVacuum: false,
    searchOptions: {
      boost: { ...FIELD_BOOSTS },
      // Short terms (`4`, `lr`) match exactly; longer ones also as prefixes and with one typo per five letters.
      prefix: (term: string) => term.length >= 3,
      fuzzy: (term: string) => (term.length >= 5 ? 0.2 : false),
      combineWith: 'OR' as const,
    },
  };
}

interface SourceEntry {
  readonly kind: SourceKind;
  readonly title: string;
  readonly path?: string;
  readonly hash: string;
  readonly documents: readonly string[];
}

interface Header {
  readonly format: string;
  readonly version: number;
  readonly analyzer: number;
  readonly updated: string;
  readonly sources: Readonly<Record<string, SourceEntry>>;
}

/** The index file exists but cannot be used (truncated, edited, another version). */
export class KbIndexError extends Error {
  override name = 'KbIndexError';
}

export interface UpdateStats {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly unchanged: number;
  /** Source ids re-indexed (added or updated), for logs and tests. */
  readonly reindexed: readonly string[];
  readonly documents: number;
}

export interface KbHit {
  readonly rank: number;
  readonly id: string;
  readonly source: string;
  readonly kind: SourceKind;
  readonly title: string;
  readonly path?: string;
  readonly line?: number;
  readonly score: number;
  /** The line of the text with the most query terms (shortened), and where it is. */
  readonly snippet: string;
  readonly snippetLine?: number;
  /** Index terms that matched (stems, prefix and fuzzy expansions included). */
  readonly terms: readonly string[];
}

export interface SourceInfo {
  readonly id: string;
  readonly kind: SourceKind;
  readonly title: string;
  readonly path?: string;
  readonly documents: number;
}

export interface SearchOptions {
  readonly limit?: number;
  readonly kinds?: readonly SourceKind[];
}

const SNIPPET_CHARS = 160;

/** The text line that holds the most of `matched`, shortened around its first match. */
function snippetOf(text: string, matched: ReadonlySet<string>): { text: string; offset: number } {
  const lines = text.split('\n');
  let best = 0;
  let bestCount = -1;
  lines.forEach((line, i) => {
    let n = 0;
    for (const t of terms(line)) if (matched.has(t)) n++;
    if (n > bestCount) {
      best = i;
      bestCount = n;
    }
  });
  const line = lines[best].trim().replace(/\s+/g, ' ');
  if (line.length <= SNIPPET_CHARS) return { text: line, offset: best };
  const words = tokenize(line);
  const first = words.find((w) => matched.has(processTerm(w) ?? ''));
  const at = first === undefined ? 0 : Math.max(0, line.indexOf(first) - 40);
  const cut = line.slice(at, at + SNIPPET_CHARS);
  return { text: `${at > 0 ? '…' : ''}${cut}${at + SNIPPET_CHARS < line.length ? '…' : ''}`, offset: best };
}

export class KbIndex {
  private constructor(
    private readonly search_: MiniSearch<KbDocument>,
    private readonly sources: Map<string, SourceEntry>,
    private updated: string,
  ) {}

  static empty(): KbIndex {
    return new KbIndex(new MiniSearch<KbDocument>(options()), new Map(), new Date(0).toISOString());
  }

  /**
   * The index stored in `file`; null when there is none.
   * @throws KbIndexError when the file is there but unusable (the message names it and the fix).
   */
  static async load(file: string): Promise<KbIndex | null> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new KbIndexError(`cannot read the knowledge-base index ${file}: ${(err as Error).message}`);
    }
    return KbIndex.parse(text, file);
  }

  static parse(text: string, file: string): KbIndex {
    const fail = (why: string): never => {
      throw new KbIndexError(
        `the knowledge-base index ${file} is unusable (${why}); run 'efficientai-toolkit kb:index --rebuild' to build it anew`,
      );
    };
    const nl = text.indexOf('\n');
    if (nl < 0) return fail('it is not two JSON lines: truncated?');
    let header: Header;
    try {
      header = JSON.parse(text.slice(0, nl)) as Header;
    } catch (err) {
      return fail(`its header is not JSON: ${(err as Error).message}`);
    }
    if (header?.format !== FORMAT) return fail('its header does not name the knowledge-base index format');
    if (header.version !== VERSION) return fail(`format version ${header.version}, this toolkit reads ${VERSION}`);
    if (header.analyzer !== ANALYZER_VERSION) {
      return fail(`built by analyzer ${header.analyzer}, this toolkit uses ${ANALYZER_VERSION}`);
    }
    if (typeof header.sources !== 'object' || header.sources === null) return fail('its header has no source table');
    let search: MiniSearch<KbDocument>;
    try {
      search = MiniSearch.loadJSON<KbDocument>(text.slice(nl + 1), options());
    } catch (err) {
      return fail(`its search index does not load: ${(err as Error).message}`);
    }
    const expected = Object.values(header.sources).reduce((n, s) => n + s.documents.length, 0);
    if (search.documentCount !== expected) {
      return fail(`it holds ${search.documentCount} documents, its source table lists ${expected}`);
    }
    return new KbIndex(search, new Map(Object.entries(header.sources)), header.updated);
  }

  get documentCount(): number {
    return this.search_.documentCount;
  }

  get updatedAt(): string {
    return this.updated;
  }

  /** Bring the index in line with `sources`: re-index the new and changed ones, drop the vanished ones. */
  async update(sources: readonly KbSource[], now: Date = new Date()): Promise<UpdateStats> {
    const seen = new Set<string>();
    let added = 0;
    let updated = 0;
    let unchanged = 0;
    const reindexed: string[] = [];
    for (const s of sources) {
      if (seen.has(s.id)) throw new Error(`knowledge base: two sources share the id ${s.id}`);
      seen.add(s.id);
      const before = this.sources.get(s.id);
      if (before?.hash === s.hash) {
        unchanged++;
        continue;
      }
      if (before) this.search_.discardAll(before.documents);
      const docs = s.documents();
      this.search_.addAll(docs);
      this.sources.set(s.id, {
        kind: s.kind,
        title: s.title,
        ...(s.path === undefined ? {} : { path: s.path }),
        hash: s.hash,
        documents: docs.map((d) => d.id),
      });
      reindexed.push(s.id);
      if (before) updated++;
      else added++;
    }
    let removed = 0;
    for (const [id, entry] of this.sources) {
      if (seen.has(id)) continue;
      this.search_.discardAll(entry.documents);
      this.sources.delete(id);
      removed++;
    }
    if (this.search_.dirtCount > 0) await this.search_.vacuum();
    if (added + updated + removed > 0) this.updated = now.toISOString();
    return { added, updated, removed, unchanged, reindexed, documents: this.documentCount };
  }

  /** The two-line file text: header, then the search index. */
  serialize(): string {
    const header: Header = {
      format: FORMAT,
      version: VERSION,
      analyzer: ANALYZER_VERSION,
      updated: this.updated,
      sources: Object.fromEntries(this.sources),
    };
    return `${JSON.stringify(header)}\n${JSON.stringify(this.search_)}\n`;
  }

  /** Write to `file` atomically (temp file + rename), clearing temp files of writers that crashed. */
  async save(file: string): Promise<void> {
    await mkdir(dirname(file), { recursive: true });
    await removeStaleTemps(file);
    await writeFileAtomic(file, this.serialize());
  }

  /** The best `limit` matches, best first, and how many documents matched at all. */
  search(query: string, opts: SearchOptions = {}): { hits: KbHit[]; total: number } {
    const kinds = opts.kinds;
    const results: SearchResult[] = this.search_.search(query, {
      ...(kinds && kinds.length > 0 ? { filter: (r) => kinds.includes(r.kind as SourceKind) } : {}),
    });
    const hits = results.slice(0, opts.limit ?? 10).map((r, i): KbHit => {
      const text = String(r.text ?? '');
      const snip = snippetOf(text, new Set(r.terms));
      const bodyLine = typeof r.bodyLine === 'number' ? r.bodyLine : undefined;
      return {
        rank: i + 1,
        id: String(r.id),
        source: String(r.source),
        kind: r.kind as SourceKind,
        title: String(r.title),
        ...(typeof r.path === 'string' ? { path: r.path } : {}),
        ...(typeof r.line === 'number' ? { line: r.line } : {}),
        score: Math.round(r.score * 1000) / 1000,
        snippet: snip.text,
        ...(bodyLine === undefined ? {} : { snippetLine: bodyLine + snip.offset }),
        terms: r.terms,
      };
    });
    return { hits, total: results.length };
  }

  listSources(kinds?: readonly SourceKind[]): SourceInfo[] {
    return [...this.sources.entries()]
      .filter(([, e]) => !kinds || kinds.length === 0 || kinds.includes(e.kind))
      .map(([id, e]) => ({
        id,
        kind: e.kind,
        title: e.title,
        ...(e.path === undefined ? {} : { path: e.path }),
        documents: e.documents.length,
      }))
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  }
}
