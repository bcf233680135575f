/**
 * A model folder on disk (models/sd/folder.ts `ModelFolder`): files opened for positional reads, a missing
 * file reported as null so the loaders can say which component is absent.
 * @module
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import type { ModelFolder } from '../../models/sd/folder.js';
import { openFileSource } from './file-source.js';

/** The folder at `path`; throws a UsageError when it is not a folder. */
export async function diskFolder(path: string): Promise<ModelFolder> {
  const root = resolve(path);
  let isDir = false;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch {
    throw new UsageError(`${root}: no such model folder`);
  }
  if (!isDir) throw new UsageError(`${root} is a file; a diffusers model is a folder (with model_index.json)`);
  return {
    name: root,
    async open(file: string) {
      const p = join(root, ...file.split('/'));
      try {
        if (!(await stat(p)).isFile()) return null;
      } catch {
        return null;
      }
      return openFileSource(p);
    },
  };
}
