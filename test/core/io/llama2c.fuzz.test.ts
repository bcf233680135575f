/**
 * Property tests on llama2.c files: random byte flips (mostly in the headers) and truncations of a real
 * checkpoint (stories260K.bin, v0), a synthetic Q8_0 one (v2) and the real tokenizer (tok512.bin) either read
 * consistently or fail with the reader's error naming the file — never another error type, an out-of-range
 * read or a hang.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Llama2cError, parseLlama2c } from '../../../core/io/llama2c.js';
import { Llama2cTokenizer, parseLlama2cVocab } from '../../../core/text/llama2c-tokenizer.js';
import { TokenizerError } from '../../../core/text/tokenizer.js';
import { randomWeights, writeLlama2c } from '../../helpers/llama-files.js';
import { modelsDir } from '../../helpers/model-files.js';
import { assertSurvivesByteFlips, readOrReject } from '../../helpers/reader-fuzz.js';

const RUN_TIMEOUT_MS = 2000;
const flipValue = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 0x7f, 0x80, 0xff));

function checkpointCase(name: string, original: Uint8Array, headerBytes: number) {
  const reference = parseLlama2c(name, original);
  const readAll = (bytes: Uint8Array) =>
    readOrReject(Llama2cError, name, () => {
      const ck = parseLlama2c(name, bytes);
      // Whatever parses is consistent: every stacked array has the shape its header implies.
      const { dim, nLayers } = ck.header;
      expect(ck.tensors.get('rms_att')!.data.length).toBe(nLayers * dim);
      for (const t of ck.tensors.values()) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    });
  return { reference, readAll, structure: Array.from({ length: headerBytes }, (_, i) => i) };
}

describe('llama2.c reader fuzz', () => {
  const v0 = Uint8Array.from(readFileSync(join(modelsDir, 'stories260K', 'stories260K.bin')));
  const shape = { hidden: 16, intermediate: 24, layers: 2, heads: 4, kvHeads: 2, vocab: 40, untied: true };
  const v2 = writeLlama2c(shape, randomWeights(shape), 2).bytes;

  for (const [label, original, header, runs] of [
    ['stories260K.bin (v0)', v0, 28, 300],
    ['a Q8_0 checkpoint (v2)', v2, 256, 600],
  ] as const) {
    it(`survives byte flips in ${label} (${runs} runs)`, async () => {
      const { readAll, structure } = checkpointCase('fuzz.bin', original, header);
      await assertSurvivesByteFlips(original, structure, readAll, {
        value: flipValue,
        numRuns: runs,
        timeout: RUN_TIMEOUT_MS,
      });
    });

    it(`rejects every truncation of ${label} (200 runs)`, async () => {
      const { readAll } = checkpointCase('fuzz.bin', original, header);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: original.length - 1 }), async (cut) => {
          expect(readAll(original.subarray(0, cut))).toBe('rejected');
        }),
        { numRuns: 200, timeout: RUN_TIMEOUT_MS },
      );
    });
  }

  it('survives random bytes behind the "ak42" magic (500 runs)', async () => {
    const junk = fc.uint8Array({ minLength: 4, maxLength: 600 }).map((b) => {
      b.set([0x32, 0x34, 0x6b, 0x61]);
      return b;
    });
    await fc.assert(
      fc.asyncProperty(junk, async (bytes) => {
        readOrReject(Llama2cError, 'fuzz.bin', () => parseLlama2c('fuzz.bin', bytes));
      }),
      { numRuns: 500, timeout: RUN_TIMEOUT_MS },
    );
  });
});

describe('llama2.c tokenizer fuzz (tok512.bin)', () => {
  const original = Uint8Array.from(readFileSync(join(modelsDir, 'stories260K', 'tok512.bin')));
  const NAME = 'fuzz-tok.bin';
  const readAll = (bytes: Uint8Array) =>
    readOrReject(TokenizerError, NAME, () => {
      const tok = new Llama2cTokenizer(parseLlama2cVocab(NAME, bytes, 512), NAME);
      // A parsed vocabulary encodes and decodes anything without throwing.
      const ids = tok.encode('Once upon a time, é 😀 ]');
      for (const id of ids) expect(id >= 0 && id < 512).toBe(true);
      tok.decode(ids);
    });

  it('survives byte flips, mostly in the length fields and max_token_length (1000 runs)', async () => {
    // The structural bytes: max_token_length and every token's 8-byte score/length prefix.
    const structure: number[] = [0, 1, 2, 3];
    const view = new DataView(original.buffer);
    for (let at = 4; at < original.length; ) {
      for (let i = 0; i < 8; i++) structure.push(at + i);
      at += 8 + view.getInt32(at + 4, true);
    }
    await assertSurvivesByteFlips(original, structure, readAll, {
      value: flipValue,
      numRuns: 1000,
      timeout: RUN_TIMEOUT_MS,
    });
  });

  it('rejects every truncation (300 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: original.length - 1 }), async (cut) => {
        expect(readAll(original.subarray(0, cut))).toBe('rejected');
      }),
      { numRuns: 300, timeout: RUN_TIMEOUT_MS },
    );
  });
});
