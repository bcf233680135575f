/**
 * Incremental detokenization: text chunks as tokens arrive, safe across token boundaries.
 *
 * A token need not be whole characters (byte-fallback tokens such as `<0xE2>` carry one byte of a
 * multi-byte character), and a decoder may treat a sequence's first token specially (SentencePiece drops
 * its leading space). So each token's text is the difference between decoding a short window ending in it
 * and the same window without it, as Hugging Face text-generation-inference does: the window starts a few
 * tokens back (the prefix), which keeps first-token rules out of the difference, and text ending in an
 * incomplete character (U+FFFD) is held back until the bytes that complete it arrive.
 * @module
 */
import type { Tokenizer } from './tokenizer.js';

/** Tokens of context before the unread ones, so decoders' first-token rules do not apply to them. */
const PREFIX_TOKENS = 5;

export class StreamDecoder {
  readonly #tokens: number[];
  #prefixStart: number;
  #readStart: number;

  /** `context`: tokens already shown (the prompt), used only as decoding context; may be empty. */
  constructor(
    private readonly tokenizer: Tokenizer,
    context: readonly number[] = [],
  ) {
    this.#tokens = context.slice(-PREFIX_TOKENS);
    this.#prefixStart = 0;
    this.#readStart = this.#tokens.length;
  }

  /** Adds one token and returns the text it completes ('' while a character is still incomplete). */
  push(token: number): string {
    this.#tokens.push(token);
    return this.#read(false);
  }

  /** The text still held back (an incomplete character at the end decodes to U+FFFD). */
  flush(): string {
    return this.#read(true);
  }

  #read(final: boolean): string {
    if (this.#readStart === this.#tokens.length) return '';
    const prefix = this.tokenizer.decode(this.#tokens.slice(this.#prefixStart, this.#readStart));
    const full = this.tokenizer.decode(this.#tokens.slice(this.#prefixStart));
    if (!final && (full.length <= prefix.length || full.endsWith('\uFFFD'))) return '';
    // The window's decoding normally extends the prefix's; where a decoder rewrites earlier text instead
    // (clean-up rules), the common part is what was already shown.
    let common = 0;
    while (common < prefix.length && prefix.charCodeAt(common) === full.charCodeAt(common)) common++;
    const text = full.slice(common);
    // Keep the window short: the new prefix is the last few tokens read.
    this.#readStart = this.#tokens.length;
    this.#prefixStart = Math.max(0, this.#readStart - PREFIX_TOKENS);
    if (this.#prefixStart > 0) {
      this.#tokens.splice(0, this.#prefixStart);
      this.#readStart -= this.#prefixStart;
      this.#prefixStart = 0;
    }
    return text;
  }
}
