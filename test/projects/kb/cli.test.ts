// kb: commands through the in-process CLI, over the toolkit's real docs and discovered commands,
// with the knowledge base in a temporary EAI_KB_DIR.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverProjects } from '../../../cli/discover.js';
import type { KbHit } from '../../../projects/kb/store.js';
import { runCli } from '../../helpers/run-cli.js';

let dir: string;
let env: Record<string, string>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kb-cli-'));
  env = { EAI_KB_DIR: join(dir, 'kb') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kb = (...argv: string[]) => runCli(argv, { env, cwd: dir });

describe('kb: over the real docs', () => {
  it('kb:index builds the index once, then finds nothing to re-index', async () => {
    const first = await kb('kb:index', '--json');
    expect(first.code).toBe(0);
    const stats = JSON.parse(first.out);
    expect(stats).toMatchObject({ saved: true, updated: 0, removed: 0, unchanged: 0 });
    expect(stats.index).toBe(join(dir, 'kb', 'index.jsonl'));
    expect(existsSync(stats.index)).toBe(true);
    const second = JSON.parse((await kb('kb:index', '--json')).out);
    expect(second).toMatchObject({ saved: false, added: 0, updated: 0, removed: 0, unchanged: stats.added });
  });

  it('indexes the help of every discovered command and the docs the README points to', async () => {
    const { out, code } = await kb('kb:list', '--json');
    expect(code).toBe(0);
    const ids = new Set((JSON.parse(out).sources as { id: string }[]).map((s) => s.id));
    for (const p of (await discoverProjects()).projects) {
      for (const c of p.commands) expect(ids).toContain(`command:${p.namespace}:${c.name}`);
    }
    for (const doc of ['README.md', 'cli/README.md', 'bench/README.md', 'bench/RESULTS.md', 'docs/design-notes.md']) {
      expect(ids).toContain(`doc:${doc}`);
    }
    expect(ids).toContain('command:info');
  });

  it('"quantize 4 bit" ranks quantization material first (and a quantize command, once it exists, in the top 3)', async () => {
    const { out, code } = await kb('kb:search', 'quantize', '4', 'bit', '--limit', '5', '--json');
    expect(code).toBe(0);
    const hits = JSON.parse(out).results as KbHit[];
    expect(hits.length).toBeGreaterThanOrEqual(3);
    // Robust to the docs growing: whatever ranks on top must be about quantization.
    for (const h of hits.slice(0, 3))
      expect(
        h.terms.some((t) => t.startsWith('quant')),
        h.title,
      ).toBe(true);
    const quantize = (await discoverProjects()).projects.flatMap((p) =>
      p.commands.filter((c) => c.name === 'quantize').map((c) => `${p.namespace}:${c.name}`),
    );
    for (const id of quantize) expect(hits.slice(0, 3).map((h) => h.title)).toContain(id);
  });

  it('finds a command by what its help says', async () => {
    const { out } = await kb('kb:search', '--query', 'onnxruntime peers thread counts', '--kind', 'command', '--json');
    expect(JSON.parse(out).results[0].title).toBe('bench:peers');
  });
});

describe('kb: entries', () => {
  it('kb:add indexes an entry at once; kb:remove takes it out', async () => {
    const notes = join(dir, 'notes.md');
    writeFileSync(notes, '# Pelican notes\n\nThe pelican model needs --size 384 on wasm.\n');
    const added = await kb('kb:add', '--title', 'Pelican notes', '--file', notes, '--tags', 'birds,wasm', '--json');
    expect(added.code).toBe(0);
    const { id, file } = JSON.parse(added.out);
    expect(id).toBe('pelican-notes');
    expect(readFileSync(file, 'utf8')).toMatch(/^---\ntitle: Pelican notes\ntags:\n {2}- birds\n {2}- wasm\nadded: /);

    const found = JSON.parse((await kb('kb:search', 'pelican', '--no-refresh', '--json')).out).results;
    expect(found[0]).toMatchObject({ kind: 'entry', source: 'entry:pelican-notes' });

    const clash = await kb('kb:add', '--title', 'Pelican notes', '--text', 'again');
    expect(clash.code).toBe(2);
    expect(clash.err).toMatch(/already exists .*--replace/);

    expect((await kb('kb:remove', 'pelican-notes')).code).toBe(0);
    expect(JSON.parse((await kb('kb:search', 'pelican', '--json')).out).results).toEqual([]);
  });

  it('human output names the file and line of each match', async () => {
    const { out, code } = await kb('kb:search', 'SwiftShader', '--limit', '2', '--kind', 'doc');
    expect(code).toBe(0);
    expect(out).toMatch(/^2 of \d+ matching sections for "SwiftShader":/);
    expect(out).toMatch(/\(doc — [\w/.-]+\.md:\d+; score [\d.]+\)/);
  });
});

describe('kb: help', () => {
  it('shows the words a search takes in its usage line', async () => {
    const { out, code } = await kb('kb:search', '--help');
    expect(code).toBe(0);
    expect(out).toContain('Usage:\n  efficientai-toolkit kb:search <words…> [options]');
    expect(out).toContain('EAI_KB_DIR');
    expect((await kb('kb:remove', '--help')).out).toContain('efficientai-toolkit kb:remove <id…> [options]');
  });
});

describe('kb: bad input', () => {
  it.each([
    [['kb:search', 'x', '--kind', 'docs'], /--kind: unknown kind 'docs'; choose from doc, command, entry/],
    [['kb:search'], /missing required option --query/],
    [['kb:search', 'a', '--query', 'b'], /give the query either as bare words or with --query, not both/],
    [['kb:add', '--title', 'x'], /exactly one of --text TEXT or --file FILE\.md/],
    [['kb:add', '--title', 'x', '--file', 'missing.md'], /--file: cannot read .*missing\.md: ENOENT/],
    [['kb:add', '--title', 'x', '--text', 'y', '--id', 'Bad Id'], /--id: 'Bad Id' is not an entry id/],
    [['kb:remove', 'no-such-entry'], /no entry 'no-such-entry'/],
  ])('%j is a usage error', async (argv, message) => {
    const r = await kb(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('--no-refresh without an index says how to build one', async () => {
    const r = await runCli(['kb:search', 'x', '--no-refresh'], { env: { EAI_KB_DIR: join(dir, 'empty') }, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no knowledge-base index at .*index\.jsonl yet: run kb:index/);
  });
});
