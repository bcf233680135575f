/**
 * Cheap structural checks that a file is the format it claims to be, for downloads whose checksum is not
 * known. They catch the usual failures (an HTML error page, a Git LFS pointer, a truncated transfer), not
 * every possible corruption; full parsing is the readers' job.
 * @module
 */
import { open, readFile } from 'node:fs/promises';

/** File formats the registry knows. */
export type ModelFormat =
  | 'onnx'
  | 'tflite'
  | 'llama2c'
  | 'llama2c-tokenizer'
  | 'safetensors'
  | 'text'
  | 'json'
  | 'pth'
  | 'sentencepiece';

/** A file is not the format it should be; the message says what was found. */
export class FormatError extends Error {
  override name = 'FormatError';
}

const LFS_POINTER = 'version https://git-lfs';

function fail(path: string, format: ModelFormat, why: string): never {
  throw new FormatError(`${path} is not a valid ${format} file: ${why}`);
}

async function readHead(path: string, n: number): Promise<{ head: Buffer; size: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(n, size));
    await fh.read(head, 0, head.length, 0);
    return { head, size };
  } finally {
    await fh.close();
  }
}

/** Header of a legacy llama2.c checkpoint (seven little-endian int32). */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Negative in the file when the classifier is stored separately; here always positive. */
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/** Parse and sanity-check a llama2.c header; returns the byte size a checkpoint with it must have. */
export function llama2cExpectedSize(head: Uint8Array): { header: Llama2cHeader; bytes: number } | string {
  if (head.length < 28) return `only ${head.length} bytes, the header alone is 28`;
  const v = new DataView(head.buffer, head.byteOffset, 28);
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = Array.from({ length: 7 }, (_, i) =>
    v.getInt32(i * 4, true),
  );
  const vocabSize = Math.abs(vocabRaw);
  const limits: Array<[string, number, number]> = [
    ['dim', dim, 1 << 16],
    ['hidden_dim', hiddenDim, 1 << 18],
    ['n_layers', nLayers, 1024],
    ['n_heads', nHeads, 1024],
    ['n_kv_heads', nKvHeads, 1024],
    ['vocab_size', vocabSize, 1 << 22],
    ['seq_len', seqLen, 1 << 20],
  ];
  for (const [name, value, max] of limits) {
    if (!(value > 0 && value <= max)) return `implausible header: ${name} = ${value}`;
  }
  if (dim % nHeads !== 0) return `implausible header: dim ${dim} is not a multiple of n_heads ${nHeads}`;
  if (nHeads % nKvHeads !== 0)
    return `implausible header: n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`;
  const headSize = dim / nHeads;
  const kvDim = (dim * nKvHeads) / nHeads;
  // Tensor order of llama2.c's legacy export (run.c memory_map_weights), including the unused freq_cis tables.
  const floats =
    vocabSize * dim +
    nLayers * dim +
    nLayers * dim * dim +
    2 * nLayers * dim * kvDim +
    nLayers * dim * dim +
    nLayers * dim +
    3 * nLayers * dim * hiddenDim +
    dim +
    seqLen * headSize +
    (vocabRaw < 0 ? vocabSize * dim : 0);
  return {
    header: { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier: vocabRaw > 0 },
    bytes: 28 + 4 * floats,
  };
}

function readVarint(buf: Uint8Array, pos: number): { value: number; pos: number } | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) return undefined;
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return { value, pos };
    mul *= 128;
  }
  return undefined;
}

/** Walk the top level of a protobuf ModelProto: every field well-formed, ending exactly at the end. */
function checkOnnx(buf: Uint8Array): string | undefined {
  let pos = 0;
  const seen = new Set<number>();
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (!tag) return `truncated field tag at byte ${pos}`;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0) return `field number 0 at byte ${pos}`;
    pos = tag.pos;
    if (wire === 0) {
      const v = readVarint(buf, pos);
      if (!v) return `truncated varint at byte ${pos}`;
      pos = v.pos;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint(buf, pos);
      if (!len) return `truncated length at byte ${pos}`;
      pos = len.pos + len.value;
    } else return `unsupported protobuf wire type ${wire} at byte ${pos}`;
    if (pos > buf.length) return `field ${field} runs past the end of the file (${buf.length} bytes)`;
    seen.add(field);
  }
  if (!seen.has(1)) return 'no ir_version (field 1)';
  if (!seen.has(7)) return 'no graph (field 7)';
  return undefined;
}

function checkTokenizer(buf: Uint8Array): string | undefined {
  if (buf.length < 4) return 'shorter than the 4-byte header';
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const maxLen = v.getInt32(0, true);
  if (!(maxLen > 0 && maxLen <= 1 << 16)) return `implausible max_token_length ${maxLen}`;
  let pos = 4;
  let count = 0;
  while (pos < buf.length) {
    if (pos + 8 > buf.length) return `entry ${count} is truncated at byte ${pos}`;
    const len = v.getInt32(pos + 4, true);
    if (len < 0 || len > maxLen) return `entry ${count} has length ${len} (max_token_length ${maxLen})`;
    pos += 8 + len;
    if (pos > buf.length) return `entry ${count} runs past the end of the file`;
    count++;
  }
  return count === 0 ? 'no entries' : undefined;
}

/**
 * Check that `path` looks like a `format` file.
 * @throws FormatError saying what is wrong (wrong magic, truncated, a Git LFS pointer, …).
 */
export async function checkFormat(path: string, format: ModelFormat): Promise<void> {
  const { head, size } = await readHead(path, 64);
  if (size === 0) fail(path, format, 'the file is empty');
  if (head.subarray(0, LFS_POINTER.length).toString('latin1') === LFS_POINTER) {
    fail(path, format, 'it is a Git LFS pointer, not the file (the URL served the pointer instead of the content)');
  }
  const text = head.subarray(0, 15).toString('latin1').toLowerCase();
  if (format !== 'text' && (text.startsWith('<!doctype html') || text.startsWith('<html'))) {
    fail(path, format, 'it is an HTML page (an error or login page?)');
  }
  switch (format) {
    case 'tflite': {
      if (size < 8 || head.subarray(4, 8).toString('latin1') !== 'TFL3') {
        fail(
          path,
          format,
          `no "TFL3" identifier at bytes 4..8 (found ${JSON.stringify(head.subarray(4, 8).toString('latin1'))})`,
        );
      }
      const root = head.readUInt32LE(0);
      if (root >= size) fail(path, format, `root table offset ${root} is past the end (${size} bytes)`);
      return;
    }
    case 'llama2c': {
      const r = llama2cExpectedSize(head);
      if (typeof r === 'string') fail(path, format, r);
      if (r.bytes !== size) {
        fail(
          path,
          format,
          `the header implies ${r.bytes} bytes but the file has ${size} (truncated or not legacy llama2.c)`,
        );
      }
      return;
    }
    case 'safetensors': {
      if (size < 10) fail(path, format, `only ${size} bytes`);
      const n = Number(head.readBigUInt64LE(0));
      if (n + 8 > size) fail(path, format, `header length ${n} runs past the end (${size} bytes)`);
      if (head[8] !== 0x7b) fail(path, format, 'the header does not start with "{"');
      return;
    }
    case 'onnx': {
      const why = checkOnnx(await readFile(path));
      if (why) fail(path, format, why);
      return;
    }
    case 'llama2c-tokenizer': {
      const why = checkTokenizer(await readFile(path));
      if (why) fail(path, format, why);
      return;
    }
    case 'json': {
      try {
        JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path)));
      } catch (e) {
        fail(path, format, `not valid UTF-8 JSON (${(e as Error).message})`);
      }
      return;
    }
    case 'pth': {
      // torch.save writes a zip archive (PyTorch >= 1.6) or, in the legacy format, a pickle (protocol 2+).
      const zip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
      const pickle = head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
      if (!zip && !pickle) fail(path, format, 'neither a zip archive (PK\\x03\\x04) nor a pickle (\\x80 + protocol)');
      return;
    }
    case 'sentencepiece': {
      // A serialized ModelProto: field 1 (pieces) is a length-delimited message, tag byte 0x0a.
      if (head[0] !== 0x0a)
        fail(path, format, `first byte 0x${head[0].toString(16)} is not a ModelProto pieces field (0x0a)`);
      return;
    }
    case 'text': {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path));
      } catch {
        fail(path, format, 'not valid UTF-8');
      }
      return;
    }
  }
}
