/**
 * `--data DIR`: mlx-lm's train.jsonl / valid.jsonl / test.jsonl, each read and tokenized into a {@link Dataset}.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../../core/errors.js';
import type { ChatTemplate } from '../../../core/text/chat-template.js';
import type { Tokenizer } from '../../../core/text/tokenizer.js';
import { type Dataset, type DatasetOptions, datasetFromJsonl } from './dataset.js';

export type SplitName = 'train' | 'valid' | 'test';

/** Why each split is needed, for the message when it is missing. */
const PURPOSE: Record<SplitName, string> = {
  train: 'training needs it',
  valid: 'validation during training needs it',
  test: '--test needs it',
};

async function readText(path: string): Promise<string | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw new UsageError(`${path}: cannot read it: ${(e as Error).message}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${path}: not UTF-8 text`);
  }
}

/** The named splits of a data folder, tokenized; a missing or empty one is an error naming the file. */
export async function loadSplits(
  dir: string,
  names: readonly SplitName[],
  tokenizer: Tokenizer,
  chatTemplate: ChatTemplate | null,
  options: DatasetOptions,
): Promise<Partial<Record<SplitName, Dataset>>> {
  const out: Partial<Record<SplitName, Dataset>> = {};
  for (const name of names) {
    const file = join(dir, `${name}.jsonl`);
    const text = await readText(file);
    if (text === null) {
      throw new UsageError(`${file}: not found (${PURPOSE[name]}); --data takes a folder with mlx-lm's ${name}.jsonl`);
    }
    out[name] = datasetFromJsonl(file, text, tokenizer, chatTemplate, options);
  }
  return out;
}
