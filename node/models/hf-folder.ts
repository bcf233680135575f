/**
 * Hugging Face model folders on disk: config.json, the weights (model.safetensors, or the shards that
 * model.safetensors.index.json lists), and the tokenizer files. Parsing is core-side (core/io, core/text,
 * models/llama); this module only finds and opens files, naming each one in its errors.
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.js';
import type { SafetensorsReader } from '../../core/io/safetensors.js';
import { safetensorsWeightSource } from '../../models/llama/load.js';
import type { WeightSource } from '../../models/llama/weights.js';
import { loadSafetensorsFile } from '../io/safetensors-file.js';

/** A JSON file's parsed contents; a missing file, bad UTF-8 or bad JSON is a UsageError naming the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(
      code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new UsageError(`${path}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads a JSON file if it exists, else returns undefined. */
export async function readOptionalJson(path: string): Promise<unknown> {
  return existsSync(path) ? readJsonFile(path) : undefined;
}

/** The weights of a folder as one source, and a way to close the files behind it. */
export interface OpenWeights {
  readonly source: WeightSource;
  close(): Promise<void>;
}

/** The shard files of a model.safetensors.index.json, checked: each listed tensor must be in its shard. */
async function openShards(dir: string, indexPath: string): Promise<SafetensorsReader[]> {
  const index = await readJsonFile(indexPath);
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new UsageError(`${indexPath}: weight_map must be an object mapping tensor names to shard files`);
  }
  const entries = Object.entries(map as Record<string, unknown>);
  for (const [name, file] of entries) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file === '..' || file === '.') {
      throw new UsageError(
        `${indexPath}: weight_map["${name}"] must be a file name in the folder, got ${JSON.stringify(file)}`,
      );
    }
  }
  const files = [...new Set(entries.map(([, file]) => file as string))];
  const readers: SafetensorsReader[] = [];
  try {
    for (const file of files) readers.push(await loadSafetensorsFile(join(dir, file)));
    const byFile = new Map(files.map((f, i) => [f, readers[i]]));
    for (const [name, file] of entries) {
      if (!byFile.get(file as string)!.has(name)) {
        throw new UsageError(`${indexPath}: weight_map puts "${name}" in ${file}, but that file has no such tensor`);
      }
    }
    const listed = new Set(entries.map(([name]) => name));
    for (const r of readers) {
      const extra = r.names.find((n) => !listed.has(n));
      if (extra !== undefined) {
        throw new UsageError(`${r.source.name}: tensor "${extra}" is not in ${indexPath}'s weight_map`);
      }
    }
    return readers;
  } catch (e) {
    await Promise.all(readers.map((r) => r.close()));
    throw e;
  }
}

/** Opens the weights of a Hugging Face folder: model.safetensors.index.json's shards, or model.safetensors. */
export async function openHfWeights(dir: string): Promise<OpenWeights> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  const single = join(dir, 'model.safetensors');
  let readers: SafetensorsReader[];
  if (existsSync(indexPath)) readers = await openShards(dir, indexPath);
  else if (existsSync(single)) readers = [await loadSafetensorsFile(single)];
  else {
    throw new UsageError(
      `${dir}: no model.safetensors or model.safetensors.index.json; a Hugging Face model folder needs its weights ` +
        '(PyTorch .bin weights are not read: convert them to safetensors)',
    );
  }
  try {
    return {
      source: safetensorsWeightSource(dir, readers),
      close: async () => {
        await Promise.all(readers.map((r) => r.close()));
      },
    };
  } catch (e) {
    await Promise.all(readers.map((r) => r.close()));
    throw e;
  }
}
