import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFormat, FormatError, type ModelFormat } from '../../../node/models/formats.js';

const SHARED = resolve(fileURLToPath(new URL('../../../', import.meta.url)), '../shared/models');
const dir = mkdtempSync(join(tmpdir(), 'eai-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function put(bytes: Uint8Array | string): string {
  const p = join(dir, `f${n++}`);
  writeFileSync(p, bytes);
  return p;
}
async function problem(bytes: Uint8Array | string, format: ModelFormat): Promise<string> {
  const err = await checkFormat(put(bytes), format).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FormatError);
  return (err as Error).message;
}

describe('checkFormat rejects', () => {
  const stories = readFileSync(join(SHARED, 'stories260K/stories260K.bin'));
  const tok = readFileSync(join(SHARED, 'stories260K/tok512.bin'));
  const tfl = readFileSync(
    join(SHARED, 'magenta-arbitrary/magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite'),
  );

  it('truncated or padded llama2.c checkpoints', async () => {
    expect(await problem(stories.subarray(0, stories.length - 4), 'llama2c')).toContain(
      'implies at least 1056540 bytes but the file has 1056536 (truncated',
    );
    expect(await problem(Buffer.concat([stories, Buffer.alloc(1)]), 'llama2c')).toContain(
      'implies 1056540 bytes but the file has 1056541 (trailing data',
    );
  });

  it('truncated tokenizers', async () => {
    expect(await problem(tok.subarray(0, tok.length - 3), 'llama2c-tokenizer')).toMatch(
      /truncated in token 511: its 3 bytes at offset 6224 run past the end/,
    );
  });

  it('TFLite without its identifier, Git LFS pointers, HTML pages and empty files', async () => {
    const bad = Buffer.from(tfl);
    bad.write('XXXX', 4, 'latin1');
    expect(await problem(bad, 'tflite')).toContain('no "TFL3" identifier at bytes 4..8 (found "XXXX")');
    expect(await problem('version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 3\n', 'onnx')).toContain(
      'Git LFS pointer',
    );
    expect(await problem('<!DOCTYPE html><html>Not found</html>', 'tflite')).toContain('HTML page');
    expect(await problem('', 'text')).toContain('empty');
  });

  it('ONNX files that are not a well-formed ModelProto', async () => {
    const onnx = readFileSync(join(SHARED, 'fast-neural-style/candy.onnx'));
    expect(await problem(onnx.subarray(0, onnx.length - 100), 'onnx')).toMatch(/runs past the end/);
    // ir_version = 7 only: well-formed protobuf, but no graph.
    expect(await problem(new Uint8Array([0x08, 0x07]), 'onnx')).toBe(
      `${join(dir, `f${n - 1}`)} is not a valid onnx file: no graph (field 7)`,
    );
    expect(await problem(new Uint8Array([0x0f, 0x01]), 'onnx')).toContain('unsupported protobuf wire type 7');
  });

  it('safetensors with a header past the end, and invalid UTF-8 text', async () => {
    const st = Buffer.alloc(16);
    st.writeBigUInt64LE(100n, 0);
    st.write('{}', 8);
    expect(await problem(st, 'safetensors')).toContain('header length 100 runs past the end (16 bytes)');
    expect(await problem(new Uint8Array([0x61, 0xff, 0x62]), 'text')).toContain('not valid UTF-8');
  });

  it('accepts a minimal well-formed safetensors file', async () => {
    const header = Buffer.from('{"__metadata__":{}}');
    const st = Buffer.alloc(8);
    st.writeBigUInt64LE(BigInt(header.length), 0);
    await expect(checkFormat(put(Buffer.concat([st, header])), 'safetensors')).resolves.toBeUndefined();
  });
});
