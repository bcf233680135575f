/**
 * `.mlpackage` folders on disk (layout in core/io/coreml.ts). Writing is all or nothing: the package is
 * built in a hidden temporary folder beside the target and renamed into place, so an interrupted write
 * leaves the old package (or nothing), never a partial one.
 * @module
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { buildManifest, CoreMLError, MODEL_ITEM_PATH, rootModelPath, WEIGHTS_ITEM_PATH } from '../../core/io/coreml.js';
import { atomicTempPath, fsyncDir } from '../atomic-write.js';

export interface MlPackageContents {
  /** Data/com.apple.CoreML/model.mlmodel. */
  readonly model: Uint8Array;
  /** Data/com.apple.CoreML/weights/weight.bin as parts in order, or null for a model without weights. */
  readonly weights: readonly Uint8Array[] | null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Write (or replace) the package folder `path`. */
export async function writeMlPackage(path: string, contents: MlPackageContents, signal?: AbortSignal): Promise<void> {
  const target = resolve(path);
  if ((await exists(target)) && !(await stat(target)).isDirectory()) {
    throw new CoreMLError(
      `${target}: exists and is not a folder; an .mlpackage is a folder (remove the file or pick another name)`,
    );
  }
  const tmp = atomicTempPath(target);
  try {
    const data = join(tmp, 'Data');
    await mkdir(join(data, WEIGHTS_ITEM_PATH), { recursive: true });
    await writeFile(join(tmp, 'Manifest.json'), buildManifest());
    await writeFile(join(data, MODEL_ITEM_PATH), contents.model);
    if (contents.weights) {
      signal?.throwIfAborted();
      await writeFile(join(data, WEIGHTS_ITEM_PATH, 'weight.bin'), contents.weights);
    }
    signal?.throwIfAborted();
    if (await exists(target)) {
      const old = atomicTempPath(target);
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  await fsyncDir(dirname(target));
}

/** Read a package folder: the root model's bytes and its weight file (null when the package has none). */
export async function readMlPackage(path: string): Promise<{ model: Uint8Array; weights: Uint8Array | null }> {
  const root = resolve(path);
  let manifest: string;
  try {
    manifest = await readFile(join(root, 'Manifest.json'), 'utf8');
  } catch {
    throw new CoreMLError(`${root}: no Manifest.json; not an .mlpackage folder`);
  }
  const modelPath = join(root, 'Data', rootModelPath(root, manifest));
  let model: Uint8Array;
  try {
    model = await readFile(modelPath);
  } catch {
    throw new CoreMLError(`${root}: Manifest.json names ${modelPath}, which is missing`);
  }
  const weightFile = join(dirname(modelPath), 'weights', 'weight.bin');
  const weights = (await exists(weightFile)) ? await readFile(weightFile) : null;
  return { model, weights };
}
