/**
 * The llama2.c checkpoint reader: the real stories260K.bin (v0, shared classifier), and synthetic v0 (separate
 * classifier), v1 and v2 (Q8_0) files written here the way llama2.c's export.py writes them; malformed files
 * fail with a Llama2cError naming the file and the field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../../../core/io/bytes.js';
import { checkLlama2cSize, Llama2cError, parseLlama2c, readLlama2c } from '../../../core/io/llama2c.js';
import { llama2cWeightSource } from '../../../models/llama/load.js';
import { randomWeights, type TinyShape, writeLlama2c } from '../../helpers/llama-files.js';
import { expectReaderError, modelsDir } from '../../helpers/model-files.js';

const STORIES = join(modelsDir, 'stories260K', 'stories260K.bin');
const SHAPE: TinyShape = { hidden: 16, intermediate: 24, layers: 2, heads: 4, kvHeads: 2, vocab: 40 };

describe('llama2.c checkpoints', () => {
  it('reads stories260K.bin: the documented header (dim 64, 5 layers, 8/4 heads, vocab 512, seq 512, hidden 172)', async () => {
    const bytes = readFileSync(STORIES);
    const ck = await readLlama2c(bytesSource('stories260K.bin', bytes));
    expect(ck.header).toMatchObject({
      version: 0,
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
    });
    expect(ck.tensors.get('wk')!.shape).toEqual([5, 32, 64]);
    expect(ck.tensors.has('wcls')).toBe(false);
    // The first embedding value, read straight from the file (after the 28-byte header).
    expect(ck.tensors.get('tok_embeddings')!.data[0]).toBe(
      new DataView(bytes.buffer, bytes.byteOffset).getFloat32(28, true),
    );
    // rms_final sits right before the two RoPE tables at the end of the file.
    const tables = 2 * 512 * 4 * 4;
    expect(ck.tensors.get('rms_final')!.data[63]).toBe(
      new DataView(bytes.buffer, bytes.byteOffset).getFloat32(bytes.length - tables - 4, true),
    );
  });

  it('sizes a checkpoint from its header alone: stories260K holds 264128 floats; a separate classifier adds vocab·dim', () => {
    const head = (vocab: number) => new Uint8Array(new Int32Array([64, 172, 5, 8, 4, vocab, 512]).buffer);
    expect(checkLlama2cSize('s.bin', head(512), 28 + 4 * 264128).sharedClassifier).toBe(true);
    expect(checkLlama2cSize('s.bin', head(-512), 28 + 4 * (264128 + 512 * 64)).sharedClassifier).toBe(false);
    expect(() => checkLlama2cSize('s.bin', head(512), 28 + 4 * 264128 + 1)).toThrow(
      /implies 1056540 bytes but the file has 1056541/,
    );
  });

  for (const version of [0, 1, 2] as const) {
    for (const untied of [false, true]) {
      it(`v${version}, ${untied ? 'separate' : 'shared'} classifier: every array comes back${version === 2 ? ' dequantized as export.py quantized it' : ' exactly'}`, async () => {
        const shape = { ...SHAPE, untied };
        const weights = randomWeights(shape, 3 + version);
        const file = writeLlama2c(shape, weights, version);
        const ck = parseLlama2c('model.bin', file.bytes);
        expect(ck.header.version).toBe(version);
        expect(ck.header.sharedClassifier).toBe(!untied);
        const source = llama2cWeightSource('model.bin', ck);
        expect([...source.names()].sort()).toEqual([...file.expected.keys()].sort());
        for (const [name, w] of file.expected) {
          expect(source.fileOf(name)).toBe('model.bin');
          const got = await source.read(name);
          expect(got.shape).toEqual(w.shape);
          expect(Array.from(got.data)).toEqual(Array.from(w.data));
        }
      });
    }
  }

  it('v2 dequantization stays within half a quantization step of the float weights', () => {
    const weights = randomWeights(SHAPE, 9);
    const ck = parseLlama2c('q.bin', writeLlama2c(SHAPE, weights, 2).bytes);
    const orig = weights.get('model.layers.1.mlp.down_proj.weight')!.data;
    const got = ck.tensors.get('w2')!.data.subarray(orig.length); // layer 1
    let max = 0;
    let worst = 0;
    for (let i = 0; i < orig.length; i++) {
      max = Math.max(max, Math.abs(orig[i]));
      worst = Math.max(worst, Math.abs(got[i] - orig[i]));
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual((max / 127) * 0.5 + 1e-7);
  });

  describe('malformed files', () => {
    const good = writeLlama2c(SHAPE, randomWeights(SHAPE), 1).bytes;
    const edit = (bytes: Uint8Array, at: number, value: number, type: 'i32' | 'f32' | 'u8' = 'i32') => {
      const b = bytes.slice();
      const v = new DataView(b.buffer);
      if (type === 'i32') v.setInt32(at, value, true);
      else if (type === 'f32') v.setFloat32(at, value, true);
      else b[at] = value;
      return b;
    };
    const parse = (bytes: Uint8Array) => () => parseLlama2c('bad.bin', bytes);
    it.each([
      ['a too-short file', good.subarray(0, 10), /too short/],
      ['an unknown version', edit(good, 4, 7), /version 7 is not/],
      ['a zero dim', edit(good, 8, 0), /dim is 0; it must be positive/],
      ['n_heads not dividing dim', edit(good, 20, 3), /dim 16 must split into n_heads 3/],
      ['n_kv_heads not dividing n_heads', edit(good, 24, 3), /n_heads 4 must be a multiple of n_kv_heads 3/],
      ['a bad shared flag', edit(good, 36, 2, 'u8'), /shared_classifier flag is 2/],
      [
        'a truncated file',
        good.subarray(0, good.length - 4),
        /implies at least \d+ bytes but the file has \d+ \(truncated/,
      ],
      ['trailing bytes', Uint8Array.from([...good, 0]), /trailing data/],
      ['a NaN weight', edit(good, 256 + 8, Number.NaN, 'f32'), /rms_att weight 2 is NaN/],
      ['a vocab size that does not match the data', edit(good, 28, 41), /vocab_size 41.* implies/],
    ])('rejects %s', (_what, bytes, pattern) => {
      expectReaderError(Llama2cError, 'bad.bin', parse(bytes), pattern);
    });

    it('rejects a Q8_0 group size that does not divide dim, and a non-finite scale', () => {
      const q = writeLlama2c(SHAPE, randomWeights(SHAPE), 2).bytes;
      expectReaderError(
        Llama2cError,
        'bad.bin',
        parse(edit(q, 37, 5)),
        /group_size 5 must be positive and divide dim 16/,
      );
      // The first scale follows the norms (2·2·16 + 16 floats) and the embedding's 40·16 int8 values.
      const scaleAt = 256 + (2 * 2 * 16 + 16) * 4 + 40 * 16;
      expectReaderError(
        Llama2cError,
        'bad.bin',
        parse(edit(q, scaleAt, Number.POSITIVE_INFINITY, 'f32')),
        /tok_embeddings Q8_0 scale 0 is Infinity/,
      );
    });

    it('reading through a ByteSource gives the same result and the same errors', async () => {
      const ck = await readLlama2c(bytesSource('model.bin', good));
      expect(ck.tensors.get('wq')!.data).toEqual(parseLlama2c('model.bin', good).tensors.get('wq')!.data);
      await expect(readLlama2c(bytesSource('bad.bin', good.subarray(0, 300)))).rejects.toThrow(
        /^bad\.bin: the header .* implies/,
      );
    });
  });
});
