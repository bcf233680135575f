/**
 * Property tests: valid files round-trip, and corrupted files either read consistently or fail with a
 * SafetensorsError that names the file — never another error type, never a hang (each run has a timeout).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../../../core/io/bytes.js';
import {
  encodeSafetensors,
  FILE_DTYPES,
  type FileDType,
  fileDTypeBytes,
  MAX_HEADER_BYTES,
  readSafetensors,
  SafetensorsError,
  type SafetensorsTensor,
} from '../../../core/io/safetensors.js';

const NAME = 'fuzz.safetensors';
// Per-run limit: a run is a few microseconds, so hitting this means a hang or runaway allocation.
const RUN_TIMEOUT_MS = 2000;

const CTORS: Record<FileDType, new (buffer: ArrayBuffer) => SafetensorsTensor['data']> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const tensorArb: fc.Arbitrary<SafetensorsTensor> = fc
  .record({
    dtype: fc.constantFrom(...FILE_DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .chain(({ dtype, shape }) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * fileDTypeBytes(dtype);
    return fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((raw) => {
      if (dtype === 'BOOL') for (let i = 0; i < raw.length; i++) raw[i] &= 1;
      return { dtype, shape, data: new CTORS[dtype](raw.buffer as ArrayBuffer) } as SafetensorsTensor;
    });
  });

interface ValidFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string> | undefined;
  bytes: Uint8Array;
}

const validFileArb: fc.Arbitrary<ValidFile> = fc
  .record({
    entries: fc.uniqueArray(
      fc.tuple(
        fc.string({ unit: 'binary', maxLength: 6 }).filter((n) => n !== '__metadata__'),
        tensorArb,
      ),
      { maxLength: 4, selector: (e) => e[0] },
    ),
    metadata: fc.option(
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 8 }), { maxKeys: 3 }),
      { nil: undefined },
    ),
  })
  .map(({ entries, metadata }) => {
    const tensors: Record<string, SafetensorsTensor> = {};
    // defineProperty keeps a name such as "__proto__" an own data property.
    for (const [name, t] of entries) Object.defineProperty(tensors, name, { value: t, enumerable: true });
    return { tensors, metadata, bytes: concat(encodeSafetensors(tensors, metadata)) };
  });

/** Reads everything a reader offers; any failure must be a SafetensorsError naming the file. */
async function readAllOrReject(bytes: Uint8Array): Promise<'ok' | 'rejected'> {
  try {
    const r = await readSafetensors(bytesSource(NAME, bytes));
    for (const e of r.entries) {
      expect(e.begin).toBeGreaterThanOrEqual(r.dataStart);
      expect(e.end).toBeLessThanOrEqual(bytes.length);
      const t = await r.read(e.name);
      expect(t.data.length).toBe(e.shape.reduce((a, b) => a * b, 1));
      try {
        const c = await r.readAsCore(e.name);
        expect(c.data.length).toBe(t.data.length);
      } catch (err) {
        // 64-bit integers outside i32 are a legitimate refusal of a valid file.
        if (!(err instanceof SafetensorsError)) throw err;
      }
    }
    return 'ok';
  } catch (err) {
    if (!(err instanceof SafetensorsError)) throw err;
    if (!err.message.startsWith(`${NAME}: `)) throw new Error(`message does not name the file: ${err.message}`);
    return 'rejected';
  }
}

function splitFile(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

function reframe(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(h.length), true);
  return concat([prefix, h, data]);
}

describe('safetensors fuzz', () => {
  it('round-trips random valid files (300 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(validFileArb, async ({ tensors, metadata, bytes }) => {
        const r = await readSafetensors(bytesSource(NAME, bytes));
        expect({ ...r.metadata }).toEqual({ ...(metadata ?? {}) });
        expect(r.names.length).toBe(Object.keys(tensors).length);
        for (const [name, t] of Object.entries(tensors)) {
          const got = await r.read(name);
          expect(got.dtype).toBe(t.dtype);
          expect(got.shape).toEqual(t.shape);
          expect(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength)).toEqual(
            new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          );
        }
      }),
      { numRuns: 300, timeout: RUN_TIMEOUT_MS },
    );
  });

  it('survives random byte flips (1200 runs)', async () => {
    const flips = fc.array(fc.record({ pos: fc.nat(), val: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 8,
    });
    await fc.assert(
      fc.asyncProperty(validFileArb, flips, fc.boolean(), async ({ bytes }, edits, inHeader) => {
        const out = bytes.slice();
        // Half the runs aim at the prefix and header, where a flip changes what the parser sees.
        const span = inHeader ? 8 + splitFile(bytes).header.length : out.length;
        for (const { pos, val } of edits) out[pos % span] = val;
        await readAllOrReject(out);
      }),
      { numRuns: 1200, timeout: RUN_TIMEOUT_MS },
    );
  });

  it('rejects every truncation of a file with data (500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(validFileArb, fc.nat(), async ({ bytes }, cut) => {
        const at = cut % bytes.length;
        // Any strict prefix of a valid file is short of its header or data, so it must be refused.
        expect(await readAllOrReject(bytes.subarray(0, at))).toBe('rejected');
      }),
      { numRuns: 500, timeout: RUN_TIMEOUT_MS },
    );
  });

  it('survives overwritten header lengths (500 runs)', async () => {
    const lengthArb = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ abs: v })),
      fc.integer({ min: -24, max: 24 }).map((d) => ({ delta: d })),
      fc
        .constantFrom(0n, 1n, 2n ** 32n, 2n ** 53n, BigInt(MAX_HEADER_BYTES), BigInt(MAX_HEADER_BYTES + 1))
        .map((v) => ({
          abs: v,
        })),
    );
    await fc.assert(
      fc.asyncProperty(validFileArb, lengthArb, async ({ bytes }, change) => {
        const out = bytes.slice();
        const view = new DataView(out.buffer);
        const n = view.getBigUint64(0, true);
        const value = 'abs' in change ? change.abs : n + BigInt(change.delta);
        view.setBigUint64(0, value < 0n ? 0n : value, true);
        const result = await readAllOrReject(out);
        if (value !== n) expect(result).toBe('rejected');
      }),
      { numRuns: 500, timeout: RUN_TIMEOUT_MS },
    );
  });

  it('survives JSON mutations of the header, re-framed with a consistent length (1200 runs)', async () => {
    const tokens = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '"__metadata__":{}',
      '"__metadata__":{"a":1}',
      '"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}',
      '"a":1',
      'null',
      '-0',
      '1e400',
      '\u0000',
      '\ud800',
      '\u00e9',
      ' ',
    ];
    const replacements = fc.oneof(
      fc.integer().map(String),
      fc.constantFrom('-1', '1.5', '1e3', '9007199254740993', '1e400', '0x10', 'null', '"8"', '[]', '{}', ''),
      fc.constantFrom(...FILE_DTYPES, 'F8_E4M3', 'f32', 'BOOLEAN', '', 'F32 ').map((d) => `"${d}"`),
    );
    const mutation = fc.record({
      kind: fc.constantFrom('number', 'dtype', 'delete', 'insert', 'duplicate', 'structural'),
      pick: fc.nat(),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 16 }),
      token: fc.constantFrom(...tokens),
      replacement: replacements,
      json: fc.jsonValue({ maxDepth: 2 }),
      field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra'),
    });
    await fc.assert(
      fc.asyncProperty(validFileArb, mutation, async ({ bytes }, m) => {
        const { header, data } = splitFile(bytes);
        const trimmed = header.trimEnd();
        let text = trimmed;
        const at = m.at % (trimmed.length + 1);
        switch (m.kind) {
          case 'number':
          case 'dtype': {
            const pattern = m.kind === 'number' ? /-?\d+/g : /"(?:F|I|U|B)[A-Z0-9]*"/g;
            const hits = [...trimmed.matchAll(pattern)];
            if (hits.length > 0) {
              const hit = hits[m.pick % hits.length];
              const i = hit.index ?? 0;
              text = trimmed.slice(0, i) + m.replacement + trimmed.slice(i + hit[0].length);
            }
            break;
          }
          case 'delete':
            text = trimmed.slice(0, at) + trimmed.slice(at + m.len);
            break;
          case 'insert':
            text = trimmed.slice(0, at) + m.token + trimmed.slice(at);
            break;
          case 'duplicate': {
            const from = m.pick % (trimmed.length + 1);
            text = trimmed.slice(0, at) + trimmed.slice(from, from + m.len * 4) + trimmed.slice(at);
            break;
          }
          case 'structural': {
            const obj = JSON.parse(trimmed) as Record<string, Record<string, unknown>>;
            const keys = Object.keys(obj);
            if (keys.length === 0) obj.t = { [m.field]: m.json };
            else {
              const target = obj[keys[m.pick % keys.length]];
              if (m.at % 3 === 0) obj[keys[m.pick % keys.length]] = m.json as Record<string, unknown>;
              else if (m.at % 3 === 1 && target && typeof target === 'object') delete target[m.field];
              else if (target && typeof target === 'object') target[m.field] = m.json;
            }
            text = JSON.stringify(obj);
            break;
          }
        }
        await readAllOrReject(reframe(text, data));
      }),
      { numRuns: 1200, timeout: RUN_TIMEOUT_MS },
    );
  });
});
