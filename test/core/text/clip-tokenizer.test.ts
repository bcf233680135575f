/**
 * The CLIP tokenizer against published CLIP ids (the README/NOTICE of ../shared/models/clip-tokenizer quotes them,
 * and they are the ids every Stable Diffusion prompt example shows) and the padding conventions of SD 1.x / 2.x.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../core/errors.js';
import { ClipTokenizer, type ClipTokenizerFiles } from '../../../core/text/clip-tokenizer.js';
import { defaultModelsDir } from '../../../node/paths.js';

const dir = join(defaultModelsDir()!, 'clip-tokenizer');
const files: ClipTokenizerFiles = {
  vocab: readFileSync(join(dir, 'vocab.json'), 'utf8'),
  merges: readFileSync(join(dir, 'merges.txt'), 'utf8'),
  specialTokensMap: readFileSync(join(dir, 'special_tokens_map.json'), 'utf8'),
  tokenizerConfig: readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'),
  name: dir,
};

describe('CLIP BPE tokenizer', () => {
  const tok = new ClipTokenizer(files);

  it('gives the published CLIP ids', () => {
    expect(tok.encode('a photo of a cat')).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(tok.encode('An astronaut riding a horse on Mars', { addSpecialTokens: false })).toEqual([
      550, 18376, 6765, 320, 4558, 525, 7496,
    ]);
    expect(tok.vocabSize).toBe(49408);
    expect(tok.specialTokens).toMatchObject({ bos_token: '<|startoftext|>', pad_token: '<|endoftext|>' });
  });

  it('decodes back to the normalised text (the Tokenizer interface)', () => {
    expect(tok.decode(tok.encode('An astronaut riding a horse on Mars!'))).toBe(
      'an astronaut riding a horse on mars !',
    );
    expect(tok.decode(tok.encodePadded('café ☕'))).toBe('café ☕');
    expect(tok.eosIds).toEqual([49407]);
    expect(tok.bosId).toBe(49406);
  });

  it('normalises case and whitespace, splits digits and punctuation as CLIP does', () => {
    expect(tok.encode('  A   PHOTO\tof a\ncat ')).toEqual(tok.encode('a photo of a cat'));
    // Digits are single pieces; "2024" is four of them.
    const raw = { addSpecialTokens: false };
    expect(tok.encode('2024', raw)).toHaveLength(4);
    expect(tok.encode("it's", raw)).toEqual([...tok.encode('it', raw), ...tok.encode("'s", raw)]);
    // Any text encodes (non-ASCII through the byte encoder) and decodes to known ids.
    for (const id of tok.encode('café ☕ 東京')) expect(id).toBeLessThan(49408);
  });

  it('pads to 77 with the pad token from the files and truncates to BOS + 75 + EOS', () => {
    const ids = tok.encodePadded('a photo of a cat');
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 7)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(new Set(ids.slice(7))).toEqual(new Set([49407]));
    const long = tok.encodePadded('cat '.repeat(100));
    expect(long).toHaveLength(77);
    expect(long[0]).toBe(49406);
    expect(long[76]).toBe(49407);
    expect(long.slice(1, 76)).toEqual(new Array(75).fill(2368));
    // SD 2 exports pad with "!" (id 0).
    const sd2 = new ClipTokenizer({ ...files, specialTokensMap: JSON.stringify({ pad_token: '!' }) });
    expect(sd2.encodePadded('a photo of a cat').slice(6)).toEqual([49407, ...new Array(70).fill(0)]);
    // AddedToken objects are read too.
    const added = new ClipTokenizer({ ...files, specialTokensMap: JSON.stringify({ pad_token: { content: '!' } }) });
    expect(added.pad).toBe(0);
  });

  it('rejects broken files with a message naming the file', () => {
    expect(() => new ClipTokenizer({ ...files, vocab: '{' })).toThrow(UsageError);
    expect(() => new ClipTokenizer({ ...files, vocab: '{' })).toThrow(/vocab\.json: not valid JSON/);
    expect(() => new ClipTokenizer({ ...files, merges: '#version: 0.2\na b c\n' })).toThrow(
      /merges\.txt: line 2 .* expected two symbols/,
    );
    expect(() => new ClipTokenizer({ ...files, specialTokensMap: '{"pad_token": "<nope>"}' })).toThrow(
      /pad_token "<nope>" is not in vocab\.json/,
    );
  });
});
