/**
 * What the language-model code needs from a tokenizer, whichever file it came from (a Hugging Face
 * tokenizer.json or a llama2.c tokenizer .bin): text to ids, ids to text, and the special ids that start and
 * end a sequence.
 * @module
 */
import { UsageError } from '../errors.js';

/** A malformed or unusable tokenizer file; the message starts with the file's name and names the field. */
export class TokenizerError extends UsageError {
  override name = 'TokenizerError';
}

export interface EncodeOptions {
  /**
   * Add the tokens the tokenizer's own post-processing adds (BOS for Llama), as Hugging Face's
   * `add_special_tokens`. Default true. Pass false for text that already carries them (a rendered chat
   * template starts with its own BOS).
   */
  readonly addSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** Ids run from 0 to vocabSize - 1. */
  readonly vocabSize: number;
  /** The beginning-of-sequence id, or null when the tokenizer has none. */
  readonly bosId: number | null;
  /** Ids that end generation (EOS and its equivalents); may be empty. */
  readonly eosIds: readonly number[];
  /** The special tokens' texts (`bos_token`, `eos_token`, ...) that chat templates refer to. */
  readonly specialTokens: Readonly<Record<string, string>>;
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * The text of `ids` with special tokens (BOS, EOS, padding) left out. Bytes that do not form whole
   * UTF-8 characters decode to U+FFFD: a streaming caller holds such text back (see StreamDecoder).
   */
  decode(ids: readonly number[]): string;
}
