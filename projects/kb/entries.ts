/**
 * User entries: Markdown files with a small front matter (title, tags, added) in the
 * knowledge base's entries folder, one file per entry, named by its id.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { UsageError } from '../../core/errors.js';
import { writeFileAtomic } from '../../node/atomic-write.js';

const ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_ID = 64;

/** `Quantizing to 4 bits!` → `quantizing-to-4-bits`. */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_ID)
    .replace(/-+$/, '');
  return slug === '' ? 'entry' : slug;
}

/** @throws UsageError when `id` is not lowercase words joined by dashes. */
export function checkEntryId(id: string): string {
  if (!ID.test(id) || id.length > MAX_ID) {
    throw new UsageError(
      `--id: '${id}' is not an entry id; use lowercase letters, digits and dashes, at most ${MAX_ID} characters (e.g. my-notes)`,
    );
  }
  return id;
}

export interface NewEntry {
  readonly title: string;
  /** Markdown. */
  readonly body: string;
  readonly tags?: readonly string[];
  /** Default: the title as a slug. */
  readonly id?: string;
  /** Replace an entry with the same id instead of refusing. */
  readonly replace?: boolean;
  readonly now?: Date;
}

/** The entry's file text: front matter, a blank line, the body. */
export function entryText(e: NewEntry): string {
  const meta = { title: e.title, tags: [...(e.tags ?? [])], added: (e.now ?? new Date()).toISOString() };
  return `---\n${toYaml(meta).trimEnd()}\n---\n\n${e.body.trim()}\n`;
}

/** Write a new entry (atomically); returns its id and file. @throws UsageError on a clash without `replace`. */
export async function addEntry(entriesDir: string, e: NewEntry): Promise<{ id: string; file: string }> {
  if (e.title.trim() === '') throw new UsageError('--title: give the entry a title');
  if (e.body.trim() === '')
    throw new UsageError('the entry is empty: give --text TEXT or --file FILE.md with some Markdown');
  const id = e.id === undefined ? slugify(e.title) : checkEntryId(e.id);
  const file = join(entriesDir, `${id}.md`);
  if (!e.replace && existsSync(file)) {
    throw new UsageError(
      `an entry '${id}' already exists (${file}); pass --replace to overwrite it or --id to choose another id`,
    );
  }
  await mkdir(entriesDir, { recursive: true });
  await writeFileAtomic(file, entryText(e));
  return { id, file };
}

/** Delete entry `id`; returns its file. @throws UsageError when there is no such entry. */
export async function removeEntry(entriesDir: string, id: string): Promise<string> {
  const file = join(entriesDir, `${checkEntryId(id)}.md`);
  if (!existsSync(file)) {
    throw new UsageError(`no entry '${id}' in ${entriesDir}; 'efficientai-toolkit kb:list --kind entry' lists them`);
  }
  await rm(file);
  return file;
}
