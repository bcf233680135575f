/**
 * Atomic creation of a whole output folder (a model folder): its files are written into a hidden sibling
 * folder, which is renamed into place only when every file is complete, so the target is either absent or
 * whole — never a half-written model that a later command would load. The single files inside are plain
 * writes: the rename of the folder is what makes them visible.
 * @module
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { atomicTempPath, fsyncDir } from './atomic-write.js';

/** True when `path` exists and is a folder with something in it (or is a file). */
async function occupied(path: string): Promise<boolean> {
  try {
    const s = await stat(path);
    return !s.isDirectory() || (await readdir(path)).length > 0;
  } catch {
    return false;
  }
}

/**
 * Creates folder `target` with what `fill(tmpDir)` writes into a temp folder beside it. An existing non-empty
 * `target` is refused (a UsageError naming it: nothing is overwritten); an empty one is replaced. When `fill`
 * throws (or the process is stopped) the temp folder is removed and `target` is untouched.
 */
export async function writeDirAtomic(
  target: string,
  fill: (dir: string) => Promise<void>,
  option = '--output',
): Promise<void> {
  const dir = resolve(target);
  if (await occupied(dir)) {
    throw new UsageError(`${option} ${target}: already exists and is not empty; remove it or choose another folder`);
  }
  try {
    await mkdir(dirname(dir), { recursive: true });
  } catch (e) {
    throw new UsageError(`${option} ${target}: cannot create its parent folder: ${(e as Error).message}`);
  }
  const tmp = atomicTempPath(dir);
  await mkdir(tmp);
  try {
    await fill(tmp);
    // Only an empty folder can be here (checked above); rename cannot replace a folder on every platform.
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  await fsyncDir(dirname(dir));
}
