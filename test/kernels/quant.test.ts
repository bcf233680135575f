/**
 * MLX affine quantization against independent oracles: the test vector of
 * ../shared/reference/formats.md §1 (verified with numpy following MLX's CPU code) bit for bit
 * on every available backend, MLX's byte-level unpacker (extract_bits) for the straddled
 * 3/5/6-bit layouts, MLX's own error bound, and quantizedMatmul / quantizedEmbedding against a
 * second formulation (dequantize, then matmul / gather).
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import * as T from '../../index.js';

const backends = await T.availableBackendNames();

/** w_i = (((13·i) mod 32) − 12) / 16: one row of 32 values with both signs, no rounding ties. */
const VECTOR = Array.from({ length: 32 }, (_, i) => (((13 * i) % 32) - 12) / 16);

const TABLE: Record<number, { scale: number; words: string }> = {
  2: { scale: 0xbf180000, words: 'd8b62ddb 761d8762' },
  3: { scale: 0xbe980000, words: '95332a67 e503ca97 74c0e981' },
  4: { scale: 0xbe071c72, words: '28e5b29f d4a18e5b 907d4a17 6c3906c3' },
  5: { scale: 0xbd800000, words: '7cbc165f 38755724 544fe26c 47a05db4 664d3037' },
  6: { scale: 0xbcf96f97, words: '97c4a97f c56f223f e52b4687 7742b11f bd4ea427 67332701' },
  8: { scale: 0xbbf96f97, words: 'c52994ff 218cf65a 83ee52bd e64ab519 42ac107b a40873de 006bd539 63cd319c' },
};

function f32Bits(v: number): number {
  return new Uint32Array(Float32Array.of(v).buffer)[0];
}

const hex = (words: ArrayLike<number>) => Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join(' ');

/** MLX's CPU extract_bits for 3, 5 and 6 bits: codes read byte by byte (mlx/backend/cpu/quantized.cpp). */
function extractBits(bytes: Uint8Array, bits: 3 | 5 | 6): number[] {
  const out: number[] = [];
  const pack = bits === 6 ? 3 : bits;
  for (let at = 0; at < bytes.length; at += pack) {
    const w = bytes.subarray(at, at + pack);
    if (bits === 3) {
      out.push(
        w[0] & 0x7,
        (w[0] & 0x38) >> 3,
        ((w[0] & 0xc0) >> 6) + ((w[1] & 0x1) << 2),
        (w[1] & 0xe) >> 1,
        (w[1] & 0x70) >> 4,
        ((w[1] & 0x80) >> 7) + ((w[2] & 0x3) << 1),
        (w[2] & 0x1c) >> 2,
        (w[2] & 0xe0) >> 5,
      );
    } else if (bits === 5) {
      out.push(
        w[0] & 0x1f,
        ((w[0] & 0xe0) >> 5) + ((w[1] & 0x3) << 3),
        (w[1] & 0x7c) >> 2,
        ((w[1] & 0x80) >> 7) + ((w[2] & 0xf) << 1),
        ((w[2] & 0xf0) >> 4) + ((w[3] & 0x1) << 4),
        (w[3] & 0x3e) >> 1,
        ((w[3] & 0xc0) >> 6) + ((w[4] & 0x7) << 2),
        (w[4] & 0xf8) >> 3,
      );
    } else {
      out.push(
        w[0] & 0x3f,
        ((w[0] >> 6) & 0x03) + ((w[1] & 0x0f) << 2),
        ((w[1] >> 4) & 0x0f) + ((w[2] & 0x03) << 4),
        (w[2] >> 2) & 0x3f,
      );
    }
  }
  return out;
}

/** Codes of whole-word layouts (2, 4, 8 bits): element k of a word at << k·bits. */
function wordCodes(words: Uint32Array, bits: number): number[] {
  const out: number[] = [];
  for (const w of words) for (let k = 0; k < 32 / bits; k++) out.push((w >>> (k * bits)) & ((1 << bits) - 1));
  return out;
}

async function onBackend<R>(name: T.BackendName, fn: () => Promise<R>): Promise<R> {
  const previous = T.getBackendName();
  await T.setBackend(name);
  try {
    return await fn();
  } finally {
    await T.setBackend(previous);
  }
}

describe.each(backends)('the formats.md test vector on %s', (backend) => {
  it.each([2, 3, 4, 5, 6, 8])('%i bits, group 32: words, scale and bias bit for bit', async (bits) => {
    await onBackend(backend, async () => {
      const w = T.tensor(VECTOR, [1, 32]);
      const q = T.quantize(w, { bits, groupSize: 32 });
      try {
        expect(q.weight.dtype).toBe('u32');
        expect(q.weight.shape).toEqual([1, bits]);
        expect(hex(await q.weight.data())).toBe(TABLE[bits].words);
        const [scale] = await q.scales.data();
        expect(f32Bits(scale).toString(16)).toBe(TABLE[bits].scale.toString(16));
        expect(Array.from(await q.biases.data())).toEqual([1.1875]);
      } finally {
        T.dispose([w, q.weight, q.scales, q.biases]);
      }
    });
  });

  it('dequantizes 4 bits to the listed values and 5 bits exactly', async () => {
    await onBackend(backend, async () => {
      const got = T.tidy(() => {
        const w = T.tensor(VECTOR, [1, 32]);
        return [
          T.dequantize(T.quantize(w, { bits: 4, groupSize: 32 })),
          T.dequantize(T.quantize(w, { bits: 5, groupSize: 32 })),
        ];
      });
      const four = await got[0].data();
      const want = [-0.79166675, 0.0, 0.9236111, -0.26388896];
      want.forEach((v, i) => {
        expect(Math.abs(four[i] - v)).toBeLessThan(1e-6);
      });
      expect(Math.max(...Array.from(four, (v, i) => Math.abs(v - VECTOR[i])))).toBeCloseTo(0.0625, 6);
      expect(Array.from(await got[1].data())).toEqual(VECTOR);
      T.dispose(got);
    });
  });
});

describe.each(backends.filter((b) => b !== 'js'))('quantize on %s against the reference, bit for bit', (backend) => {
  it('every bits × group pair on random rows of both signs and several magnitudes', async () => {
    const rng = new T.Rng(99);
    const values = Array.from({ length: 6 * 384 }, (_, i) => rng.normal() * 10 ** ((i % 7) - 3));
    const shape = [6, 384];
    for (const bits of T.QUANT_BITS) {
      for (const groupSize of T.QUANT_GROUP_SIZES) {
        const read = async (name: T.BackendName) =>
          onBackend(name, async () => {
            const q = T.quantize(T.tensor(values, shape), { bits, groupSize });
            try {
              return [await q.weight.data(), await q.scales.data(), await q.biases.data()].map((a) => Array.from(a));
            } finally {
              T.dispose([q.weight, q.scales, q.biases]);
            }
          });
        expect(await read(backend), `${bits} bits, group ${groupSize}`).toEqual(await read('js'));
      }
    }
  });
});

describe('the packing', () => {
  it('gives the listed 4-bit codes, nibbles LSB first', async () => {
    const q = T.quantize(T.tensor(VECTOR, [1, 32]), { bits: 4, groupSize: 32 });
    expect(wordCodes((await q.weight.data()) as Uint32Array, 4)).toEqual([
      15, 9, 2, 11, 5, 14, 8, 2, 11, 5, 14, 8, 1, 10, 4, 13, 7, 1, 10, 4, 13, 7, 0, 9, 3, 12, 6, 0, 9, 3, 12, 6,
    ]);
    T.dispose([q.weight, q.scales, q.biases]);
  });

  it.each([3, 5, 6] as const)(
    'straddles words at %i bits exactly as MLX’s byte-level unpacker reads them',
    async (bits) => {
      const rng = new T.Rng(bits);
      const values = Array.from({ length: 4 * 128 }, () => rng.normal());
      const q = T.quantize(T.tensor(values, [4, 128]), { bits, groupSize: 32 });
      const words = (await q.weight.data()) as Uint32Array;
      const codes = extractBits(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), bits);
      // Codes recomputed from each group's stored scale and bias (no rounding ties in random data).
      const scales = await q.scales.data();
      const biases = await q.biases.data();
      const want = values.map((v, i) => {
        const g = Math.floor(i / 32);
        return Math.min(Math.max(Math.round(Math.fround(Math.fround(v - biases[g]) / scales[g])), 0), 2 ** bits - 1);
      });
      expect(codes).toEqual(want);
      T.dispose([q.weight, q.scales, q.biases]);
    },
  );

  it('at 3 bits puts element 10 in bits 30–31 of word 0 and bit 0 of word 1', async () => {
    // Every element 0 except element 10 = 7 (all three bits set); the max is the edge (q = 0).
    const values = new Array(32).fill(1);
    values[10] = 0;
    values[0] = 0;
    const q = T.quantize(T.tensor(values, [1, 32]), { bits: 3, groupSize: 32 });
    const words = (await q.weight.data()) as Uint32Array;
    expect(words[0] >>> 30).toBe(3);
    expect(words[1] & 1).toBe(1);
    T.dispose([q.weight, q.scales, q.biases]);
  });
});

describe('quantize edge cases (MLX CPU semantics)', () => {
  it('all zeros: scale −1e-7 (f32), bias 0, exact zeros back', async () => {
    const q = T.quantize(T.zeros([2, 64]), { bits: 4, groupSize: 64 });
    expect(Array.from(await q.scales.data())).toEqual([Math.fround(-1e-7), Math.fround(-1e-7)]);
    expect(Array.from(await q.biases.data())).toEqual([0, 0]);
    expect(Array.from(await T.dequantize(q).data())).toEqual(new Array(128).fill(0));
  });

  it('a constant group is exact (every code 0, bias = the constant)', async () => {
    const q = T.quantize(T.full([1, 32], -0.3), { bits: 2, groupSize: 32 });
    expect(Array.from(await q.weight.data())).toEqual([0, 0]);
    expect(Array.from(await q.biases.data())).toEqual([Math.fround(-0.3)]);
    expect(Array.from(await T.dequantize(q).data())).toEqual(new Array(32).fill(Math.fround(-0.3)));
  });

  it('an all-negative group takes its true max (the CPU, not the GPU kernels’ running max from 0)', async () => {
    // min −2 dominates: scale = (max − min)/15 with max = −0.5, edge = min, so q(min) = 0.
    const values = Array.from({ length: 32 }, (_, i) => -2 + (1.5 * i) / 31);
    const q = T.quantize(T.tensor(values, [1, 32]), { bits: 4, groupSize: 32 });
    const [scale] = await q.scales.data();
    expect(scale).toBeCloseTo(1.5 / 15, 6);
    expect((await q.biases.data())[0]).toBe(-2);
  });

  it('keeps f16 and bf16 scales in the weight’s dtype', async () => {
    for (const dtype of ['f16', 'bf16'] as const) {
      const q = T.quantize(T.tensor(VECTOR, [1, 32], dtype), { bits: 4, groupSize: 32 });
      expect([q.scales.dtype, q.biases.dtype]).toEqual([dtype, dtype]);
      expect(hex(await q.weight.data())).toBe(TABLE[4].words); // every VECTOR value is exact in both
      expect(T.dequantize(q).dtype).toBe(dtype);
    }
  });

  it.each([2, 3, 4, 5, 6, 8].flatMap((bits) => [32, 64, 128].map((g) => [bits, g])))(
    '%i bits, group %i: |ŵ − w| ≤ |scale| (MLX’s own bound), and ≤ |scale|/2 inside the covered range',
    async (bits, groupSize) => {
      const rng = new T.Rng(bits * 1000 + groupSize);
      const values = Array.from({ length: 3 * 256 }, () => rng.normal());
      const q = T.quantize(T.tensor(values, [3, 256]), { bits, groupSize });
      const back = await T.dequantize(q).data();
      const scales = await q.scales.data();
      const biases = await q.biases.data();
      const top = 2 ** bits - 1;
      values.forEach((v, i) => {
        const g = Math.floor(i / groupSize);
        const s = Math.abs(scales[g]);
        const err = Math.abs(back[i] - Math.fround(v));
        expect(err).toBeLessThanOrEqual(s * (1 + 1e-5));
        // Codes 0..top cover [bias, bias + top·scale]: inside it, rounding is off by at most half a step.
        const code = (Math.fround(v) - biases[g]) / scales[g];
        if (code >= 0 && code <= top) expect(err).toBeLessThanOrEqual(s * (0.5 + 1e-5));
      });
    },
  );
});

describe('quantize input checks', () => {
  const w = () => T.randomNormal([4, 64]);
  it('rejects bits and group sizes MLX rejects, naming the value', () => {
    expect(() => T.quantize(w(), { bits: 7 })).toThrow(/bits must be one of 2, 3, 4, 5, 6, 8.*got 7/);
    expect(() => T.quantize(w(), { groupSize: 16 })).toThrow(/groupSize must be one of 32, 64, 128, got 16/);
  });
  it('rejects a last dimension not divisible by the group size, a vector and an integer weight', () => {
    expect(() => T.quantize(T.zeros([2, 96]), { groupSize: 64 })).toThrow(
      /last dimension 96 .* not divisible by the group size 64/,
    );
    expect(() => T.quantize(T.zeros([64]))).toThrow(/rank >= 2/);
    expect(() => T.quantize(T.zeros([2, 64], 'i32'))).toThrow(/needs an f32, f16 or bf16 weight, got i32/);
  });
  it('rejects non-finite weights, naming the element', () => {
    const values = new Array(64).fill(0.5);
    values[37] = Number.NaN;
    expect(() => T.quantize(T.tensor(values, [1, 64]))).toThrow(
      /weight element 37 is NaN; quantization needs finite weights/,
    );
  });
  it('rejects mismatched packed triplets', () => {
    const q = T.quantize(w(), { bits: 4, groupSize: 32 });
    expect(() => T.dequantize({ ...q, bits: 8 })).toThrow(/unpacks to \[4, 32\].*needs scales and biases \[4, 1\]/);
    expect(() => T.dequantize({ ...q, biases: T.cast(q.biases, 'f16') })).toThrow(/biases are f16 but scales are f32/);
    expect(() => T.dequantize({ ...q, weight: T.cast(q.weight, 'i32') })).toThrow(/packed weight must be u32/);
  });
});

describe('quantizedMatmul and quantizedEmbedding against dequantize + matmul / gather', () => {
  it.each([
    [4, 64, true],
    [3, 32, true],
    [6, 128, false],
  ] as const)('%i bits, group %i, transpose %s', async (bits, groupSize, transpose) => {
    const rng = new T.Rng(bits);
    const [rows, cols] = transpose ? [33, 256] : [96, 384];
    const q = T.quantize(T.randomNormal([rows, cols], 0, 1, { rng }), { bits, groupSize });
    const x = T.randomNormal([2, 7, transpose ? cols : rows], 0, 1, { rng });
    const got = await T.quantizedMatmul(x, q, { transpose }).data();
    const want = await T.matmul(x, T.dequantize(q), { transposeB: transpose }).data();
    expect(got.length).toBe(want.length);
    want.forEach((v, i) => {
      expect(Math.abs(got[i] - v)).toBeLessThan(1e-4 * (1 + Math.abs(v)));
    });
  });

  it('embeds rows as gather of the dequantized table, negative ids from the end', async () => {
    const q = T.quantize(T.randomNormal([33, 64]), { bits: 5, groupSize: 32 });
    const ids = T.tensor([0, 32, -1, 7, 7, 12], [2, 3], 'i32');
    const got = T.quantizedEmbedding(ids, q);
    expect(got.shape).toEqual([2, 3, 64]);
    expect(Array.from(await got.data())).toEqual(Array.from(await T.gather(T.dequantize(q), ids, 0).data()));
    expect(() => T.quantizedEmbedding(T.tensor([33], [1], 'i32'), q)).toThrow(
      /id 33 is out of range for a table of 33 rows/,
    );
  });
});
