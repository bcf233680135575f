/**
 * safetensors files on disk: lazy, range-by-range loading and atomic saving.
 * @module
 */
import {
  encodeSafetensors,
  readSafetensors,
  type SafetensorsReader,
  type SafetensorsTensor,
} from '../../core/io/safetensors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { openFileSource } from './file-source.js';

/**
 * Opens `path` and parses its header; tensors are read on request. The file stays open until the reader's
 * `close()` (prefer {@link withSafetensorsFile}, which always closes).
 */
export async function loadSafetensorsFile(path: string): Promise<SafetensorsReader> {
  const source = await openFileSource(path);
  try {
    return await readSafetensors(source);
  } catch (e) {
    await source.close?.();
    throw e;
  }
}

/** Runs `fn` with a reader over `path` and closes the file afterwards, whether `fn` succeeds or throws. */
export async function withSafetensorsFile<T>(path: string, fn: (reader: SafetensorsReader) => Promise<T>): Promise<T> {
  const reader = await loadSafetensorsFile(path);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

/**
 * Writes tensors (and optional string metadata) to `path` atomically: readers see the old file or the whole
 * new one, never a partial write. Tensor order and layout are those of {@link encodeSafetensors}.
 */
export async function saveSafetensorsFile(
  path: string,
  tensors: Readonly<Record<string, SafetensorsTensor>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, { name: path }));
}
