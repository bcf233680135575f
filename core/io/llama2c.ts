/**
 * llama2.c model checkpoints (karpathy/llama2.c: export.py writes them, run.c and runq.c read them).
 *
 * - v0 (legacy, read by run.c): seven little-endian int32 `dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *   vocab_size, seq_len` (a negative vocab_size means the classifier is not shared with the embedding), then
 *   float32 arrays, each stacked over layers and stored [out, in]: tok_embeddings, rms_att, wq, wk, wv, wo,
 *   rms_ffn, w1, w2, w3, rms_final, two RoPE tables of seq_len·head_size/2 floats (skipped), and wcls when
 *   unshared.
 * - v1: uint32 magic 0x616b3432 ("ak42"), int32 version 1, the seven ints, a uint8 shared-classifier flag,
 *   zeros up to byte 256; then float32 rms_att, rms_ffn, rms_final, tok_embeddings, wq, wk, wv, wo, w1, w2, w3
 *   and wcls when unshared.
 * - v2 (Q8_0, read by runq.c): the v1 header plus an int32 group_size; float32 norms as in v1, then each
 *   matrix (tok_embeddings, then every layer's wq, ..., w3, then wcls when unshared) as int8 values followed
 *   by one float32 scale per group of group_size consecutive values (w = q·scale). Dequantized on load.
 *
 * Every reader check names the file and the field: bad magic or version, implausible sizes, a file whose
 * length differs from what its header implies, non-finite weights or scales.
 * @module
 */
import { UsageError } from '../errors.js';
import type { ByteSource } from './bytes.js';

export class Llama2cError extends UsageError {
  override name = 'Llama2cError';
}

export const LLAMA2C_MAGIC = 0x616b3432;
const V1_HEADER_BYTES = 256;
const V0_HEADER_BYTES = 28;

export interface Llama2cHeader {
  readonly version: 0 | 1 | 2;
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  /** The output classifier is the token embedding (no wcls in the file). */
  readonly sharedClassifier: boolean;
  /** Q8_0 group size (v2 only). */
  readonly groupSize: number;
  /** Where the weights start. */
  readonly headerBytes: number;
}

/** The weight names, llama2.c's own; stacked arrays are [n_layers, ...]. */
export type Llama2cTensorName =
  | 'tok_embeddings'
  | 'rms_att'
  | 'wq'
  | 'wk'
  | 'wv'
  | 'wo'
  | 'rms_ffn'
  | 'w1'
  | 'w2'
  | 'w3'
  | 'rms_final'
  | 'wcls';

export interface Llama2cTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface Llama2cCheckpoint {
  readonly header: Llama2cHeader;
  readonly tensors: ReadonlyMap<Llama2cTensorName, Llama2cTensor>;
}

/** One stored array: float32, or Q8_0 (one entry per layer in v2, as runq.c maps them). */
interface Segment {
  readonly name: Llama2cTensorName;
  readonly shape: readonly number[];
  /** For a Q8_0 layer slice: which layer of a stacked tensor. */
  readonly layer?: number;
  readonly kind: 'f32' | 'q8' | 'skip';
  readonly offset: number;
  readonly bytes: number;
}

function readInt32s(bytes: Uint8Array, offset: number, count: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => view.getInt32(offset + 4 * i, true));
}

/** Parses the header from the file's first bytes (at least 256, or the whole file when shorter). */
export function parseLlama2cHeader(file: string, head: Uint8Array): Llama2cHeader {
  if (head.length < V0_HEADER_BYTES) {
    throw new Llama2cError(
      `${file}: ${head.length} bytes is too short for a llama2.c checkpoint (the header alone is ${V0_HEADER_BYTES} bytes)`,
    );
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0, true);
  let version: 0 | 1 | 2 = 0;
  let ints: number[];
  let sharedClassifier: boolean;
  let groupSize = 0;
  let headerBytes = V0_HEADER_BYTES;
  if (magic === LLAMA2C_MAGIC) {
    if (head.length < V1_HEADER_BYTES) {
      throw new Llama2cError(`${file}: truncated header: a versioned llama2.c checkpoint has a 256-byte header`);
    }
    const v = view.getInt32(4, true);
    if (v !== 1 && v !== 2) {
      throw new Llama2cError(
        `${file}: version ${v} is not a llama2.c checkpoint version this reader knows (0 legacy, 1 float32, 2 Q8_0)`,
      );
    }
    version = v;
    ints = readInt32s(head, 8, 7);
    const flag = head[36];
    if (flag > 1) throw new Llama2cError(`${file}: shared_classifier flag is ${flag}; it must be 0 or 1`);
    sharedClassifier = flag === 1;
    if (version === 2) groupSize = view.getInt32(37, true);
    headerBytes = V1_HEADER_BYTES;
  } else {
    ints = readInt32s(head, 0, 7);
    sharedClassifier = ints[5] > 0;
    ints[5] = Math.abs(ints[5]);
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = ints;
  const fields = { dim, hidden_dim: hiddenDim, n_layers: nLayers, n_heads: nHeads, n_kv_heads: nKvHeads };
  for (const [name, value] of Object.entries({ ...fields, vocab_size: vocabSize, seq_len: seqLen })) {
    if (value <= 0) {
      throw new Llama2cError(
        `${file}: header field ${name} is ${value}; it must be positive` +
          (version === 0
            ? ' (is this a llama2.c checkpoint? the file starts with neither "ak42" nor a plausible header)'
            : ''),
      );
    }
  }
  if (dim % nHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw new Llama2cError(`${file}: dim ${dim} must split into n_heads ${nHeads} heads of an even size`);
  }
  if (nHeads % nKvHeads !== 0) {
    throw new Llama2cError(`${file}: n_heads ${nHeads} must be a multiple of n_kv_heads ${nKvHeads}`);
  }
  if (version === 2 && (groupSize <= 0 || dim % groupSize !== 0)) {
    throw new Llama2cError(`${file}: Q8_0 group_size ${groupSize} must be positive and divide dim ${dim}`);
  }
  return {
    version,
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize,
    seqLen,
    sharedClassifier,
    groupSize,
    headerBytes,
  };
}

/**
 * Where every array of a checkpoint lies, in file order. Throws when the file's `actual` size differs from
 * what the header implies, as soon as the arrays run past it (a corrupt n_layers must not plan billions).
 */
function layout(file: string, h: Llama2cHeader, actual: number): Segment[] {
  const { dim, hiddenDim: hidden, nLayers: L, nHeads, nKvHeads, vocabSize: V, seqLen } = h;
  const headSize = dim / nHeads;
  const kvDim = headSize * nKvHeads;
  const segments: Segment[] = [];
  let offset = h.headerBytes;
  const add = (name: Llama2cTensorName, shape: number[], kind: Segment['kind'], layer?: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (kind === 'q8' && n % h.groupSize !== 0) {
      throw new Llama2cError(`${file}: ${name} has ${n} values, not a multiple of group_size ${h.groupSize}`);
    }
    const bytes = kind === 'q8' ? n + (n / h.groupSize) * 4 : n * 4;
    if (!Number.isSafeInteger(offset + bytes) || offset + bytes > actual)
      sizeMismatch(file, h, actual, offset + bytes, false);
    segments.push({ name, shape, kind, offset, bytes, layer });
    offset += bytes;
  };
  const matrices: [Llama2cTensorName, number, number][] = [
    ['wq', dim, dim],
    ['wk', kvDim, dim],
    ['wv', kvDim, dim],
    ['wo', dim, dim],
    ['w1', hidden, dim],
    ['w2', dim, hidden],
    ['w3', hidden, dim],
  ];
  if (h.version === 0) {
    add('tok_embeddings', [V, dim], 'f32');
    add('rms_att', [L, dim], 'f32');
    for (const [name, o, i] of matrices.slice(0, 4)) add(name, [L, o, i], 'f32');
    add('rms_ffn', [L, dim], 'f32');
    for (const [name, o, i] of matrices.slice(4)) add(name, [L, o, i], 'f32');
    add('rms_final', [dim], 'f32');
    add('rms_final', [2, seqLen, headSize / 2], 'skip'); // freq_cis_real, freq_cis_imag
  } else {
    add('rms_att', [L, dim], 'f32');
    add('rms_ffn', [L, dim], 'f32');
    add('rms_final', [dim], 'f32');
    if (h.version === 1) {
      add('tok_embeddings', [V, dim], 'f32');
      for (const [name, o, i] of matrices) add(name, [L, o, i], 'f32');
    } else {
      add('tok_embeddings', [V, dim], 'q8');
      for (const [name, o, i] of matrices) for (let l = 0; l < L; l++) add(name, [o, i], 'q8', l);
    }
  }
  if (!h.sharedClassifier) add('wcls', [V, dim], h.version === 2 ? 'q8' : 'f32');
  if (offset !== actual) sizeMismatch(file, h, actual, offset, true);
  return segments;
}

function checkFinite(file: string, name: string, data: Float32Array, what = 'weight'): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Llama2cError(`${file}: ${name} ${what} ${i} is ${data[i]}; the checkpoint is corrupt`);
    }
  }
}

/** The float32 values of one segment from its bytes (Q8_0 dequantized). */
function decodeSegment(file: string, s: Segment, bytes: Uint8Array, groupSize: number): Float32Array {
  const label = s.layer === undefined ? s.name : `${s.name}[layer ${s.layer}]`;
  if (s.kind === 'f32') {
    const data = new Float32Array(s.bytes / 4);
    new Uint8Array(data.buffer).set(bytes);
    checkFinite(file, label, data);
    return data;
  }
  const n = s.bytes / (1 + 4 / groupSize);
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, n);
  const scales = new Float32Array(n / groupSize);
  new Uint8Array(scales.buffer).set(bytes.subarray(n));
  checkFinite(file, label, scales, 'Q8_0 scale');
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = q[i] * scales[Math.floor(i / groupSize)];
  return data;
}

/** Collects arrays as they are decoded, stitching v2's per-layer slices into stacked tensors. */
function collector(header: Llama2cHeader) {
  const tensors = new Map<Llama2cTensorName, Llama2cTensor>();
  const add = (s: Segment, data: Float32Array): void => {
    if (s.layer === undefined) {
      tensors.set(s.name, { shape: s.shape, data });
      return;
    }
    let stacked = tensors.get(s.name);
    if (!stacked) {
      stacked = { shape: [header.nLayers, ...s.shape], data: new Float32Array(header.nLayers * data.length) };
      tensors.set(s.name, stacked);
    }
    stacked.data.set(data, s.layer * data.length);
  };
  return { tensors, add };
}

/** The file's size differs from the one its header implies: `expected` bytes, or at least that many. */
function sizeMismatch(file: string, h: Llama2cHeader, actual: number, expected: number, exact: boolean): never {
  throw new Llama2cError(
    `${file}: the header (v${h.version}: dim ${h.dim}, hidden_dim ${h.hiddenDim}, n_layers ${h.nLayers}, ` +
      `n_heads ${h.nHeads}, n_kv_heads ${h.nKvHeads}, vocab_size ${h.vocabSize}, seq_len ${h.seqLen}, ` +
      `${h.sharedClassifier ? 'shared' : 'separate'} classifier${h.version === 2 ? `, group_size ${h.groupSize}` : ''}) ` +
      `implies ${exact ? '' : 'at least '}${expected} bytes but the file has ${actual}` +
      (actual < expected
        ? ' (truncated, or a header that does not describe these weights?)'
        : ' (trailing data, or a header that does not describe these weights)'),
  );
}

/**
 * Checks that a file of `size` bytes whose first bytes are `head` (256 of them, or the whole file) is a whole
 * checkpoint, without reading the weights; returns its header. For quick file checks (downloads).
 */
export function checkLlama2cSize(file: string, head: Uint8Array, size: number): Llama2cHeader {
  const header = parseLlama2cHeader(file, head.subarray(0, V1_HEADER_BYTES));
  layout(file, header, size);
  return header;
}

/** Parses a whole checkpoint held in memory. */
export function parseLlama2c(file: string, bytes: Uint8Array): Llama2cCheckpoint {
  const header = parseLlama2cHeader(file, bytes.subarray(0, V1_HEADER_BYTES));
  const segments = layout(file, header, bytes.length);
  const { tensors, add } = collector(header);
  for (const s of segments) {
    if (s.kind !== 'skip')
      add(s, decodeSegment(file, s, bytes.subarray(s.offset, s.offset + s.bytes), header.groupSize));
  }
  return { header, tensors };
}

/** Reads a checkpoint through a ByteSource: the header, then one range per array. */
export async function readLlama2c(source: ByteSource): Promise<Llama2cCheckpoint> {
  const header = parseLlama2cHeader(source.name, await source.read(0, Math.min(source.size, V1_HEADER_BYTES)));
  const segments = layout(source.name, header, source.size);
  const { tensors, add } = collector(header);
  for (const s of segments) {
    if (s.kind !== 'skip')
      add(s, decodeSegment(source.name, s, await source.read(s.offset, s.bytes), header.groupSize));
  }
  return { header, tensors };
}
