/**
 * The two tokenizers of stories260K against the known facts (../shared/README.md: "Once upon a time" is
 * [1, 403, 407, 261, 378]) and against each other: the llama2.c encoder (run.c's algorithm over tok512.bin)
 * and tokenizer.json through @huggingface/tokenizers describe the same vocabulary, so they must agree on
 * real text. Then the streaming decoder and chat templates.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChatTemplate, chatTemplateFromConfig } from '../../../core/text/chat-template.js';
import { HfTokenizer } from '../../../core/text/hf-tokenizer.js';
import { Llama2cTokenizer, parseLlama2cVocab } from '../../../core/text/llama2c-tokenizer.js';
import { StreamDecoder } from '../../../core/text/stream-decoder.js';
import { type Tokenizer, TokenizerError } from '../../../core/text/tokenizer.js';
import { expectReaderError, modelsDir, repoRoot } from '../../helpers/model-files.js';

const tokBin = readFileSync(join(modelsDir, 'stories260K', 'tok512.bin'));
const hfDir = join(modelsDir, 'stories260K-hf');
const tokenizerJson = JSON.parse(readFileSync(join(hfDir, 'tokenizer.json'), 'utf8'));
const tokenizerConfig = JSON.parse(readFileSync(join(hfDir, 'tokenizer_config.json'), 'utf8'));

const llama2c = new Llama2cTokenizer(parseLlama2cVocab('tok512.bin', tokBin, 512), 'tok512.bin');
const hf = new HfTokenizer({
  tokenizer: tokenizerJson,
  tokenizerFile: 'tokenizer.json',
  config: tokenizerConfig,
  configFile: 'tokenizer_config.json',
  extraEosIds: [2],
});
const paragraphs = readFileSync(join(repoRoot, '..', 'shared', 'data', 'tinystories', 'valid.txt'), 'utf8')
  .split('\n\n')
  .filter((p) => p.length > 0)
  .slice(0, 150);

describe('tokenizers of stories260K', () => {
  it.each([
    ['llama2.c (tok512.bin)', llama2c],
    ['tokenizer.json', hf],
  ] as const)('%s encodes "Once upon a time" as [1, 403, 407, 261, 378] and decodes it back', (_name, tok) => {
    expect(tok.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect(tok.decode([1, 403, 407, 261, 378])).toBe('Once upon a time');
    expect(tok.encode('Once upon a time', { addSpecialTokens: false })).toEqual([403, 407, 261, 378]);
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toContain(2);
    expect(tok.vocabSize).toBe(512);
  });

  it('agree on 150 TinyStories paragraphs and round-trip them', () => {
    let tokens = 0;
    for (const p of paragraphs) {
      const ids = hf.encode(p);
      expect(llama2c.encode(p)).toEqual(ids);
      expect(hf.decode(ids)).toBe(p);
      expect(llama2c.decode(ids)).toBe(p);
      tokens += ids.length;
    }
    expect(tokens).toBeGreaterThan(12_000);
  });

  it('fall back to bytes for characters outside the vocabulary, and agree there too', () => {
    for (const text of ['naïve café 😀 — 日本語', 'tab\tand\nnewline', '  leading spaces', 'x']) {
      const ids = hf.encode(text);
      expect(llama2c.encode(text)).toEqual(ids);
      expect(llama2c.decode(ids)).toBe(text);
      expect(hf.decode(ids)).toBe(text);
    }
    // 😀 is four byte tokens <0xF0> <0x9F> <0x98> <0x80>, ids 3 + byte.
    expect(llama2c.encode('😀', { addSpecialTokens: false }).slice(-4)).toEqual(
      [0xf0, 0x9f, 0x98, 0x80].map((b) => b + 3),
    );
  });

  it('skip special tokens when decoding and reject ids outside the vocabulary', () => {
    expect(llama2c.decode([1, 403, 2])).toBe('Once');
    expect(hf.decode([1, 403, 2])).toBe('Once');
    expect(hf.decode([])).toBe('');
    expect(() => llama2c.decode([512])).toThrow(/token id 512: ids run from 0 to 511/);
  });
});

describe('llama2.c tokenizer files', () => {
  it.each([
    ['a file shorter than its header', tokBin.subarray(0, 2), 512, /too short/],
    [
      'a zero max_token_length',
      Uint8Array.from([0, 0, 0, 0, ...tokBin.subarray(4)]),
      512,
      /max_token_length 0 is not plausible/,
    ],
    ['more tokens than the model has', tokBin, 500, /follow the 500 tokens the model's vocab_size asks for/],
    ['fewer tokens than the model has', tokBin, 600, /truncated at token 512/],
    [
      'a token longer than max_token_length',
      Uint8Array.from([...tokBin.subarray(0, 8), 99, 0, 0, 0]),
      512,
      /token 0 has length 99/,
    ],
  ])('rejects %s', (_what, bytes, vocab, pattern) => {
    expectReaderError(TokenizerError, 'tok.bin', () => parseLlama2cVocab('tok.bin', bytes, vocab), pattern);
  });
});

describe('tokenizer.json files', () => {
  it('names the file and field for malformed files', () => {
    expect(() => new HfTokenizer({ tokenizer: [], tokenizerFile: 't.json' })).toThrow(
      /^t\.json: must hold a JSON object/,
    );
    expect(() => new HfTokenizer({ tokenizer: { model: 3 }, tokenizerFile: 't.json' })).toThrow(
      /^t\.json: "model" must be an object/,
    );
    expect(
      () =>
        new HfTokenizer({
          tokenizer: tokenizerJson,
          tokenizerFile: 't.json',
          config: { eos_token: '<nope>' },
          configFile: 'c.json',
        }),
    ).toThrow(/^c\.json: eos_token "<nope>" is not a token of t\.json/);
    expect(() => new HfTokenizer({ tokenizer: { model: { type: 'Nope' } }, tokenizerFile: 't.json' })).toThrow(
      /^t\.json: cannot build the tokenizer/,
    );
  });
});

/** Streams `ids` through a StreamDecoder one token at a time; returns the chunks. */
function stream(tok: Tokenizer, ids: readonly number[], context: readonly number[] = []): string[] {
  const decoder = new StreamDecoder(tok, context);
  const chunks = ids.map((id) => decoder.push(id));
  chunks.push(decoder.flush());
  return chunks;
}

describe('StreamDecoder', () => {
  it.each([
    ['llama2.c', llama2c],
    ['tokenizer.json', hf],
  ] as const)('%s: chunks join to the full decoding, and no chunk ends inside a character', (_name, tok) => {
    for (const text of [...paragraphs.slice(0, 20), 'naïve 😀😀 日本語 — done', 'é']) {
      const ids = tok.encode(text);
      const chunks = stream(tok, ids.slice(1), ids.slice(0, 1));
      expect(chunks.join('')).toBe(text);
      for (const c of chunks.slice(0, -1)) expect(c).not.toMatch(/\uFFFD/);
    }
  });

  it('holds back the bytes of a multi-byte character until its last byte arrives', () => {
    const ids = llama2c.encode('😀', { addSpecialTokens: false }).slice(-4); // the four byte tokens
    expect(stream(llama2c, ids, [1])).toEqual(['', '', '', '😀', '']);
  });

  it('keeps the space between the prompt and the first generated word', () => {
    const prompt = hf.encode('Once upon a');
    const [time] = hf.encode('Once upon a time').slice(-1);
    expect(stream(hf, [time], prompt).join('')).toBe(' time');
    expect(stream(llama2c, [time], prompt).join('')).toBe(' time');
  });

  it('flushes an incomplete character at the end as U+FFFD', () => {
    expect(stream(llama2c, [0xf0 + 3], [1]).join('')).toBe('\uFFFD');
  });
});

describe('chat templates', () => {
  const template = chatTemplateFromConfig(tokenizerConfig, 'tokenizer_config.json', hf.specialTokens)!;

  it("renders stories260K-hf's template as written: BOS, system text, User:/Assistant: lines", () => {
    const messages = [
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Tell a story' },
    ];
    expect(template.render(messages)).toBe(
      '<s>Be kind.\nUser: Hi\nAssistant: Hello</s>\nUser: Tell a story\nAssistant:',
    );
    expect(template.render(messages.slice(0, 2), { addGenerationPrompt: false })).toBe('<s>Be kind.\nUser: Hi\n');
    // The rendered text carries its own BOS: encoded without special tokens it starts with exactly one.
    const ids = hf.encode(template.render(messages.slice(1, 2)), { addSpecialTokens: false });
    expect(ids[0]).toBe(1);
    expect(ids[1]).not.toBe(1);
  });

  it('takes the "default" entry of a template list, and names the file for bad templates', () => {
    const listed = chatTemplateFromConfig(
      { chat_template: [{ name: 'default', template: '{{ bos_token }}x' }] },
      'c.json',
      {
        bos_token: '<s>',
      },
    );
    expect(listed!.render([])).toBe('<s>x');
    expect(chatTemplateFromConfig({}, 'c.json', {})).toBeNull();
    expect(() => new ChatTemplate('{% if %}', 'c.json', {})).toThrow(/^c\.json: chat_template does not parse/);
    const raising = new ChatTemplate("{{ raise_exception('no system role') }}", 'c.json', {});
    expect(() => raising.render([])).toThrow(/^c\.json: rendering chat_template failed: no system role/);
    expect(() => chatTemplateFromConfig({ chat_template: 5 }, 'c.json', {})).toThrow(/^c\.json: chat_template must be/);
  });
});
