/**
 * The CLIP byte-level BPE tokenizer (OpenAI CLIP `simple_tokenizer.py`, Hugging Face `CLIPTokenizer`) over the
 * files of a `tokenizer/` folder: vocab.json (token → id), merges.txt ("#version" header, then one merge per
 * line, best first) and the special tokens (special_tokens_map.json / tokenizer_config.json).
 *
 * Encoding, as CLIPTokenizer does without ftfy: NFC, whitespace runs collapsed to one space and trimmed, lower
 * case; split with CLIP's pattern (contractions, letter runs, single digits, other-symbol runs); each piece's
 * UTF-8 bytes mapped to printable characters (GPT-2's byte encoder), the last one marked with `</w>`, and pairs
 * merged by rank until none is in the list. `encodePadded` gives the Stable Diffusion input: BOS, the first
 * `maxLength − 2` ids, EOS, then the pad token (read from the files: EOS for SD 1.x, "!" = 0 for SD 2 exports).
 * Browser-safe: the caller reads the files.
 * @module
 */
import { type EncodeOptions, type Tokenizer, TokenizerError } from './tokenizer.js';

/** CLIP's pre-tokenizer pattern (re.IGNORECASE in the original; the text is lower-cased first anyway). */
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/** GPT-2's reversible byte → printable character map (bytes_to_unicode). */
function byteEncoder(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  }
  return table;
}

/** The tokenizer files' text, as read by the caller. */
export interface ClipTokenizerFiles {
  /** vocab.json */
  readonly vocab: string;
  /** merges.txt */
  readonly merges: string;
  /** special_tokens_map.json, if present. */
  readonly specialTokensMap?: string;
  /** tokenizer_config.json, if present. */
  readonly tokenizerConfig?: string;
  /** Named in error messages (the folder). */
  readonly name?: string;
}

type SpecialToken = 'bos_token' | 'eos_token' | 'pad_token';

/** A special token entry is a string or `{"content": "..."}` (AddedToken). */
function specialContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'content' in value && typeof value.content === 'string') {
    return value.content;
  }
  return undefined;
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${name}: not valid JSON (${(e as Error).message})`);
  }
}

export class ClipTokenizer implements Tokenizer {
  readonly #vocab: Map<string, number>;
  readonly #ranks: Map<string, number>;
  readonly #bytes = byteEncoder();
  readonly #unbytes = new Map(this.#bytes.map((ch, b) => [ch, b]));
  readonly #tokens: string[] = [];
  readonly #cache = new Map<string, number[]>();
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  /** Tokens per prompt, BOS and EOS included (77 for every Stable Diffusion). */
  readonly maxLength: number;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, string>>;

  get bosId(): number {
    return this.bos;
  }

  get eosIds(): readonly number[] {
    return [this.eos];
  }

  constructor(files: ClipTokenizerFiles) {
    const name = files.name ?? 'tokenizer';
    const vocab = parseJson(`${name}/vocab.json`, files.vocab);
    if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) {
      throw new TokenizerError(`${name}/vocab.json: expected an object mapping tokens to ids`);
    }
    this.#vocab = new Map();
    const table = vocab as Record<string, unknown>;
    for (const token in table) {
      const id = table[token];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new TokenizerError(
          `${name}/vocab.json: token ${JSON.stringify(token)} has id ${id}; ids are integers ≥ 0`,
        );
      }
      this.#vocab.set(token, id);
      this.#tokens[id] = token;
    }
    this.vocabSize = this.#tokens.length;
    this.#ranks = new Map();
    let rank = 0;
    let lineNo = 0;
    for (const raw of files.merges.split('\n')) {
      lineNo++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if ((lineNo === 1 && line.startsWith('#version')) || line === '') continue;
      const space = line.indexOf(' ');
      if (space <= 0 || space === line.length - 1 || line.indexOf(' ', space + 1) >= 0) {
        throw new TokenizerError(`${name}/merges.txt: line ${lineNo} is ${JSON.stringify(line)}; expected two symbols`);
      }
      if (!this.#ranks.has(line)) this.#ranks.set(line, rank++);
    }
    if (this.#ranks.size === 0) throw new TokenizerError(`${name}/merges.txt: no merges found`);

    const config = files.tokenizerConfig
      ? (parseJson(`${name}/tokenizer_config.json`, files.tokenizerConfig) as Record<string, unknown>)
      : {};
    const map = files.specialTokensMap
      ? (parseJson(`${name}/special_tokens_map.json`, files.specialTokensMap) as Record<string, unknown>)
      : {};
    const texts: Record<string, string> = {};
    const special = (key: SpecialToken, fallback: string): number => {
      const content = specialContent(map[key]) ?? specialContent(config[key]) ?? fallback;
      texts[key] = content;
      const id = this.#vocab.get(content);
      if (id === undefined) {
        throw new TokenizerError(`${name}: the ${key} ${JSON.stringify(content)} is not in vocab.json`);
      }
      return id;
    };
    this.bos = special('bos_token', '<|startoftext|>');
    this.eos = special('eos_token', '<|endoftext|>');
    this.pad = special('pad_token', '<|endoftext|>');
    this.specialTokens = texts;
    const max = config.model_max_length;
    // Some exports write a huge sentinel (1e30) for "no limit"; CLIP's text encoder always takes 77.
    this.maxLength = typeof max === 'number' && Number.isInteger(max) && max >= 2 && max <= 4096 ? max : 77;
  }

  /** BPE ids of `text`, with BOS and EOS around them unless `addSpecialTokens` is false; never truncated. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.#encodeText(text);
    return options.addSpecialTokens === false ? ids : [this.bos, ...ids, this.eos];
  }

  /** The text of `ids` without the special tokens: symbols joined, bytes decoded, `</w>` read as a space. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (id === this.bos || id === this.eos || id === this.pad) continue;
      const token = this.#tokens[id];
      if (token === undefined) throw new TokenizerError(`tokenizer: id ${id} is not in the vocabulary`);
      for (const ch of token.replaceAll('</w>', ' ')) bytes.push(ch === ' ' ? 32 : (this.#unbytes.get(ch) ?? 63));
    }
    return new TextDecoder().decode(Uint8Array.from(bytes)).trim();
  }

  #encodeText(text: string): number[] {
    const clean = text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const match of clean.matchAll(PATTERN)) {
      const piece = match[0];
      const special = this.#vocab.get(piece);
      if (piece.startsWith('<|') && special !== undefined) {
        ids.push(special);
        continue;
      }
      let mapped = '';
      for (const b of new TextEncoder().encode(piece)) mapped += this.#bytes[b];
      ids.push(...this.#bpe(mapped));
    }
    return ids;
  }

  /** `[BOS] + first maxLength−2 ids + [EOS]`, padded to `maxLength` with the pad token. */
  encodePadded(text: string): number[] {
    const body = this.#encodeText(text).slice(0, this.maxLength - 2);
    const ids = [this.bos, ...body, this.eos];
    while (ids.length < this.maxLength) ids.push(this.pad);
    return ids;
  }

  #bpe(token: string): number[] {
    const cached = this.#cache.get(token);
    if (cached) return cached;
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best];
      const b = word[best + 1];
      // Merge every occurrence of the pair, left to right, as the reference does.
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(word[i]);
      }
      word = next;
    }
    const ids = word.map((w) => {
      const id = this.#vocab.get(w);
      // Every byte symbol (with and without </w>) is in CLIP's vocabulary; a file that lacks one is broken.
      if (id === undefined) throw new TokenizerError(`tokenizer: BPE symbol ${JSON.stringify(w)} is not in vocab.json`);
      return id;
    });
    if (this.#cache.size < 10_000) this.#cache.set(token, ids);
    return ids;
  }
}
