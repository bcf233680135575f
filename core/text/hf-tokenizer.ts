/**
 * Hugging Face tokenizers (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers, the
 * pure-JS port of the `tokenizers` library that transformers.js uses. This module adds what the runtime needs
 * around it: the files' names in every error, the special ids, and decoding that skips special tokens.
 * @module
 */
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { type EncodeOptions, type Tokenizer, TokenizerError } from './tokenizer.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A special token given as a string or as an AddedToken object `{content: ...}`, as tokenizer_config.json has both. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

export interface HfTokenizerFiles {
  /** Parsed tokenizer.json, and its name for messages. */
  readonly tokenizer: unknown;
  readonly tokenizerFile: string;
  /** Parsed tokenizer_config.json (absent: {}), and its name. */
  readonly config?: unknown;
  readonly configFile?: string;
  /** Extra end-of-sequence ids (config.json's and generation_config.json's `eos_token_id`). */
  readonly extraEosIds?: readonly number[];
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: readonly number[];
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly #impl: HfTokenizerImpl;
  readonly #special: ReadonlySet<number>;

  constructor(files: HfTokenizerFiles) {
    const { tokenizer, tokenizerFile } = files;
    const configFile = files.configFile ?? 'tokenizer_config.json';
    const config = files.config ?? {};
    if (!isObject(tokenizer)) throw new TokenizerError(`${tokenizerFile}: must hold a JSON object`);
    if (!isObject(tokenizer.model)) {
      throw new TokenizerError(`${tokenizerFile}: "model" must be an object (the BPE/Unigram/WordPiece model)`);
    }
    if (tokenizer.added_tokens !== undefined && !Array.isArray(tokenizer.added_tokens)) {
      throw new TokenizerError(`${tokenizerFile}: "added_tokens" must be an array`);
    }
    if (!isObject(config)) throw new TokenizerError(`${configFile}: must hold a JSON object`);
    // The port expects added_tokens to exist; older files may leave it out.
    const json = { added_tokens: [], ...tokenizer };
    try {
      this.#impl = new HfTokenizerImpl(json, config);
    } catch (e) {
      throw new TokenizerError(
        `${tokenizerFile}: cannot build the tokenizer: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const vocab = this.#impl.get_vocab(true);
    let size = 0;
    for (const id of vocab.values()) size = Math.max(size, id + 1);
    this.vocabSize = size;

    const special = new Set<number>();
    for (const [id, token] of this.#impl.get_added_tokens_decoder()) if (token.special) special.add(id);
    this.#special = special;

    const specialTokens: Record<string, string> = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const text = tokenText(config[key]);
      if (text !== undefined) specialTokens[key] = text;
    }
    this.specialTokens = specialTokens;
    const idOf = (key: string): number | null => {
      const text = specialTokens[key];
      if (text === undefined) return null;
      const id = this.#impl.token_to_id(text);
      if (id === undefined) {
        throw new TokenizerError(`${configFile}: ${key} "${text}" is not a token of ${tokenizerFile}`);
      }
      return id;
    };
    this.bosId = idOf('bos_token');
    const eos = new Set<number>();
    const eosId = idOf('eos_token');
    if (eosId !== null) eos.add(eosId);
    for (const id of files.extraEosIds ?? []) eos.add(id);
    this.eosIds = [...eos];
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.#impl.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[]): string {
    const kept = ids.filter((id) => !this.#special.has(id));
    return kept.length === 0 ? '' : this.#impl.decode(kept);
  }

  /** The token id of a piece, or undefined. */
  tokenToId(piece: string): number | undefined {
    return this.#impl.token_to_id(piece);
  }
}
