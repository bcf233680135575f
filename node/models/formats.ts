/**
 * Cheap structural checks that a file is the format it claims to be, for downloads whose checksum is not
 * known. They catch the usual failures (an HTML error page, a Git LFS pointer, a truncated transfer), not
 * every possible corruption; full parsing is the readers' job.
 * @module
 */
import { open, readFile } from 'node:fs/promises';
import { checkLlama2cSize, Llama2cError } from '../../core/io/llama2c.js';
import { parseLlama2cVocab } from '../../core/text/llama2c-tokenizer.js';
import { TokenizerError } from '../../core/text/tokenizer.js';

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

/** Runs a core reader's check; its error (which starts with the path) becomes the FormatError's reason. */
function readerCheck(path: string, format: ModelFormat, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    if (!(e instanceof Llama2cError || e instanceof TokenizerError)) throw e;
    fail(path, format, e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message);
  }
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

/**
 * Check that `path` looks like a `format` file.
 * @throws FormatError saying what is wrong (wrong magic, truncated, a Git LFS pointer, …).
 */
export async function checkFormat(path: string, format: ModelFormat): Promise<void> {
  const { head, size } = await readHead(path, 256);
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
    case 'llama2c':
      readerCheck(path, format, () => checkLlama2cSize(path, head, size));
      return;
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
      const bytes = await readFile(path);
      readerCheck(path, format, () => parseLlama2cVocab(path, bytes));
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
