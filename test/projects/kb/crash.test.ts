// The index survives a crash mid-write: a real process is killed (SIGKILL) while it is replacing
// the index file, and the previous index is still there, whole and searchable.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { refreshIndex } from '../../../projects/kb/kb.js';
import type { KbSource } from '../../../projects/kb/sources.js';
import { KbIndex } from '../../../projects/kb/store.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const writer = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url));

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'projects', 'kb', 'store.js'))) {
    throw new Error('dist/projects/kb/store.js is missing: run `npx tsc -p tsconfig.json` (npm test does) first');
  }
});

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const oldSource: KbSource = {
  id: 'entry:old',
  kind: 'entry',
  title: 'The index before the crash',
  hash: 'old',
  documents: () => [
    {
      id: 'entry:old#0',
      source: 'entry:old',
      kind: 'entry',
      title: 'The index before the crash',
      keywords: '',
      text: 'giraffe',
    },
  ],
};

it('a writer killed mid-write leaves the previous index usable, and the next save clears its temp file', async () => {
  dir = mkdtempSync(join(tmpdir(), 'kb-crash-'));
  const file = join(dir, 'index.jsonl');
  await refreshIndex(file, [oldSource]);
  const before = readFileSync(file, 'utf8');

  const child = fork(writer, [file], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before writing half the index`)));
  });
  const temps = readdirSync(dir).filter((n) => n !== 'index.jsonl');
  expect(temps).toHaveLength(1);
  expect(readFileSync(join(dir, temps[0])).length).toBeGreaterThan(0);
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  // The crash left its half-written temp file, but the index itself is the old one, byte for byte.
  expect(readdirSync(dir).sort()).toEqual([...temps, 'index.jsonl'].sort());
  expect(readFileSync(file, 'utf8')).toBe(before);
  const index = await KbIndex.load(file);
  expect(index?.search('giraffe').hits[0].title).toBe('The index before the crash');
  expect(index?.search('zebra').hits).toEqual([]);

  // The next update writes a new index and removes the dead writer's temp file.
  const next = await refreshIndex(file, [{ ...oldSource, hash: 'changed' }]);
  expect(next.saved).toBe(true);
  expect(readdirSync(dir)).toEqual(['index.jsonl']);
});
