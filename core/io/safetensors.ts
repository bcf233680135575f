/**
 * safetensors reading and writing (https://github.com/huggingface/safetensors, "Format").
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON (an object that starts with `{` and may
 * be padded with trailing spaces), then the data section. Each tensor names its dtype, shape and
 * `data_offsets: [begin, end]` relative to the start of the data section.
 *
 * Validation follows the reference implementation, which is stricter than a loose reading of the format:
 * - the header is at most 100,000,000 bytes (the reference's MAX_HEADER_SIZE);
 * - tensors must tile the data section exactly: no overlaps, no holes, no trailing bytes. The spec requires
 *   this ("the byte buffer needs to be entirely indexed, and cannot contain holes") so a file cannot hide a
 *   second payload (polyglot files); a file we accept is therefore one the reference accepts too;
 * - duplicate JSON keys are rejected (the spec disallows them; JSON.parse would silently keep the last);
 * - unknown fields inside a tensor entry are ignored, and `"__metadata__": null` means no metadata, as the
 *   reference's serde model does.
 *
 * Reading is range-by-range through a {@link ByteSource}: the header once, then each tensor's own bytes when
 * asked for, so nothing is read twice and untouched tensors are never read at all.
 * @module
 */
import { type DType, isHalf, type TypedArray, widenHalf } from '../dtype.js';
import { UsageError } from '../errors.js';
import type { ByteSource } from './bytes.js';

/** Malformed safetensors data (or a bad request against a valid file); the message names the file and tensor. */
export class SafetensorsError extends UsageError {
  override name = 'SafetensorsError';
}

/** The dtypes this module reads and writes, spelled as the file spells them. */
export type FileDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/** The typed array that holds each file dtype's elements unchanged; F16 and BF16 travel as raw bits. */
export interface FileArrayMap {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

export type FileArray = FileArrayMap[FileDType];

/** A tensor as stored in the file; narrowing on `dtype` narrows `data`. */
export type SafetensorsTensor = { [D in FileDType]: { dtype: D; shape: number[]; data: FileArrayMap[D] } }[FileDType];

/** A tensor converted to a dtype the core computes in (see {@link SafetensorsReader.readAsCore}). */
export interface CoreTensorData {
  dtype: DType;
  shape: number[];
  data: TypedArray;
  /** The dtype in the file, before conversion. */
  fileDType: FileDType;
}

/**
 * A float tensor's values as f32: F32 as it is, F16 and BF16 widened, F64 rounded; null when the
 * tensor is not a float one (the caller names the file and the tensor in its error).
 */
export function floatValues(t: CoreTensorData): Float32Array | null {
  if (t.dtype === 'f32') return t.data as Float32Array;
  if (isHalf(t.dtype)) return widenHalf(t.data as Uint16Array, t.dtype);
  if (t.dtype === 'f64') return Float32Array.from(t.data);
  return null;
}

/** One tensor's header entry. `begin`/`end` are absolute byte offsets in the file (end exclusive). */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: FileDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In data order (ascending `begin`), which is also the order a sequential reader meets them. */
  tensors: SafetensorsEntry[];
  /** Absolute offset of the data section: 8 + header length. */
  dataStart: number;
}

/** The reference implementation's cap; a larger length means corruption, not a real header. */
export const MAX_HEADER_BYTES = 100_000_000;

type ArrayCtor<T> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

const ARRAY_CTORS: { [D in FileDType]: ArrayCtor<FileArrayMap[D]> } = {
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

export const FILE_DTYPES: readonly FileDType[] = Object.keys(ARRAY_CTORS) as FileDType[];

// Valid in the format but not handled here: naming them lets the error say "unsupported", not "unknown".
const UNSUPPORTED_DTYPES: readonly string[] = ['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

export function isFileDType(value: unknown): value is FileDType {
  return typeof value === 'string' && Object.hasOwn(ARRAY_CTORS, value);
}

export function fileDTypeBytes(dtype: FileDType): number {
  return ARRAY_CTORS[dtype].BYTES_PER_ELEMENT;
}

// The file is little-endian; typed arrays use the host's order. Every mainstream host is little-endian,
// so rather than carry an untestable byte-swapping path we refuse big-endian hosts loudly.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(what: string, dtype: FileDType): void {
  if (!HOST_LITTLE_ENDIAN && fileDTypeBytes(dtype) > 1) {
    throw new SafetensorsError(`${what}: ${dtype} data needs a little-endian host; this host is big-endian`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Header parsing

/** A short, printable rendering of a JSON value for error messages. */
function show(value: unknown): string {
  if (value === undefined) return 'missing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Element count of `shape`, or Infinity when it exceeds 2^53 (no real tensor is that large). */
function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
}

/**
 * The first key repeated within one JSON object, decoded, or undefined. `text` must already be valid JSON
 * (JSON.parse succeeded), which keeps this scan to strings and brackets.
 */
function findDuplicateKey(text: string): string | undefined {
  // One frame per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (let cj = text.charCodeAt(j); cj !== 0x22; cj = text.charCodeAt(j)) {
        if (cj === 0x5c) {
          escaped = true;
          j += 2;
        } else j += 1;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  // Null-prototype, so a key such as "__proto__" is stored as data rather than changing the prototype.
  const metadata: Record<string, string> = Object.create(null);
  if (raw === undefined || raw === null) return metadata;
  if (!isJsonObject(raw)) {
    throw new SafetensorsError(`${file}: __metadata__ must be an object mapping strings to strings, got ${show(raw)}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      throw new SafetensorsError(
        `${file}: __metadata__ must map strings to strings, but "${key}" is ${show(value)}; ` +
          `store structured values as JSON text`,
      );
    }
    metadata[key] = value;
  }
  return metadata;
}

function parseEntry(file: string, name: string, info: unknown, dataStart: number, dataLength: number) {
  const where = `${file}: tensor "${name}"`;
  if (!isJsonObject(info)) {
    throw new SafetensorsError(
      `${where}: entry must be an object with dtype, shape and data_offsets, got ${show(info)}`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (!isFileDType(dtype)) {
    if (typeof dtype === 'string' && UNSUPPORTED_DTYPES.includes(dtype)) {
      throw new SafetensorsError(
        `${where}: dtype ${dtype} is valid safetensors but not supported here; supported: ${FILE_DTYPES.join(', ')}`,
      );
    }
    throw new SafetensorsError(`${where}: unknown dtype ${show(dtype)}; expected one of ${FILE_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape)) {
    throw new SafetensorsError(`${where}: shape must be an array of integers >= 0, got ${show(shape)}`);
  }
  const badDim = shape.findIndex((d) => !isIndex(d));
  if (badDim >= 0) {
    throw new SafetensorsError(
      `${where}: shape ${show(shape)} has shape[${badDim}] = ${show(shape[badDim])}; dimensions must be integers >= 0`,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isIndex(offsets[0]) || !isIndex(offsets[1])) {
    throw new SafetensorsError(`${where}: data_offsets must be [begin, end] with integers >= 0, got ${show(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] has begin > end`);
  }
  if (end > dataLength) {
    throw new SafetensorsError(
      `${where}: data_offsets [${begin}, ${end}] end past the data section, which is ${dataLength} bytes ` +
        `(file bytes ${dataStart}..${dataStart + dataLength}); the file is truncated or the offsets are corrupt`,
    );
  }
  const count = elementCount(shape);
  const size = fileDTypeBytes(dtype);
  if (count * size !== end - begin) {
    const need = Number.isFinite(count) ? `${count} x ${size} = ${count * size} bytes` : 'more than 2^53 elements';
    throw new SafetensorsError(
      `${where}: ${dtype} shape [${shape.join(', ')}] needs ${need}, but data_offsets [${begin}, ${end}] ` +
        `span ${end - begin} bytes`,
    );
  }
  const entry: SafetensorsEntry = {
    name,
    dtype,
    shape: Object.freeze([...shape] as number[]),
    begin: dataStart + begin,
    end: dataStart + end,
  };
  return Object.freeze(entry);
}

/** Checks that the entries tile [dataStart, fileSize) exactly, and returns them in data order. */
function checkCoverage(file: string, entries: SafetensorsEntry[], dataStart: number, fileSize: number) {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const rel = (x: number) => x - dataStart;
  let cursor = dataStart;
  let prev: SafetensorsEntry | undefined;
  for (const e of sorted) {
    if (e.begin < cursor && prev) {
      throw new SafetensorsError(
        `${file}: tensors "${prev.name}" (data_offsets [${rel(prev.begin)}, ${rel(prev.end)}]) and "${e.name}" ` +
          `(data_offsets [${rel(e.begin)}, ${rel(e.end)}]) overlap; every data byte must belong to exactly one tensor`,
      );
    }
    if (e.begin > cursor) {
      const after = prev ? `after tensor "${prev.name}"` : 'at the start of the data section';
      throw new SafetensorsError(
        `${file}: data bytes [${rel(cursor)}, ${rel(e.begin)}) ${after} and before tensor "${e.name}" belong to ` +
          `no tensor; safetensors forbids holes in the data section`,
      );
    }
    cursor = e.end;
    prev = e;
  }
  if (cursor !== fileSize) {
    throw new SafetensorsError(
      `${file}: the last ${fileSize - cursor} bytes of the data section (file bytes ${cursor}..${fileSize}) ` +
        `belong to no tensor; the file has trailing data or its header is missing a tensor`,
    );
  }
  return sorted;
}

/** Reads and validates the header of a safetensors source (two small reads; no tensor data is touched). */
export async function parseSafetensorsHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const file = source.name;
  if (source.size < 8) {
    throw new SafetensorsError(
      `${file}: not a safetensors file: it is ${source.size} bytes, shorter than the 8-byte header length`,
    );
  }
  const prefix = await source.read(0, 8);
  const declared = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      `${file}: header length ${declared} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit; ` +
        `the file is corrupt or not safetensors`,
    );
  }
  const headerLength = Number(declared);
  const dataStart = 8 + headerLength;
  if (dataStart > source.size) {
    throw new SafetensorsError(
      `${file}: header length ${headerLength} runs past the end of the file (${source.size} bytes; the header ` +
        `would end at byte ${dataStart}); the file is truncated or corrupt`,
    );
  }
  const headerBytes = await source.read(8, headerLength);
  if (headerBytes[0] !== 0x7b) {
    const found = headerLength === 0 ? 'the header is empty' : `it starts with byte 0x${headerBytes[0].toString(16)}`;
    throw new SafetensorsError(`${file}: the header must be a JSON object starting with '{', but ${found}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(`${file}: the ${headerLength}-byte header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new SafetensorsError(`${file}: the header is not valid JSON (${reason})`);
  }
  if (!isJsonObject(json)) {
    throw new SafetensorsError(`${file}: the header must be a JSON object, got ${show(json)}`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new SafetensorsError(
      `${file}: the header repeats the key "${duplicate}"; duplicate keys are forbidden because readers ` +
        `disagree on which one wins`,
    );
  }

  const metadata = parseMetadata(file, json.__metadata__);
  const dataLength = source.size - dataStart;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    entries.push(parseEntry(file, name, info, dataStart, dataLength));
  }
  const tensors = checkCoverage(file, entries, dataStart, source.size);
  return { metadata, tensors, dataStart };
}

// ---------------------------------------------------------------------------------------------------------
// Reading tensors

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return out;
}

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** Random access to the tensors of one safetensors source. Create it with {@link readSafetensors}. */
export class SafetensorsReader {
  readonly metadata: Readonly<Record<string, string>>;
  /** In data order (ascending `begin`). */
  readonly entries: readonly SafetensorsEntry[];
  readonly dataStart: number;
  readonly #byName: Map<string, SafetensorsEntry>;

  constructor(
    readonly source: ByteSource,
    header: SafetensorsHeader,
  ) {
    this.metadata = header.metadata;
    this.entries = Object.freeze([...header.tensors]);
    this.dataStart = header.dataStart;
    this.#byName = new Map(header.tensors.map((e) => [e.name, e]));
  }

  get names(): string[] {
    return this.entries.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The header entry for `name`; an unknown name throws, listing the closest names first. */
  entry(name: string): SafetensorsEntry {
    const found = this.#byName.get(name);
    if (found) return found;
    const file = this.source.name;
    if (this.entries.length === 0) {
      throw new SafetensorsError(`${file}: no tensor named "${name}"; the file holds no tensors`);
    }
    const ranked = this.names
      .map((n) => ({ n, d: levenshtein(name, n) }))
      .sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
      .map((x) => `"${x.n}"`);
    const shown = ranked.slice(0, 10).join(', ');
    const more = ranked.length > 10 ? ` and ${ranked.length - 10} more` : '';
    throw new SafetensorsError(
      `${file}: no tensor named "${name}"; the file has ${ranked.length} (closest first): ${shown}${more}`,
    );
  }

  /** One tensor in its file dtype. Reads exactly that tensor's byte range; the result is the caller's. */
  async read(name: string): Promise<SafetensorsTensor> {
    const e = this.entry(name);
    requireLittleEndian(`${this.source.name}: tensor "${name}"`, e.dtype);
    const length = e.end - e.begin;
    let bytes = await this.source.read(e.begin, length);
    if (bytes.length !== length) {
      throw new SafetensorsError(
        `${this.source.name}: tensor "${name}": the source returned ${bytes.length} bytes for [${e.begin}, ${e.end})`,
      );
    }
    const ctor = ARRAY_CTORS[e.dtype];
    // Typed arrays need offsets that are multiples of the element size; a misaligned view gets one copy.
    if (bytes.byteOffset % ctor.BYTES_PER_ELEMENT !== 0) bytes = bytes.slice();
    const data = new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, length / ctor.BYTES_PER_ELEMENT);
    return { dtype: e.dtype, shape: [...e.shape], data } as SafetensorsTensor;
  }

  /**
   * One tensor in a core dtype: F32, F64, F16, BF16 (as bits), I32, U8, I8 and U32 (MLX's packed
   * quantized words) stay as they are; BOOL becomes u8 0/1 (any nonzero byte reads as 1); I16 and
   * U16 widen to i32; I64 and U64 become i32 when every value fits (else a SafetensorsError names
   * the tensor, the element and the value).
   */
  async readAsCore(name: string): Promise<CoreTensorData> {
    const t = await this.read(name);
    const base = { shape: t.shape, fileDType: t.dtype };
    switch (t.dtype) {
      case 'F32':
        return { ...base, dtype: 'f32', data: t.data };
      case 'F64':
        return { ...base, dtype: 'f64', data: t.data };
      case 'F16':
        return { ...base, dtype: 'f16', data: t.data };
      case 'BF16':
        return { ...base, dtype: 'bf16', data: t.data };
      case 'I32':
        return { ...base, dtype: 'i32', data: t.data };
      case 'U8':
        return { ...base, dtype: 'u8', data: t.data };
      case 'I8':
        return { ...base, dtype: 'i8', data: t.data };
      case 'U32':
        return { ...base, dtype: 'u32', data: t.data };
      case 'BOOL': {
        const d = t.data;
        for (let i = 0; i < d.length; i++) if (d[i] > 1) d[i] = 1;
        return { ...base, dtype: 'u8', data: d };
      }
      case 'I16':
      case 'U16':
        return { ...base, dtype: 'i32', data: Int32Array.from(t.data) };
      case 'I64':
      case 'U64': {
        const src = t.data;
        const out = new Int32Array(src.length);
        for (let i = 0; i < src.length; i++) {
          const v = Number(src[i]);
          if (v < I32_MIN || v > I32_MAX) {
            const at = t.shape.length > 0 ? ` (index [${unravel(i, t.shape).join(', ')}])` : '';
            throw new SafetensorsError(
              `${this.source.name}: tensor "${name}": ${t.dtype} value ${src[i]} at element ${i}${at} does not ` +
                `fit in i32, the widest integer dtype the core computes in; use read() for the raw ${t.dtype} values`,
            );
          }
          out[i] = v;
        }
        return { ...base, dtype: 'i32', data: out };
      }
    }
  }

  /** Closes the underlying source (a file handle), if it has one. */
  async close(): Promise<void> {
    await this.source.close?.();
  }
}

/** Parses the header of `source` and returns a reader; tensor bytes are read only on request. */
export async function readSafetensors(source: ByteSource): Promise<SafetensorsReader> {
  return new SafetensorsReader(source, await parseSafetensorsHeader(source));
}

// ---------------------------------------------------------------------------------------------------------
// Writing

export interface EncodeOptions {
  /** Names the destination in error messages (a path); default "encodeSafetensors". */
  name?: string;
}

/**
 * Serializes tensors to safetensors bytes, returned as parts to write in order (the header, then each
 * tensor's data as a view, uncopied).
 *
 * Order: like the reference writer, by element size (largest first), then by name in code-unit order. With
 * the header padded to a multiple of 8 bytes this puts every tensor at a file offset that is a multiple of
 * its element size, so readers (and mmap) can view the data in place. The header lists `__metadata__` first
 * (omitted when empty), then the tensors in data order.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsTensor>>,
  metadata?: Readonly<Record<string, string>>,
  options: EncodeOptions = {},
): Uint8Array[] {
  const label = options.name ?? 'encodeSafetensors';
  const items = Object.entries(tensors).map(([name, t]) => checkTensor(label, name, t));
  items.sort((a, b) => {
    const bySize = fileDTypeBytes(b.t.dtype) - fileDTypeBytes(a.t.dtype);
    return bySize || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });

  const fields: string[] = [];
  if (metadata !== undefined) {
    if (!isJsonObject(metadata)) {
      throw new SafetensorsError(`${label}: metadata must be an object mapping strings to strings`);
    }
    const metaEntries = Object.entries(metadata);
    for (const [key, value] of metaEntries) {
      if (typeof value !== 'string') {
        throw new SafetensorsError(`${label}: metadata "${key}" is ${show(value)}; values must be strings`);
      }
    }
    if (metaEntries.length > 0) {
      const body = metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',');
      fields.push(`"__metadata__":{${body}}`);
    }
  }
  let offset = 0;
  for (const { name, t } of items) {
    const bytes = t.data.byteLength;
    fields.push(
      `${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],` +
        `"data_offsets":[${offset},${offset + bytes}]}`,
    );
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  // Spaces pad the header so the data section starts 8-byte aligned, as the format recommends.
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      `${label}: the header would be ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce`,
    );
  }
  const head = new Uint8Array(8 + headerLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length);
  return [head, ...items.map(({ t }) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

function checkTensor(label: string, name: string, t: SafetensorsTensor): { name: string; t: SafetensorsTensor } {
  const where = `${label}: tensor "${name}"`;
  if (name === '__metadata__') {
    throw new SafetensorsError(`${where}: the name __metadata__ is reserved for file metadata; rename the tensor`);
  }
  if (!isJsonObject(t)) throw new SafetensorsError(`${where}: expected { dtype, shape, data }, got ${show(t)}`);
  if (!isFileDType(t.dtype)) {
    throw new SafetensorsError(`${where}: unknown dtype ${show(t.dtype)}; expected one of ${FILE_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(t.shape) || !t.shape.every(isIndex)) {
    throw new SafetensorsError(`${where}: shape must be an array of integers >= 0, got ${show(t.shape)}`);
  }
  const ctor = ARRAY_CTORS[t.dtype];
  if (!(t.data instanceof ctor)) {
    const got = (t.data as { constructor?: { name?: string } } | null)?.constructor?.name ?? show(t.data);
    throw new SafetensorsError(`${where}: ${t.dtype} data must be a ${ctor.name}, got ${got}`);
  }
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    throw new SafetensorsError(
      `${where}: shape [${t.shape.join(', ')}] holds ${count} elements but data has ${t.data.length}`,
    );
  }
  requireLittleEndian(where, t.dtype);
  if (t.dtype === 'BOOL') {
    const bad = t.data.findIndex((v) => v > 1);
    if (bad >= 0) {
      throw new SafetensorsError(`${where}: BOOL data must hold 0 or 1, but element ${bad} is ${t.data[bad]}`);
    }
  }
  return { name, t };
}
