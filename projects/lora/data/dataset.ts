/**
 * A tokenized data split (train, valid or test) as mlx-lm builds one: every record of a jsonl text encoded
 * once, with its prompt offset, its line for messages, and the checks mlx-lm leaves to a crash later
 * (no records, a mix of formats, a record with nothing left to train). Browser-safe: the text is passed in.
 * @module
 */
import { UsageError } from '../../../core/errors.js';
import type { ChatTemplate } from '../../../core/text/chat-template.js';
import type { Tokenizer } from '../../../core/text/tokenizer.js';
import {
  DEFAULT_FEATURES,
  type EncodeRecordOptions,
  encodeRecord,
  type FeatureKeys,
  parseJsonl,
  type RecordFormat,
  recordFormat,
} from './records.js';

/** One tokenized record. */
export interface Example {
  readonly ids: readonly number[];
  /** First trained target position (the prompt's length with --mask-prompt, else 0). */
  readonly offset: number;
  /** Line in the file, for messages. */
  readonly line: number;
}

export interface Dataset {
  /** The file (or a name) for messages. */
  readonly file: string;
  readonly format: RecordFormat;
  readonly examples: readonly Example[];
}

export interface DatasetOptions extends EncodeRecordOptions {
  /** Longest sequence trained; longer records are cut (with a warning) as mlx-lm's batching does. */
  readonly maxSeqLength: number;
  /** Where warnings go (default: dropped). */
  readonly warn?: (message: string) => void;
}

/** Tokenize every record of a jsonl text. Errors name the file and line. */
export function datasetFromJsonl(
  file: string,
  text: string,
  tokenizer: Tokenizer,
  chatTemplate: ChatTemplate | null,
  options: DatasetOptions,
): Dataset {
  const records = parseJsonl(file, text);
  if (records.length === 0) throw new UsageError(`${file}: no records (the file is empty or blank)`);
  const keys: FeatureKeys = options.keys ?? DEFAULT_FEATURES;
  const format = recordFormat(file, records[0], keys);
  const examples = records.map((r) => {
    const { ids, offset } = encodeRecord(file, r, format, tokenizer, chatTemplate, options);
    if (ids.length < 2)
      throw new UsageError(`${file}:${r.line}: the record is ${ids.length} token long; nothing to predict`);
    if (offset >= Math.min(ids.length, options.maxSeqLength) - 1) {
      throw new UsageError(
        `${file}:${r.line}: with --mask-prompt nothing of this record is trained: its prompt is ${offset} of ` +
          `${ids.length} tokens and max_seq_length is ${options.maxSeqLength}; shorten the prompt or raise --max-seq-length`,
      );
    }
    return { ids, offset, line: r.line };
  });
  const long = examples.filter((e) => e.ids.length > options.maxSeqLength);
  if (long.length > 0) {
    const longest = long.reduce((a, b) => (b.ids.length > a.ids.length ? b : a));
    options.warn?.(
      `${file}: ${long.length} record${long.length === 1 ? ' is' : 's are'} longer than max_seq_length ` +
        `${options.maxSeqLength} and will be truncated (the longest, line ${longest.line}, has ${longest.ids.length} tokens); ` +
        'consider pre-splitting the data',
    );
  }
  return { file, format, examples };
}
