import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allSources, refreshIndex } from '../../../projects/kb/kb.js';
import { KbIndex, KbIndexError } from '../../../projects/kb/store.js';
import { fixtureBuiltins, fixtureProjects } from './fixtures/projects.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/toolkit/', import.meta.url));

let dir: string;
let root: string;
let entries: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kb-store-'));
  root = join(dir, 'toolkit');
  cpSync(FIXTURE, root, { recursive: true });
  entries = join(dir, 'entries');
  file = join(dir, 'index.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function sources() {
  return allSources({ root, projects: fixtureProjects, builtins: fixtureBuiltins, entriesDir: entries });
}

describe('kb ranking on fixture docs and commands', () => {
  it('"quantize 4 bit" finds the quantize command first, then the quantization docs', async () => {
    const { index } = await refreshIndex(file, sources());
    const { hits } = index.search('quantize 4 bit', { limit: 5 });
    expect(hits[0].title).toBe('compression:quantize');
    expect(hits[0].kind).toBe('command');
    expect(hits[1]).toMatchObject({ kind: 'doc', path: 'docs/compression.md', title: 'Quantization' });
    // The neighbours that share words (QLoRA's 4 bit, 8-bit images, the other compression commands) come later.
    const rank = (title: string) => hits.findIndex((h) => h.title === title);
    for (const other of ['lora:train', 'compression:prune', 'Sizes']) {
      const r = rank(other);
      expect(r === -1 || r > 1, `${other} at rank ${r + 1}`).toBe(true);
    }
  });

  it('matches inflections and typos, and points at the line that matched', async () => {
    const { index } = await refreshIndex(file, sources());
    const calibrated = index.search('calibrating', { limit: 1 }).hits[0];
    expect(calibrated.title).toBe('Calibrated quantization');
    const text = readFileSync(join(root, 'docs/compression.md'), 'utf8').split('\n');
    expect(text[(calibrated.snippetLine as number) - 1].trim()).toBe(calibrated.snippet);
    expect(calibrated.snippet).toContain('Calibration');
    // A typo: `distilation` is one edit from the stem of `distill` and `Distillation`.
    const typo = index.search('distilation', { limit: 2 }).hits.map((h) => h.title);
    expect(typo.sort()).toEqual(['Distillation', 'compression:distill']);
  });

  it('filters by kind and ignores headings inside code fences', async () => {
    const { index } = await refreshIndex(file, sources());
    const commands = index.search('quantize', { kinds: ['command'] }).hits;
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.every((h) => h.kind === 'command')).toBe(true);
    expect(index.search('heading inside fence', { kinds: ['doc'] }).hits[0].title).toBe('Set up');
  });
});

describe('kb index updates', () => {
  it('re-indexes only the sources whose content changed, and forgets removed ones', async () => {
    const first = await refreshIndex(file, sources());
    expect(first.stats.added).toBe(sources().length);
    expect(first.saved).toBe(true);

    const again = await refreshIndex(file, sources());
    expect(again.stats).toMatchObject({ added: 0, updated: 0, removed: 0, reindexed: [] });
    expect(again.saved).toBe(false);

    writeFileSync(
      join(root, 'docs/lora.md'),
      '# LoRA fine-tuning\n\nRank-stabilised LoRA scales by alpha over sqrt(rank).\n',
    );
    rmSync(join(root, 'docs/style-transfer.md'));
    const changed = await refreshIndex(file, sources());
    expect(changed.stats).toMatchObject({ added: 0, updated: 1, removed: 1, reindexed: ['doc:docs/lora.md'] });
    expect(changed.stats.unchanged).toBe(sources().length - 1);

    const reloaded = await KbIndex.load(file);
    expect(reloaded?.search('sqrt rank').hits[0].path).toBe('docs/lora.md');
    // Words only the old lora.md and the deleted style-transfer.md had.
    expect(reloaded?.search('completions').hits).toEqual([]);
    expect(reloaded?.search('768').hits).toEqual([]);
    expect(reloaded?.documentCount).toBe(changed.stats.documents);
  });

  it('indexes user entries with their title and tags', async () => {
    const { addEntry } = await import('../../../projects/kb/entries.js');
    await addEntry(entries, {
      title: 'Notes on int8',
      body: 'Per-channel scales beat per-tensor.',
      tags: ['calibration'],
    });
    const { index } = await refreshIndex(file, sources());
    const hit = index.search('int8 calibration', { kinds: ['entry'] }).hits[0];
    expect(hit).toMatchObject({ kind: 'entry', source: 'entry:notes-on-int8', title: 'Notes on int8' });
  });

  it('a saved index answers exactly as the one in memory', async () => {
    const { index } = await refreshIndex(file, sources());
    const loaded = await KbIndex.load(file);
    for (const q of ['quantize 4 bit', 'rank alpha', 'median runs']) {
      expect(loaded?.search(q).hits).toEqual(index.search(q).hits);
    }
  });
});

describe('kb index files that cannot be used', () => {
  it('a truncated file is refused with its name and the fix, and refreshIndex rebuilds it', async () => {
    await refreshIndex(file, sources());
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
    await expect(KbIndex.load(file)).rejects.toThrow(KbIndexError);
    await expect(KbIndex.load(file)).rejects.toThrow(/index\.jsonl is unusable .*kb:index --rebuild/);
    const r = await refreshIndex(file, sources());
    expect(r.rebuiltBecause).toMatch(/unusable/);
    expect(r.stats.added).toBe(sources().length);
    expect((await KbIndex.load(file))?.search('quantize').hits[0].title).toBe('compression:quantize');
  });

  it('an index from another analyzer version or another file format is refused', () => {
    const text = KbIndex.empty().serialize();
    const [header, body] = text.split('\n');
    const other = JSON.stringify({ ...JSON.parse(header), analyzer: 999 });
    expect(() => KbIndex.parse(`${other}\n${body}\n`, 'x.jsonl')).toThrow(/analyzer 999/);
    expect(() => KbIndex.parse('{"format":"something else"}\n{}\n', 'x.jsonl')).toThrow(/does not name/);
    expect(() => KbIndex.parse(`${header}\n`, 'x.jsonl')).toThrow(/search index does not load/);
  });
});
