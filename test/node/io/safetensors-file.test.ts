import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../core/errors.js';
import {
  encodeSafetensors,
  FILE_DTYPES,
  SafetensorsError,
  type SafetensorsTensor,
} from '../../../core/io/safetensors.js';
import { openFileSource } from '../../../node/io/file-source.js';
import { loadSafetensorsFile, saveSafetensorsFile, withSafetensorsFile } from '../../../node/io/safetensors-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eai-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function bytesOf(a: ArrayBufferView): number[] {
  return Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** One tensor per dtype: a 0-d one, a zero-size one and a 2x3 one, filled with a byte ramp. */
function everyDType(): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const dtype of FILE_DTYPES) {
    for (const shape of [[], [0, 4], [2, 3]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = emptyOf(dtype, n);
      const bytes = new Uint8Array(data.buffer);
      for (let i = 0; i < bytes.length; i++) bytes[i] = dtype === 'BOOL' ? i & 1 : (i * 37 + 11) & 0xff;
      out[`${dtype}:${shape.join('x')}`] = { dtype, shape, data } as SafetensorsTensor;
    }
  }
  return out;
}

function emptyOf(dtype: SafetensorsTensor['dtype'], n = 0): SafetensorsTensor['data'] {
  switch (dtype) {
    case 'F64':
      return new Float64Array(n);
    case 'F32':
      return new Float32Array(n);
    case 'F16':
    case 'BF16':
    case 'U16':
      return new Uint16Array(n);
    case 'I64':
      return new BigInt64Array(n);
    case 'U64':
      return new BigUint64Array(n);
    case 'I32':
      return new Int32Array(n);
    case 'U32':
      return new Uint32Array(n);
    case 'I16':
      return new Int16Array(n);
    case 'I8':
      return new Int8Array(n);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(n);
  }
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('saveSafetensorsFile / loadSafetensorsFile', () => {
  it('round-trips every dtype through a file, and writes exactly the encoded bytes', async () => {
    const path = join(dir, 'all.safetensors');
    const tensors = everyDType();
    await saveSafetensorsFile(path, tensors, { format: 'pt', note: 'ünïcode' });
    expect(new Uint8Array(await readFile(path))).toEqual(
      concat(encodeSafetensors(tensors, { format: 'pt', note: 'ünïcode' })),
    );

    const r = await loadSafetensorsFile(path);
    try {
      expect(r.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
      expect(r.names.sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        const got = await r.read(name);
        expect(got.dtype).toBe(t.dtype);
        expect(got.shape).toEqual(t.shape);
        expect(got.data.constructor).toBe(t.data.constructor);
        expect(bytesOf(got.data)).toEqual(bytesOf(t.data));
      }
    } finally {
      await r.close();
    }
  });

  it('replaces an existing file and leaves no temp files behind', async () => {
    const sub = join(dir, 'replace');
    await mkdir(sub);
    const path = join(sub, 'w.safetensors');
    await saveSafetensorsFile(path, { a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    await saveSafetensorsFile(path, { b: { dtype: 'I32', shape: [2], data: new Int32Array([3, 4]) } });
    expect(await readdir(sub)).toEqual(['w.safetensors']);
    await withSafetensorsFile(path, async (r) => {
      expect(r.names).toEqual(['b']);
      expect(Array.from((await r.readAsCore('b')).data)).toEqual([3, 4]);
    });
  });

  it('keeps the old file when encoding fails, with an error naming the destination', async () => {
    const path = join(dir, 'keep.safetensors');
    await saveSafetensorsFile(path, { a: { dtype: 'U8', shape: [1], data: new Uint8Array([5]) } });
    const before = await readFile(path);
    const bad = { a: { dtype: 'U8', shape: [2], data: new Uint8Array([5]) } } as Record<string, SafetensorsTensor>;
    await expect(saveSafetensorsFile(path, bad)).rejects.toThrow(
      `${path}: tensor "a": shape [2] holds 2 elements but data has 1`,
    );
    expect(await readFile(path)).toEqual(before);
  });

  it('reports a missing file clearly', async () => {
    const path = join(dir, 'nope', 'missing.safetensors');
    const err = await loadSafetensorsFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`file not found: ${path}; check the path and the working directory`);
  });

  it('reports a relative missing path with its resolved form', async () => {
    const err = await loadSafetensorsFile('no-such-dir-xyz/m.safetensors').catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^file not found: no-such-dir-xyz\/m.safetensors \(resolved to \/.*\)/);
  });

  it('refuses a directory', async () => {
    await expect(loadSafetensorsFile(dir)).rejects.toThrow(`${dir} is a directory, not a file`);
  });

  it('names the path in format errors', async () => {
    const path = join(dir, 'corrupt.safetensors');
    await writeFile(path, new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]));
    const err = await loadSafetensorsFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as Error).message).toBe(
      `${path}: header length 200 runs past the end of the file (10 bytes; the header would end at byte 208); ` +
        'the file is truncated or corrupt',
    );
  });

  it.skipIf(!existsSync('/proc/self/fd'))('closes the file when the header is rejected or fn throws', async () => {
    const path = join(dir, 'fd.safetensors');
    await writeFile(path, new Uint8Array([1, 2, 3]));
    const before = openFds();
    for (let i = 0; i < 5; i++) await expect(loadSafetensorsFile(path)).rejects.toBeInstanceOf(SafetensorsError);
    expect(openFds()).toBe(before);

    const good = join(dir, 'fd-good.safetensors');
    await saveSafetensorsFile(good, {});
    await expect(
      withSafetensorsFile(good, async () => {
        expect(openFds()).toBe(before + 1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(openFds()).toBe(before);
  });
});

describe('openFileSource', () => {
  it('reads arbitrary ranges positionally and enforces bounds', async () => {
    const path = join(dir, 'ramp.bin');
    const content = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    await writeFile(path, content);
    const src = await openFileSource(path);
    try {
      expect(src.name).toBe(path);
      expect(src.size).toBe(1000);
      expect(await src.read(990, 10)).toEqual(content.subarray(990));
      expect(await src.read(3, 5)).toEqual(content.subarray(3, 8));
      expect(await src.read(1000, 0)).toEqual(new Uint8Array(0));
      // Concurrent reads do not disturb each other (no shared file position).
      const [a, b] = await Promise.all([src.read(0, 500), src.read(500, 500)]);
      expect(concat([a, b])).toEqual(content);
      await expect(src.read(995, 10)).rejects.toThrow(
        new RangeError(`${path}: cannot read bytes [995, 1005): the source holds only 1000 bytes`),
      );
      await expect(src.read(-1, 1)).rejects.toBeInstanceOf(RangeError);
    } finally {
      await src.close?.();
    }
    await expect(src.read(0, 1)).rejects.toThrow(`${path}: read after close`);
    await src.close?.(); // closing twice is harmless
  });

  it('reports a file that shrank after it was opened', async () => {
    const path = join(dir, 'shrink.bin');
    await writeFile(path, new Uint8Array(100));
    const src = await openFileSource(path);
    try {
      await truncate(path, 40);
      await expect(src.read(30, 20)).rejects.toThrow(
        `${path}: the file ended at byte 40 while reading bytes [30, 50); it was 100 bytes when opened`,
      );
    } finally {
      await src.close?.();
    }
  });
});
