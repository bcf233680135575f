import { describe, expect, it } from 'vitest';
import { bf16ArrayToF32, bf16BitsToF32, f32ToF16Bits } from '../../../core/dtype.js';
import { type ByteSource, bytesSource } from '../../../core/io/bytes.js';
import {
  encodeSafetensors,
  FILE_DTYPES,
  type FileDType,
  fileDTypeBytes,
  floatValues,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readSafetensors,
  SafetensorsError,
  type SafetensorsTensor,
} from '../../../core/io/safetensors.js';

const FILE = 'crafted.safetensors';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A file assembled by hand: u64 LE header length, the header bytes, then the data bytes. */
function craft(header: string | Uint8Array, data: Uint8Array | number = 0, declaredLength?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, declaredLength ?? BigInt(h.length), true);
  return concat([prefix, h, d]);
}

function bytesOf(a: ArrayBufferView): number[] {
  return Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

async function expectRejects(bytes: Uint8Array, pattern: RegExp): Promise<SafetensorsError> {
  let caught: unknown;
  try {
    const reader = await readSafetensors(bytesSource(FILE, bytes));
    for (const e of reader.entries) await reader.read(e.name);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SafetensorsError);
  const err = caught as SafetensorsError;
  expect(err.message.startsWith(`${FILE}: `)).toBe(true);
  expect(err.message).toMatch(pattern);
  return err;
}

const entry = (dtype: string, shape: unknown, offsets: unknown) =>
  JSON.stringify({ dtype, shape, data_offsets: offsets });

describe('encodeSafetensors: byte-exact against the spec', () => {
  it('writes the 8-byte length, the compact JSON padded with spaces, then data sorted by element size and name', () => {
    const parts = encodeSafetensors(
      {
        b: { dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) },
        a: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
        c: { dtype: 'I64', shape: [], data: new BigInt64Array([-5n]) },
        h: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      },
      { format: 'pt' },
    );
    // 247 bytes of JSON, so one space of padding makes 8 + 248 a multiple of 8.
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"c":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
      '"h":{"dtype":"F16","shape":[1],"data_offsets":[16,18]},' +
      '"a":{"dtype":"U8","shape":[3],"data_offsets":[18,21]}}';
    expect(json.length).toBe(247);
    const expected = [
      ...[248, 0, 0, 0, 0, 0, 0, 0],
      ...Array.from(json, (ch) => ch.charCodeAt(0)),
      0x20,
      ...[0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // I64 -5
      ...[0x00, 0x00, 0xc0, 0x3f], // F32 1.5 = 0x3fc00000
      ...[0x00, 0x00, 0x00, 0xc0], // F32 -2 = 0xc0000000
      ...[0x00, 0x3c], // F16 1.0
      ...[1, 2, 3],
    ];
    expect(Array.from(concat(parts))).toEqual(expected);
  });

  it('omits empty metadata and writes an empty file as {} padded to 8 bytes', () => {
    const bytes = concat(encodeSafetensors({}, {}));
    expect(Array.from(bytes)).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
  });

  it('escapes names and metadata as JSON strings', () => {
    const bytes = concat(
      encodeSafetensors({ 'q"\\\u00e9': { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }, { 'k\n': 'v"' }),
    );
    const text = new TextDecoder().decode(bytes.subarray(8)).trimEnd();
    expect(text).toBe(
      '{"__metadata__":{"k\\n":"v\\""},"q\\"\\\\\u00e9":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}',
    );
  });
});

describe('reading a hand-built file', () => {
  // Tensors in header order differ from data order on purpose; data: BF16 [1.0, -3.0], F16 [0.5], U8 [7].
  const header =
    '{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},' +
    '"u":{"dtype":"U8","shape":[],"data_offsets":[6,7]},' +
    '"h":{"dtype":"F16","shape":[1,1],"data_offsets":[4,6]},"__metadata__":{"source":"hand"}}   ';
  const data = new Uint8Array([0x80, 0x3f, 0x40, 0xc0, 0x00, 0x38, 7]);
  const file = craft(header, data);

  it('parses entries in data order with absolute offsets', async () => {
    const h = await parseSafetensorsHeader(bytesSource(FILE, file));
    const start = 8 + header.length;
    expect(h.dataStart).toBe(start);
    expect(h.metadata).toEqual({ source: 'hand' });
    expect(h.tensors.map((e) => [e.name, e.dtype, [...e.shape], e.begin - start, e.end - start])).toEqual([
      ['w', 'BF16', [2], 0, 4],
      ['h', 'F16', [1, 1], 4, 6],
      ['u', 'U8', [], 6, 7],
    ]);
  });

  it('reads raw file dtypes and converts to core dtypes', async () => {
    const r = await readSafetensors(bytesSource(FILE, file));
    const w = await r.read('w');
    expect(w.dtype).toBe('BF16');
    expect(w.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(w.data as Uint16Array)).toEqual([0x3f80, 0xc040]);
    const wc = await r.readAsCore('w');
    expect(wc.dtype).toBe('bf16');
    expect(Array.from(bf16ArrayToF32(wc.data as Uint16Array))).toEqual([1, -3]);
    const hc = await r.readAsCore('h');
    expect(hc).toEqual({ dtype: 'f16', fileDType: 'F16', shape: [1, 1], data: new Uint16Array([0x3800]) });
    const uc = await r.readAsCore('u');
    expect(uc).toEqual({ dtype: 'u8', fileDType: 'U8', shape: [], data: new Uint8Array([7]) });
  });

  it('accepts an empty file ({} and no data) and null metadata', async () => {
    expect((await readSafetensors(bytesSource(FILE, craft('{}')))).entries).toEqual([]);
    const r = await readSafetensors(bytesSource(FILE, craft('{"__metadata__":null}')));
    expect(r.metadata).toEqual({});
  });

  it('keeps a tensor named __proto__ and metadata keyed __proto__ as plain data', async () => {
    const r = await readSafetensors(
      bytesSource(FILE, craft(`{"__metadata__":{"__proto__":"x"},"__proto__":${entry('U8', [1], [0, 1])}}`, 1)),
    );
    expect(Object.keys(r.metadata)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(r.metadata, '__proto__')?.value).toBe('x');
    expect(r.names).toEqual(['__proto__']);
  });
});

/** Values per dtype, with each type's edge cases. */
function sample(dtype: FileDType, n: number): SafetensorsTensor['data'] {
  const pick = <T>(vals: T[]) => Array.from({ length: n }, (_, i) => vals[i % vals.length]);
  switch (dtype) {
    case 'F64':
      return Float64Array.from(pick([1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e300, -5e-324]));
    case 'F32':
      return Float32Array.from(pick([1.5, -0, Number.NaN, Number.NEGATIVE_INFINITY, 3.4e38, 1e-45]));
    case 'F16':
    case 'BF16':
    case 'U16':
      return Uint16Array.from(pick([0, 1, 0x7c00, 0xffff, 0x8000, 0x3c00]));
    case 'I64':
      return BigInt64Array.from(pick([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 42n]));
    case 'U64':
      return BigUint64Array.from(pick([0n, 1n, 2n ** 64n - 1n, 2n ** 40n]));
    case 'I32':
      return Int32Array.from(pick([0, -1, 2 ** 31 - 1, -(2 ** 31), 7]));
    case 'U32':
      return Uint32Array.from(pick([0, 1, 2 ** 32 - 1, 2 ** 31]));
    case 'I16':
      return Int16Array.from(pick([0, -1, 32767, -32768]));
    case 'I8':
      return Int8Array.from(pick([0, -1, 127, -128]));
    case 'U8':
      return Uint8Array.from(pick([0, 1, 255, 128]));
    case 'BOOL':
      return Uint8Array.from(pick([0, 1, 1, 0, 0]));
  }
}

describe('round trip', () => {
  it('covers every dtype with 0-d, zero-size and n-d tensors, bit for bit', async () => {
    const shapes: number[][] = [[], [0], [2, 0, 3], [7], [2, 3]];
    const tensors: Record<string, SafetensorsTensor> = {};
    for (const dtype of FILE_DTYPES) {
      for (const shape of shapes) {
        const n = shape.reduce((a, b) => a * b, 1);
        tensors[`${dtype}/${shape.join('x') || 'scalar'}`] = {
          dtype,
          shape,
          data: sample(dtype, n),
        } as SafetensorsTensor;
      }
    }
    expect(FILE_DTYPES.length).toBe(13);
    const meta = { a: '1', 'b\u00e9': '{"nested": true}' };
    const bytes = concat(encodeSafetensors(tensors, meta));
    const r = await readSafetensors(bytesSource(FILE, bytes));
    expect(r.metadata).toEqual(meta);
    expect(new Set(r.names)).toEqual(new Set(Object.keys(tensors)));
    for (const [name, t] of Object.entries(tensors)) {
      const got = await r.read(name);
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(bytesOf(got.data)).toEqual(bytesOf(t.data));
      // The writer's ordering puts every tensor at a file offset aligned to its element size.
      expect(r.entry(name).begin % fileDTypeBytes(t.dtype)).toBe(0);
    }
  });

  it('copies into an aligned buffer when the source returns misaligned views', async () => {
    const bytes = concat(encodeSafetensors({ x: { dtype: 'F64', shape: [2], data: new Float64Array([0.25, -8]) } }));
    const misaligned: ByteSource = {
      name: FILE,
      size: bytes.length,
      async read(offset, length) {
        const backing = new Uint8Array(length + 3);
        backing.set(bytes.subarray(offset, offset + length), 3);
        return backing.subarray(3);
      },
    };
    const r = await readSafetensors(misaligned);
    const x = await r.read('x');
    expect(x.data).toBeInstanceOf(Float64Array);
    expect(Array.from(x.data as Float64Array)).toEqual([0.25, -8]);
  });

  it('returns data the caller owns: mutating it changes neither the source nor a second read', async () => {
    const bytes = concat(encodeSafetensors({ x: { dtype: 'I32', shape: [2], data: new Int32Array([5, 6]) } }));
    const before = Array.from(bytes);
    const r = await readSafetensors(bytesSource(FILE, bytes));
    const first = await r.read('x');
    (first.data as Int32Array)[0] = 99;
    expect(Array.from(bytes)).toEqual(before);
    expect(Array.from((await r.read('x')).data as Int32Array)).toEqual([5, 6]);
  });
});

describe('readAsCore conversions', () => {
  async function core(dtype: FileDType, data: SafetensorsTensor['data'], shape = [data.length]) {
    const bytes = concat(encodeSafetensors({ t: { dtype, shape, data } as SafetensorsTensor }));
    return (await readSafetensors(bytesSource(FILE, bytes))).readAsCore('t');
  }

  it('keeps BF16 as bf16 bits, which widen exactly as bf16BitsToF32 reads them', async () => {
    const bits = new Uint16Array([0x3f80, 0xc040, 0x7f80, 0x0001, 0x8000]);
    const got = await core('BF16', bits);
    expect(got.dtype).toBe('bf16');
    expect(got.data).toEqual(bits);
    expect(Array.from(bf16ArrayToF32(got.data as Uint16Array))).toEqual([
      1,
      -3,
      Number.POSITIVE_INFINITY,
      2 ** -133,
      -0,
    ]);
  });

  it('keeps every BF16 bit pattern, and widening gives the f32 with those upper 16 bits', async () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = await core('BF16', all);
    expect(got.data).toEqual(all);
    const wide = bf16ArrayToF32(got.data as Uint16Array);
    const bits = new Uint32Array(wide.buffer);
    for (let i = 0; i < 65536; i++) {
      if (bits[i] !== i * 65536) throw new Error(`bf16 0x${i.toString(16)} -> 0x${bits[i].toString(16)}`);
      const want = bf16BitsToF32(i);
      if (!Number.isNaN(want) && !Object.is(wide[i], want)) throw new Error(`bf16 0x${i.toString(16)}`);
    }
  });

  it('keeps F32, F64 and F16 bits', async () => {
    expect((await core('F32', new Float32Array([0.1]))).data).toEqual(new Float32Array([0.1]));
    expect((await core('F64', new Float64Array([0.1]))).data).toEqual(new Float64Array([0.1]));
    const f16 = await core('F16', new Uint16Array([f32ToF16Bits(0.5)]));
    expect(f16.dtype).toBe('f16');
    expect(Array.from(f16.data)).toEqual([0x3800]);
  });

  it('keeps I8 as i8 and U32 as u32, values at 2^31 and beyond included (MLX packed weights)', async () => {
    const i8 = await core('I8', new Int8Array([-128, -1, 0, 127]));
    expect([i8.dtype, i8.fileDType]).toEqual(['i8', 'I8']);
    expect(i8.data).toEqual(new Int8Array([-128, -1, 0, 127]));
    const words = new Uint32Array([0, 2 ** 31 - 1, 2 ** 31, 0xd8b62ddb, 2 ** 32 - 1]);
    const u32 = await core('U32', words, [5]);
    expect([u32.dtype, u32.fileDType]).toEqual(['u32', 'U32']);
    expect(u32.data).toEqual(words);
  });

  it('widens I16, U16 and in-range I64/U64 to i32', async () => {
    for (const [dtype, data] of [
      ['I16', new Int16Array([-32768, 32767])],
      ['U16', new Uint16Array([0, 65535])],
      ['I64', new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n])],
      ['U64', new BigUint64Array([0n, 2n ** 31n - 1n])],
    ] as const) {
      const got = await core(dtype, data);
      expect(got.dtype).toBe('i32');
      expect(got.fileDType).toBe(dtype);
      expect(got.data).toBeInstanceOf(Int32Array);
      expect(Array.from(got.data)).toEqual(Array.from(data, Number));
    }
  });

  it('rejects integers outside i32, naming the tensor, the element and the value', async () => {
    await expect(core('I64', new BigInt64Array([1n, 2n, 3n, -(2n ** 31n) - 1n]), [2, 2])).rejects.toThrow(
      /crafted.safetensors: tensor "t": I64 value -2147483649 at element 3 \(index \[1, 1\]\) does not fit in i32/,
    );
    await expect(core('U64', new BigUint64Array([2n ** 64n - 1n]))).rejects.toThrow(/U64 value 18446744073709551615/);
    await expect(core('I64', new BigInt64Array([2n ** 40n]))).rejects.toBeInstanceOf(SafetensorsError);
  });

  it('floatValues gives f32 values of F32, F16, BF16 and F64 tensors, and null for integers', async () => {
    expect(floatValues(await core('BF16', new Uint16Array([0x3f80, 0xc040])))).toEqual(new Float32Array([1, -3]));
    expect(floatValues(await core('F16', new Uint16Array([0x3800])))).toEqual(new Float32Array([0.5]));
    expect(floatValues(await core('F64', new Float64Array([0.1])))).toEqual(new Float32Array([0.1]));
    expect(floatValues(await core('U32', new Uint32Array([7])))).toBeNull();
  });

  it('reads BOOL as u8 0/1, treating any nonzero byte as true', async () => {
    const file = craft(`{"b":${entry('BOOL', [4], [0, 4])}}`, new Uint8Array([0, 1, 2, 255]));
    const r = await readSafetensors(bytesSource(FILE, file));
    expect(Array.from((await r.read('b')).data as Uint8Array)).toEqual([0, 1, 2, 255]);
    const got = await r.readAsCore('b');
    expect(got.dtype).toBe('u8');
    expect(Array.from(got.data)).toEqual([0, 1, 1, 1]);
  });
});

describe('unknown tensor names', () => {
  it('lists the available names, closest first', async () => {
    const u8 = (n: number): SafetensorsTensor => ({ dtype: 'U8', shape: [n], data: new Uint8Array(n) });
    const bytes = concat(encodeSafetensors({ bias: u8(1), 'layer.1.weight': u8(1), 'layer.0.weight': u8(1) }));
    const r = await readSafetensors(bytesSource(FILE, bytes));
    await expect(r.read('layer.0.weigth')).rejects.toThrow(
      'crafted.safetensors: no tensor named "layer.0.weigth"; the file has 3 (closest first): ' +
        '"layer.0.weight", "layer.1.weight", "bias"',
    );
    expect(r.has('bias')).toBe(true);
    expect(r.has('nope')).toBe(false);
  });

  it('says so when the file holds no tensors', async () => {
    const r = await readSafetensors(bytesSource(FILE, craft('{}')));
    await expect(r.readAsCore('x')).rejects.toThrow(/no tensor named "x"; the file holds no tensors/);
  });

  it('caps the list at 10 names', async () => {
    const tensors: Record<string, SafetensorsTensor> = {};
    for (let i = 0; i < 14; i++) tensors[`t${i}`] = { dtype: 'U8', shape: [], data: new Uint8Array(1) };
    const r = await readSafetensors(bytesSource(FILE, concat(encodeSafetensors(tensors))));
    await expect(r.read('t')).rejects.toThrow(/the file has 14 \(closest first\): .* and 4 more$/);
  });
});

describe('streaming reads', () => {
  it('reads the header in two small reads, then only the requested tensor range', async () => {
    const bytes = concat(
      encodeSafetensors({
        a: { dtype: 'F32', shape: [64], data: new Float32Array(64).fill(1) },
        b: { dtype: 'I32', shape: [3], data: new Int32Array([1, 2, 3]) },
        c: { dtype: 'U8', shape: [100], data: new Uint8Array(100).fill(9) },
      }),
    );
    const inner = bytesSource(FILE, bytes);
    const reads: [number, number][] = [];
    const spy: ByteSource = {
      name: inner.name,
      size: inner.size,
      read(offset, length) {
        reads.push([offset, length]);
        return inner.read(offset, length);
      },
    };
    const r = await readSafetensors(spy);
    expect(reads).toEqual([
      [0, 8],
      [8, r.dataStart - 8],
    ]);
    reads.length = 0;
    const b = r.entry('b');
    const got = await r.read('b');
    expect(reads).toEqual([[b.begin, 12]]);
    expect(Array.from(got.data as Int32Array)).toEqual([1, 2, 3]);
    // The range is the right one: those file bytes are b's data, little-endian.
    expect(Array.from(bytes.subarray(b.begin, b.end))).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
  });
});

describe('header validation', () => {
  it('rejects files shorter than 8 bytes', async () => {
    await expectRejects(new Uint8Array(5), /not a safetensors file: it is 5 bytes, shorter than the 8-byte/);
    await expectRejects(new Uint8Array(0), /it is 0 bytes/);
  });

  it('rejects absurd header lengths', async () => {
    await expectRejects(
      craft('{}', 0, 2n ** 40n),
      /header length 1099511627776 bytes exceeds the 100000000-byte limit/,
    );
    await expectRejects(craft('{}', 0, 2n ** 64n - 1n), /header length 18446744073709551615 bytes exceeds/);
    await expectRejects(craft('{}', 0, BigInt(MAX_HEADER_BYTES + 1)), /exceeds the 100000000-byte limit/);
  });

  it('rejects a header length past the end of the file', async () => {
    await expectRejects(
      craft('{}', 10, 100n),
      /header length 100 runs past the end of the file \(20 bytes; the header would end at byte 108\)/,
    );
  });

  it('requires the header to start with {', async () => {
    await expectRejects(craft(' {}'), /must be a JSON object starting with '\{', but it starts with byte 0x20/);
    await expectRejects(craft('[1]'), /starting with '\{', but it starts with byte 0x5b/);
    await expectRejects(craft(''), /starting with '\{', but the header is empty/);
  });

  it('rejects headers that are not UTF-8', async () => {
    const h = new Uint8Array([...new TextEncoder().encode('{"a'), 0xff, ...new TextEncoder().encode('":1}')]);
    await expectRejects(craft(h), /the 8-byte header is not valid UTF-8/);
  });

  it('rejects headers that are not JSON', async () => {
    await expectRejects(craft('{"a":}'), /the header is not valid JSON/);
    await expectRejects(craft('{}\u0000'), /not valid JSON/);
    await expectRejects(craft('{} x'), /not valid JSON/);
  });

  it('rejects duplicate keys at any depth, comparing decoded strings', async () => {
    const e = entry('U8', [0], [0, 0]);
    await expectRejects(craft(`{"a":${e},"a":${e}}`), /the header repeats the key "a"/);
    await expectRejects(craft(`{"a":${e},"\\u0061":${e}}`), /repeats the key "a"/);
    await expectRejects(
      craft('{"a":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
      /repeats the key "dtype"/,
    );
    await expectRejects(craft('{"__metadata__":{"k":"1","k":"2"}}'), /repeats the key "k"/);
    // A key repeated in sibling objects, or appearing as a string value, is not a duplicate.
    const r = await readSafetensors(
      bytesSource(FILE, craft(`{"__metadata__":{"a":"dtype","dtype":"a"},"a":${e},"b":${e}}`)),
    );
    expect(r.names).toEqual(['a', 'b']);
  });

  it('accepts same-named keys in sibling objects', async () => {
    const r = await readSafetensors(
      bytesSource(
        FILE,
        craft(`{"__metadata__":{"shape":"dtype"},"a":${entry('U8', [1], [0, 1])},"b":${entry('U8', [1], [1, 2])}}`, 2),
      ),
    );
    expect(r.names).toEqual(['a', 'b']);
  });

  it('requires __metadata__ to map strings to strings', async () => {
    await expectRejects(craft('{"__metadata__":{"x":1}}'), /__metadata__ must map strings to strings, but "x" is 1/);
    await expectRejects(craft('{"__metadata__":{"x":{"y":"z"}}}'), /but "x" is \{"y":"z"\}/);
    await expectRejects(craft('{"__metadata__":["a"]}'), /__metadata__ must be an object mapping strings to strings/);
    await expectRejects(craft('{"__metadata__":"a"}'), /__metadata__ must be an object/);
  });

  it('requires each tensor entry to be an object', async () => {
    await expectRejects(
      craft('{"w":5}'),
      /tensor "w": entry must be an object with dtype, shape and data_offsets, got 5/,
    );
    await expectRejects(craft('{"w":null}'), /tensor "w": entry must be an object .* got null/);
    await expectRejects(craft('{"w":[1]}'), /tensor "w": entry must be an object/);
  });

  it('rejects unknown and unsupported dtypes', async () => {
    await expectRejects(
      craft(`{"w":${entry('F17', [1], [0, 4])}}`, 4),
      /tensor "w": unknown dtype "F17"; expected one of F64, F32/,
    );
    await expectRejects(craft(`{"w":${entry('f32', [1], [0, 4])}}`, 4), /unknown dtype "f32"/);
    await expectRejects(craft('{"w":{"shape":[1],"data_offsets":[0,4]}}', 4), /tensor "w": unknown dtype missing/);
    await expectRejects(
      craft(`{"w":${entry('F8_E4M3', [1], [0, 1])}}`, 1),
      /tensor "w": dtype F8_E4M3 is valid safetensors but not supported here/,
    );
  });

  it('requires shapes of non-negative safe integers', async () => {
    const bad = async (shape: string, pattern: RegExp) =>
      expectRejects(craft(`{"w":{"dtype":"U8","shape":${shape},"data_offsets":[0,0]}}`), pattern);
    await bad('"3"', /tensor "w": shape must be an array of integers >= 0, got "3"/);
    await bad('null', /shape must be an array .* got null/);
    await bad('[1,-1]', /tensor "w": shape \[1,-1\] has shape\[1\] = -1; dimensions must be integers >= 0/);
    await bad('[1.5]', /shape\[0\] = 1.5/);
    await bad('[9007199254740992]', /shape\[0\] = 9007199254740992/);
    await bad('["2"]', /shape\[0\] = "2"/);
    await expectRejects(craft('{"w":{"dtype":"U8","data_offsets":[0,0]}}'), /shape must be an array .* got missing/);
  });

  it('requires data_offsets to be [begin, end] integers with begin <= end', async () => {
    const bad = async (offsets: string, pattern: RegExp) =>
      expectRejects(craft(`{"w":{"dtype":"U8","shape":[4],"data_offsets":${offsets}}}`, 8), pattern);
    await bad('[0]', /tensor "w": data_offsets must be \[begin, end\] with integers >= 0, got \[0\]/);
    await bad('[0,4,8]', /data_offsets must be .* got \[0,4,8\]/);
    await bad('[-4,0]', /got \[-4,0\]/);
    await bad('[0,4.5]', /got \[0,4.5\]/);
    await bad('"0,4"', /got "0,4"/);
    await bad('[8,4]', /tensor "w": data_offsets \[8, 4\] has begin > end/);
  });

  it('rejects offsets that end past the data section', async () => {
    await expectRejects(
      craft(`{"w":${entry('F32', [4], [0, 16])}}`, 8),
      /tensor "w": data_offsets \[0, 16\] end past the data section, which is 8 bytes/,
    );
  });

  it('rejects byte counts that do not match shape x element size', async () => {
    await expectRejects(
      craft(`{"w":${entry('F32', [3], [0, 8])}}`, 8),
      /tensor "w": F32 shape \[3\] needs 3 x 4 = 12 bytes, but data_offsets \[0, 8\] span 8 bytes/,
    );
    await expectRejects(craft(`{"w":${entry('I64', [], [0, 4])}}`, 4), /I64 shape \[\] needs 1 x 8 = 8 bytes/);
    await expectRejects(
      craft(`{"w":${entry('U8', [2 ** 26, 2 ** 26, 2 ** 26], [0, 4])}}`, 4),
      /needs more than 2\^53 elements/,
    );
  });

  it('rejects overlapping tensors', async () => {
    await expectRejects(
      craft(`{"a":${entry('U8', [8], [0, 8])},"b":${entry('U8', [8], [4, 12])}}`, 12),
      /tensors "a" \(data_offsets \[0, 8\]\) and "b" \(data_offsets \[4, 12\]\) overlap/,
    );
    await expectRejects(
      craft(`{"a":${entry('U8', [4], [0, 4])},"b":${entry('U8', [4], [0, 4])}}`, 4),
      /tensors "a" .* and "b" .* overlap/,
    );
  });

  it('rejects holes and trailing bytes in the data section', async () => {
    await expectRejects(
      craft(`{"a":${entry('U8', [4], [0, 4])},"b":${entry('U8', [4], [8, 12])}}`, 12),
      /data bytes \[4, 8\) after tensor "a" and before tensor "b" belong to no tensor/,
    );
    await expectRejects(
      craft(`{"a":${entry('U8', [4], [4, 8])}}`, 8),
      /data bytes \[0, 4\) at the start of the data section and before tensor "a"/,
    );
    const e = await expectRejects(
      craft(`{"a":${entry('U8', [4], [0, 4])}}`, 8),
      /the last 4 bytes of the data section/,
    );
    expect(e.message).toMatch(/trailing data/);
    await expectRejects(craft('{}', 3), /the last 3 bytes of the data section/);
  });

  it('accepts trailing space padding and ignores unknown entry fields', async () => {
    const r = await readSafetensors(
      bytesSource(FILE, craft(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":[1]}}       `, 2)),
    );
    expect(r.names).toEqual(['a']);
  });
});

describe('encode validation', () => {
  const enc = (tensors: Record<string, unknown>, metadata?: Record<string, unknown>) => () =>
    encodeSafetensors(tensors as Record<string, SafetensorsTensor>, metadata as Record<string, string>, {
      name: 'out.st',
    });

  it('checks names, dtypes, shapes, array types, lengths and metadata', () => {
    expect(enc({ __metadata__: { dtype: 'U8', shape: [], data: new Uint8Array(1) } })).toThrow(
      /out.st: tensor "__metadata__": the name __metadata__ is reserved/,
    );
    expect(enc({ w: { dtype: 'F8', shape: [], data: new Uint8Array(1) } })).toThrow(/tensor "w": unknown dtype "F8"/);
    expect(enc({ w: { dtype: 'U8', shape: [-1], data: new Uint8Array(1) } })).toThrow(
      /tensor "w": shape must be an array of integers >= 0, got \[-1\]/,
    );
    expect(enc({ w: { dtype: 'F16', shape: [1], data: new Float32Array(1) } })).toThrow(
      /tensor "w": F16 data must be a Uint16Array, got Float32Array/,
    );
    expect(enc({ w: { dtype: 'I64', shape: [1], data: [1] } })).toThrow(/I64 data must be a BigInt64Array, got Array/);
    expect(enc({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /tensor "w": shape \[2, 2\] holds 4 elements but data has 3/,
    );
    expect(enc({ w: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 2]) } })).toThrow(
      /tensor "w": BOOL data must hold 0 or 1, but element 1 is 2/,
    );
    expect(enc({}, { k: 5 })).toThrow(/out.st: metadata "k" is 5; values must be strings/);
    expect(enc({ w: null })).toThrow(SafetensorsError);
  });

  it('writes views of the tensor data, including subarrays, without copying it first', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    const parts = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: backing.subarray(1, 3) } });
    expect(parts).toHaveLength(2);
    expect(parts[1].buffer).toBe(backing.buffer);
    expect(Array.from(new Float32Array(parts[1].slice().buffer))).toEqual([1, 2]);
  });
});
