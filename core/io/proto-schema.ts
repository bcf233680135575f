/**
 * Protobuf encoding and decoding driven by a small schema (message → field name → number and type), for
 * formats whose messages we vendor as our own schema instead of generated code (Core ML's, in
 * ./coreml-schema.ts). Decoding goes through ./proto-wire.ts, so every length is checked against its
 * enclosing message and a field with the wrong wire type is an error naming the message and field; nesting
 * is capped. Unknown fields are skipped and reported (`unknown`), so a reader can say what it ignored and a
 * test can check that a file holds nothing outside the schema. Encoding follows proto3: fields in number
 * order, scalars at their default value left out (except inside a oneof), repeated numbers packed, map
 * entries as {key = 1, value = 2} messages.
 * @module
 */
import protobuf from 'protobufjs/minimal.js';
import { Msg, ProtobufError, ProtoReader, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT } from './proto-wire.js';

export type ScalarType =
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'float'
  | 'double'
  | 'enum';

export interface FieldSpec {
  readonly no: number;
  /** A scalar, or the name of a message in the same schema. */
  readonly type: ScalarType | { readonly message: string };
  readonly repeated?: boolean;
  /** `map<string, type>`: decoded as a record keyed by the string keys. */
  readonly map?: boolean;
  /** Members of one oneof share its name; a member is written even at its default value. */
  readonly oneof?: string;
}

export type MessageSpec = Readonly<Record<string, FieldSpec>>;
export type ProtoSchema = Readonly<Record<string, MessageSpec>>;

/** A decoded value: scalars as numbers/booleans/strings/bytes, messages as plain objects. */
export type ProtoValue =
  | number
  | boolean
  | string
  | Uint8Array
  | ProtoMessage
  | ProtoValue[]
  | { [key: string]: ProtoValue };
export interface ProtoMessage {
  [field: string]: ProtoValue;
}

/** Messages nest through blocks of operations; real files nest a few levels, corrupt ones without end. */
const MAX_DEPTH = 64;

function wireOf(type: FieldSpec['type']): number {
  if (typeof type !== 'string') return WIRE_BYTES;
  switch (type) {
    case 'string':
    case 'bytes':
      return WIRE_BYTES;
    case 'float':
      return WIRE_FIXED32;
    case 'double':
      return WIRE_FIXED64;
    default:
      return WIRE_VARINT;
  }
}

function isPackable(type: FieldSpec['type']): boolean {
  return typeof type === 'string' && type !== 'string' && type !== 'bytes';
}

function specOf(schema: ProtoSchema, name: string): MessageSpec {
  const spec = schema[name];
  if (!spec) throw new Error(`proto schema: no message ${name}`);
  return spec;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

export interface Decoded<T> {
  readonly message: T;
  /** `Message.field-number` of every field the schema does not know, in the order met. */
  readonly unknown: readonly string[];
}

class Decoder {
  readonly unknown: string[] = [];
  readonly #byNumber = new Map<string, Map<number, [string, FieldSpec]>>();

  constructor(
    readonly schema: ProtoSchema,
    readonly p: ProtoReader,
  ) {}

  fields(type: string): Map<number, [string, FieldSpec]> {
    let m = this.#byNumber.get(type);
    if (!m) {
      m = new Map(Object.entries(specOf(this.schema, type)).map(([name, f]) => [f.no, [name, f]]));
      this.#byNumber.set(type, m);
    }
    return m;
  }

  scalar(m: Msg, type: ScalarType): number | boolean | string | Uint8Array {
    const r = this.p.r;
    switch (type) {
      case 'int32':
      case 'enum':
        return r.int32();
      case 'uint32':
        return r.uint32();
      case 'int64':
        return m.int64(false);
      case 'uint64':
        return m.int64(true);
      case 'bool':
        return r.bool();
      case 'string':
        return m.string();
      case 'bytes':
        return new Uint8Array(m.bytes()); // a copy, even when the input is a Node Buffer
      case 'float':
        if (r.pos + 4 > m.end) this.p.fail(r.pos, `${m.what}: a float runs past its message`);
        return r.float();
      case 'double':
        if (r.pos + 8 > m.end) this.p.fail(r.pos, `${m.what}: a double runs past its message`);
        return r.double();
    }
  }

  message(m: Msg, type: string, depth: number): ProtoMessage {
    if (depth > MAX_DEPTH) this.p.fail(this.p.r.pos, `${m.what}: messages nested deeper than ${MAX_DEPTH}`);
    const fields = this.fields(type);
    const out: ProtoMessage = {};
    m.each((no, wire) => {
      const known = fields.get(no);
      if (!known) {
        this.unknown.push(`${type}.${no}`);
        return false;
      }
      const [name, f] = known;
      const what = `${type}.${name}`;
      if (f.map) {
        m.expect(no, wire, WIRE_BYTES, name);
        const entry = m.sub(what);
        let key = '';
        let value: ProtoValue | undefined;
        entry.each((eno, ewire) => {
          if (eno === 1) {
            entry.expect(eno, ewire, WIRE_BYTES, 'key');
            key = entry.string();
            return true;
          }
          if (eno === 2) {
            value = this.value(entry, f, ewire, eno, depth);
            return true;
          }
          this.unknown.push(`${what}[entry].${eno}`);
          return false;
        });
        const record = (out[name] ?? (out[name] = {})) as { [key: string]: ProtoValue };
        record[key] = value ?? this.defaultOf(f);
        return true;
      }
      if (f.repeated) {
        const list = (out[name] ?? (out[name] = [])) as ProtoValue[];
        if (isPackable(f.type) && wire === WIRE_BYTES) {
          const packed = m.sub(`${what} (packed)`);
          while (this.p.r.pos < packed.end) list.push(this.scalar(packed, f.type as ScalarType));
          if (this.p.r.pos !== packed.end)
            this.p.fail(this.p.r.pos, `${what}: a value crosses the end of the packed field`);
          return true;
        }
        list.push(this.value(m, f, wire, no, depth));
        return true;
      }
      out[name] = this.value(m, f, wire, no, depth);
      return true;
    });
    return out;
  }

  value(m: Msg, f: FieldSpec, wire: number, no: number, depth: number): ProtoValue {
    const expected = wireOf(f.type);
    m.expect(no, wire, expected, `field ${no}`);
    if (typeof f.type === 'string') return this.scalar(m, f.type);
    return this.message(m.sub(f.type.message), f.type.message, depth + 1);
  }

  defaultOf(f: FieldSpec): ProtoValue {
    if (typeof f.type !== 'string') return {};
    switch (f.type) {
      case 'bool':
        return false;
      case 'string':
        return '';
      case 'bytes':
        return new Uint8Array(0);
      default:
        return 0;
    }
  }
}

/**
 * Decode `bytes` as message `type` of `schema`.
 * @throws ProtobufError (with the byte offset) for malformed data
 */
export function decodeMessage<T = ProtoMessage>(schema: ProtoSchema, type: string, bytes: Uint8Array): Decoded<T> {
  const p = new ProtoReader(bytes);
  const d = new Decoder(schema, p);
  try {
    const message = d.message(new Msg(p, bytes.length, type), type, 0);
    return { message: message as T, unknown: d.unknown };
  } catch (e) {
    // protobufjs raises RangeErrors and Errors for truncated varints, lengths past the end, bad wire types.
    if (e instanceof ProtobufError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new ProtobufError(p.r.pos, `the data is truncated or corrupt (${reason})`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

function isDefault(v: unknown): boolean {
  return v === 0 || v === false || v === '' || (v instanceof Uint8Array && v.length === 0);
}

const SCALAR_WRITERS: Readonly<Record<ScalarType, (w: protobuf.Writer, v: never) => unknown>> = {
  int32: (w, v: number) => w.int32(v),
  enum: (w, v: number) => w.int32(v),
  uint32: (w, v: number) => w.uint32(v),
  int64: (w, v: number) => w.int64(v),
  uint64: (w, v: number) => w.uint64(v),
  bool: (w, v: boolean) => w.bool(v),
  string: (w, v: string) => w.string(v),
  bytes: (w, v: Uint8Array) => w.bytes(v),
  float: (w, v: number) => w.float(v),
  double: (w, v: number) => w.double(v),
};

function writeScalar(w: protobuf.Writer, type: ScalarType, v: unknown, what: string): void {
  if (type === 'string' && typeof v !== 'string')
    throw new ProtobufError(0, `${what}: expected a string, got ${typeof v}`);
  SCALAR_WRITERS[type](w, v as never);
}

/** One field: its tag, then a scalar or a length-delimited message. */
function writeField(
  schema: ProtoSchema,
  w: protobuf.Writer,
  no: number,
  type: FieldSpec['type'],
  value: unknown,
  what: string,
): void {
  if (typeof type === 'string') {
    w.uint32((no << 3) | wireOf(type));
    writeScalar(w, type, value, what);
  } else {
    w.uint32((no << 3) | WIRE_BYTES).fork();
    writeMessage(schema, type.message, value as Record<string, unknown>, w);
    w.ldelim();
  }
}

function writeMessage(
  schema: ProtoSchema,
  type: string,
  msg: Readonly<Record<string, unknown>>,
  w: protobuf.Writer,
): void {
  const spec = specOf(schema, type);
  for (const key of Object.keys(msg)) {
    if (!(key in spec)) throw new ProtobufError(0, `${type} has no field "${key}"`);
  }
  const ordered = Object.entries(spec).sort((a, b) => a[1].no - b[1].no);
  for (const [name, f] of ordered) {
    const v = msg[name];
    if (v === undefined || v === null) continue;
    const what = `${type}.${name}`;
    const one = (value: unknown) => writeField(schema, w, f.no, f.type, value, what);
    if (f.map) {
      for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
        w.uint32((f.no << 3) | WIRE_BYTES).fork();
        w.uint32((1 << 3) | WIRE_BYTES).string(k);
        writeField(schema, w, 2, f.type, value, what);
        w.ldelim();
      }
    } else if (f.repeated) {
      const list = v as readonly unknown[];
      if (!Array.isArray(list)) throw new ProtobufError(0, `${what} is repeated: give an array`);
      if (list.length === 0) continue;
      if (isPackable(f.type)) {
        w.uint32((f.no << 3) | WIRE_BYTES).fork();
        for (const x of list) writeScalar(w, f.type as ScalarType, x, what);
        w.ldelim();
      } else {
        for (const x of list) one(x);
      }
    } else if (typeof f.type === 'string' && !f.oneof && isDefault(v)) {
      // proto3: a scalar at its default value is not written
    } else {
      one(v);
    }
  }
}

/** Encode `message` as message `type` of `schema`; a field the schema does not know is an error. */
export function encodeMessage(
  schema: ProtoSchema,
  type: string,
  message: Readonly<Record<string, unknown>>,
): Uint8Array {
  const w = protobuf.Writer.create();
  writeMessage(schema, type, message, w);
  return w.finish();
}
