/**
 * A diffusers model folder as the loaders see it: files opened by relative path. Node opens them on disk
 * (node/io/model-folder.ts), a browser from the files the user picked; the loaders never touch a file system.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import type { ByteSource } from '../../core/io/bytes.js';
import { readSafetensors, type SafetensorsReader } from '../../core/io/safetensors.js';

export interface ModelFolder {
  /** Shown in messages: a path or a label. */
  readonly name: string;
  /** The file at `path` (relative, '/'-separated), or null when the folder has no such file. */
  open(path: string): Promise<ByteSource | null>;
}

/** `path` of the folder, opened; a missing file is a UsageError naming the folder and the file. */
export async function openRequired(folder: ModelFolder, path: string, what: string): Promise<ByteSource> {
  const source = await folder.open(path);
  if (!source) {
    throw new UsageError(`${folder.name}: no ${path} (${what}); is this a diffusers Stable Diffusion folder?`);
  }
  return source;
}

/** A whole text file of the folder, or null when it is absent. */
export async function readText(folder: ModelFolder, path: string): Promise<string | null> {
  const source = await folder.open(path);
  if (!source) return null;
  try {
    return new TextDecoder().decode(await source.read(0, source.size));
  } finally {
    await source.close?.();
  }
}

/** A JSON file of the folder, parsed; absent or malformed files are UsageErrors naming it. */
export async function readJson(folder: ModelFolder, path: string, what: string): Promise<unknown> {
  const text = await readText(folder, path);
  if (text === null) {
    throw new UsageError(`${folder.name}: no ${path} (${what}); is this a diffusers Stable Diffusion folder?`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${folder.name}/${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * The component's weights file: `<dir>/<base>.safetensors`, or the `.fp16.safetensors` copy when that is all
 * there is or when `preferFp16` (both hold the same tensors; fp16 is half the bytes to read).
 */
export async function openWeights(
  folder: ModelFolder,
  dir: string,
  base: string,
  preferFp16: boolean,
): Promise<SafetensorsReader> {
  const names = preferFp16
    ? [`${dir}/${base}.fp16.safetensors`, `${dir}/${base}.safetensors`]
    : [`${dir}/${base}.safetensors`, `${dir}/${base}.fp16.safetensors`];
  for (const path of names) {
    const source = await folder.open(path);
    if (!source) continue;
    try {
      return await readSafetensors(source);
    } catch (e) {
      await source.close?.();
      throw e;
    }
  }
  throw new UsageError(
    `${folder.name}: no ${names.join(' or ')}; this toolkit reads diffusers folders with safetensors weights ` +
      '(convert .bin/.ckpt files with diffusers first)',
  );
}
