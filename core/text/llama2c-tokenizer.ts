/**
 * The llama2.c tokenizer: its .bin vocabulary file and its encoder/decoder, as karpathy/llama2.c's run.c
 * implements them (`build_tokenizer`, `encode`, `decode`).
 *
 * File layout (tokenizer.py `export`): a little-endian uint32 `max_token_length`, then for each token a
 * float32 score, an int32 byte length and that many UTF-8 bytes (no terminator). The vocabulary size is not
 * stored: it is the model's `vocab_size`. Export rewrote SentencePiece's "▁" as a plain space and BOS/EOS as
 * "\n<s>\n" / "\n</s>\n"; ids 0, 1, 2 are <unk>, BOS and EOS, and byte-fallback pieces are spelled `<0xNN>`.
 *
 * Encoding (run.c `encode`): a dummy-prefix space token, then one token per UTF-8 character (or its bytes'
 * `<0xNN>` tokens when the character is not a piece), then repeatedly merge the adjacent pair whose
 * concatenation is the piece with the highest score (the leftmost on ties) until no pair merges.
 * @module
 */
import type { ByteSource } from '../io/bytes.js';
import { type EncodeOptions, type Tokenizer, TokenizerError } from './tokenizer.js';

export const LLAMA2C_UNK = 0;
export const LLAMA2C_BOS = 1;
export const LLAMA2C_EOS = 2;

/** The parsed vocabulary file. Pieces are kept as bytes: a piece need not be valid UTF-8 on its own. */
export interface Llama2cVocab {
  readonly maxTokenLength: number;
  readonly pieces: readonly Uint8Array[];
  readonly scores: Float32Array;
}

/**
 * Parses a llama2.c tokenizer file. `vocabSize` (the model header's) is how many tokens to read; without it
 * every token in the file is read. Throws a TokenizerError naming `file` and the token for truncated data,
 * a negative length, a piece longer than `max_token_length`, a non-finite score, or bytes left over.
 */
export function parseLlama2cVocab(file: string, bytes: Uint8Array, vocabSize?: number): Llama2cVocab {
  if (vocabSize !== undefined && (!Number.isSafeInteger(vocabSize) || vocabSize < 3)) {
    throw new TokenizerError(`${file}: vocab size ${vocabSize} must be an integer >= 3 (<unk>, BOS and EOS)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) {
    throw new TokenizerError(
      `${file}: ${bytes.length} bytes is too short for a llama2.c tokenizer (it starts with a 4-byte max_token_length)`,
    );
  }
  const maxTokenLength = view.getUint32(0, true);
  if (maxTokenLength === 0 || maxTokenLength > 1 << 16) {
    throw new TokenizerError(
      `${file}: max_token_length ${maxTokenLength} is not plausible (expected 1..65536); is this a llama2.c tokenizer .bin?`,
    );
  }
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let at = 4;
  while (vocabSize === undefined ? at < bytes.length : pieces.length < vocabSize) {
    const id = pieces.length;
    if (at + 8 > bytes.length) {
      throw new TokenizerError(
        `${file}: truncated at token ${id}: its score and length need bytes [${at}, ${at + 8}) but the file has ${bytes.length}` +
          (vocabSize === undefined ? '' : ` (the model's vocab_size is ${vocabSize}; is this its tokenizer?)`),
      );
    }
    const score = view.getFloat32(at, true);
    const length = view.getInt32(at + 4, true);
    if (!Number.isFinite(score))
      throw new TokenizerError(`${file}: token ${id} has score ${score}; scores must be finite`);
    if (length < 0 || length > maxTokenLength) {
      throw new TokenizerError(
        `${file}: token ${id} has length ${length}; lengths must be 0..max_token_length (${maxTokenLength})`,
      );
    }
    at += 8;
    if (at + length > bytes.length) {
      throw new TokenizerError(
        `${file}: truncated in token ${id}: its ${length} bytes at offset ${at} run past the end of the file (${bytes.length} bytes)`,
      );
    }
    pieces.push(bytes.slice(at, at + length));
    scores.push(score);
    at += length;
  }
  if (pieces.length < 3) {
    throw new TokenizerError(
      `${file}: holds ${pieces.length} tokens; a llama2.c vocabulary starts with <unk>, BOS, EOS`,
    );
  }
  if (at !== bytes.length) {
    throw new TokenizerError(
      `${file}: ${bytes.length - at} bytes follow the ${pieces.length} tokens the model's vocab_size asks for; ` +
        'the tokenizer does not match the model (use the tokenizer the checkpoint was trained with)',
    );
  }
  return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
}

/** Reads and parses a tokenizer .bin through a ByteSource (see {@link parseLlama2cVocab}). */
export async function readLlama2cVocab(source: ByteSource, vocabSize?: number): Promise<Llama2cVocab> {
  return parseLlama2cVocab(source.name, await source.read(0, source.size), vocabSize);
}

// Pieces are looked up by their bytes; a "binary string" (one char per byte) is an exact, cheap map key.
function binaryString(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** The llama2.c tokenizer over a parsed vocabulary. */
export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = LLAMA2C_BOS;
  /** run.c ends a sample at BOS (which starts the next story in llama2.c's training data); EOS ends it too. */
  readonly eosIds: readonly number[] = [LLAMA2C_EOS, LLAMA2C_BOS];
  readonly specialTokens: Readonly<Record<string, string>> = {
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
  };
  readonly #keys: string[];
  readonly #ids = new Map<string, number>();
  /** Id of the `<0xNN>` piece for each byte, or <unk> where the vocabulary lacks it. */
  readonly #byteIds = new Int32Array(256).fill(LLAMA2C_UNK);
  /** The bytes each id decodes to (byte pieces give their byte). */
  readonly #decoded: Uint8Array[];
  readonly #spaceId: number;

  constructor(
    readonly vocab: Llama2cVocab,
    readonly file = 'llama2.c tokenizer',
  ) {
    this.vocabSize = vocab.pieces.length;
    this.#keys = vocab.pieces.map(binaryString);
    // run.c sorts the vocabulary and binary-searches it, so a duplicated piece resolves to one of its ids;
    // keeping the first is deterministic.
    this.#keys.forEach((key, id) => {
      if (!this.#ids.has(key)) this.#ids.set(key, id);
    });
    this.#decoded = vocab.pieces.map((piece, id) => {
      const m = BYTE_PIECE.exec(this.#keys[id]);
      if (!m) return piece;
      const byte = Number.parseInt(m[1], 16);
      if (this.#byteIds[byte] === LLAMA2C_UNK) this.#byteIds[byte] = id;
      return Uint8Array.of(byte);
    });
    const space = this.#ids.get(' ');
    if (space === undefined) {
      throw new TokenizerError(
        `${file}: the vocabulary has no " " piece, which run.c's encoder prepends to every text`,
      );
    }
    this.#spaceId = space;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const tokens: number[] = [];
    if (options.addSpecialTokens ?? true) tokens.push(LLAMA2C_BOS);
    if (text.length === 0) return tokens;
    const start = tokens.length;
    tokens.push(this.#spaceId);
    const encoder = new TextEncoder();
    for (const char of text) {
      const bytes = encoder.encode(char);
      const id = this.#ids.get(binaryString(bytes));
      if (id !== undefined) tokens.push(id);
      else for (const b of bytes) tokens.push(this.#byteIds[b]);
    }
    this.#merge(tokens, start);
    return tokens;
  }

  /** run.c's greedy merge loop from `start` on (BOS is never part of a merge there either, in practice). */
  #merge(tokens: number[], start: number): void {
    const { scores } = this.vocab;
    for (;;) {
      let bestScore = Number.NEGATIVE_INFINITY;
      let bestId = -1;
      let bestAt = -1;
      for (let i = start; i < tokens.length - 1; i++) {
        const id = this.#ids.get(this.#keys[tokens[i]] + this.#keys[tokens[i + 1]]);
        if (id !== undefined && scores[id] > bestScore) {
          bestScore = scores[id];
          bestId = id;
          bestAt = i;
        }
      }
      if (bestAt < 0) return;
      tokens.splice(bestAt, 2, bestId);
    }
  }

  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(`${this.file}: cannot decode token id ${id}: ids run from 0 to ${this.vocabSize - 1}`);
      }
      if (id <= LLAMA2C_EOS) continue;
      parts.push(this.#decoded[id]);
      length += this.#decoded[id].length;
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const text = new TextDecoder('utf-8').decode(bytes);
    // SentencePiece drops the dummy-prefix space of the first piece (run.c: after BOS).
    return text.startsWith(' ') ? text.slice(1) : text;
  }
}
