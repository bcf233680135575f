/**
 * Protobuf wire decoding shared by the model readers (ONNX, Core ML): protobufjs's minimal `Reader`
 * (varints, fixed-width numbers, group skipping) wrapped so that every length-delimited field is checked to
 * lie inside its enclosing message and a field with the wrong wire type is an error naming the field. Corrupt
 * input fails with a {@link ProtobufError} giving the byte position instead of mis-parsing. No code
 * generation and no Node APIs: it runs unchanged in browsers (and under a CSP without 'unsafe-eval').
 * @module
 */
import protobuf from 'protobufjs/minimal.js';

/** Malformed protobuf data at byte `at`; each reader turns it into its own error naming the file. */
export class ProtobufError extends Error {
  override name = 'ProtobufError';
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(message);
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;
export const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

const TWO_32 = 2 ** 32;

interface LongLike {
  low: number;
  high: number;
}

/**
 * An int64 as a number: exact within ±2^53, rounded beyond (every such value is outside the i32 range the
 * core uses, so callers that need exactness check the range first). protobufjs returns a Long when the
 * `long` package is present and a plain number otherwise; both are accepted.
 */
export function int64ToNumber(v: number | LongLike, unsigned: boolean): number {
  if (typeof v === 'number') return v;
  const high = unsigned ? v.high >>> 0 : v.high | 0;
  return high * TWO_32 + (v.low >>> 0);
}

/** A protobuf message being decoded: the shared reader plus where this message ends and what it is. */
export class Msg {
  constructor(
    readonly p: ProtoReader,
    readonly end: number,
    readonly what: string,
  ) {}

  /** Calls `field` for each field until the message ends; unknown fields are skipped by wire type. */
  each(field: (no: number, wire: number) => boolean): void {
    const r = this.p.r;
    while (r.pos < this.end) {
      const at = r.pos;
      const tag = r.tag();
      const no = tag >>> 3;
      const wire = tag & 7;
      if (no === 0) this.p.fail(at, `${this.what}: field number 0 is invalid`);
      if (!field(no, wire)) r.skipType(wire, 0, no);
      if (r.pos > this.end) {
        this.p.fail(at, `${this.what}: field ${no} runs past the end of its enclosing message (byte ${this.end})`);
      }
    }
  }

  expect(no: number, wire: number, expected: number, name: string): void {
    if (wire !== expected) {
      this.p.fail(
        this.p.r.pos,
        `${this.what}.${name} (field ${no}) has wire type ${WIRE_NAMES[wire] ?? wire}, expected ${WIRE_NAMES[expected]}`,
      );
    }
  }

  /** The bytes of a length-delimited field, as a view; checked to lie within this message. */
  bytes(): Uint8Array {
    const r = this.p.r;
    const at = r.pos;
    const len = r.size();
    if (r.pos + len > this.end) {
      this.p.fail(at, `${this.what}: a ${len}-byte field runs past the end of its enclosing message`);
    }
    const out = r.buf.subarray(r.pos, r.pos + len);
    r.pos += len;
    return out;
  }

  string(): string {
    return this.p.utf8(this.bytes());
  }

  /** Opens a nested message (a length-delimited field); decode it, then this message continues. */
  sub(what: string): Msg {
    const r = this.p.r;
    const at = r.pos;
    const len = r.size();
    const end = r.pos + len;
    if (end > this.end) this.p.fail(at, `${what}: its ${len} bytes run past the end of the enclosing ${this.what}`);
    return new Msg(this.p, end, what);
  }

  int64(unsigned = false): number {
    return int64ToNumber(unsigned ? this.p.r.uint64() : this.p.r.int64(), unsigned);
  }

  /** A repeated varint field, packed (wire 2) or not (wire 0). */
  varints(wire: number, no: number, name: string, out: number[], kind: 'int32' | 'int64' | 'uint64'): void {
    const r = this.p.r;
    const one = () => (kind === 'int32' ? r.int32() : this.int64(kind === 'uint64'));
    if (wire === WIRE_VARINT) {
      out.push(one());
      return;
    }
    this.expect(no, wire, WIRE_BYTES, name);
    const at = r.pos;
    const len = r.size();
    const end = r.pos + len;
    if (end > this.end) this.p.fail(at, `${this.what}.${name}: packed data runs past the end of its message`);
    while (r.pos < end) out.push(one());
    if (r.pos !== end) this.p.fail(at, `${this.what}.${name}: a varint crosses the end of the packed field`);
  }

  /** A repeated fixed-width field (float: 4, double: 8), packed or not, as raw little-endian chunks. */
  fixed(wire: number, no: number, name: string, width: 4 | 8, out: Uint8Array[]): void {
    const single = width === 4 ? WIRE_FIXED32 : WIRE_FIXED64;
    if (wire === single) {
      const r = this.p.r;
      if (r.pos + width > this.end) this.p.fail(r.pos, `${this.what}.${name}: value runs past its message`);
      out.push(r.buf.subarray(r.pos, r.pos + width));
      r.pos += width;
      return;
    }
    this.expect(no, wire, WIRE_BYTES, name);
    const chunk = this.bytes();
    if (chunk.length % width !== 0) {
      this.p.fail(this.p.r.pos, `${this.what}.${name}: packed length ${chunk.length} is not a multiple of ${width}`);
    }
    out.push(chunk);
  }
}

export class ProtoReader {
  readonly r: protobuf.Reader;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(bytes: Uint8Array) {
    this.r = new protobuf.Reader(bytes);
  }

  fail(at: number, message: string): never {
    throw new ProtobufError(at, message);
  }

  utf8(bytes: Uint8Array): string {
    try {
      return this.#decoder.decode(bytes);
    } catch {
      return this.fail(this.r.pos - bytes.length, `a ${bytes.length}-byte string is not valid UTF-8`);
    }
  }
}
