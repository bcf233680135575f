import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeImage, formatForPath, readImage, writeImage } from '../../../node/image/codec.js';

const images = resolve(import.meta.dirname, '../../../../shared/images');
const dir = await mkdtemp(join(tmpdir(), 'eai-codec-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('image codec', () => {
  it('decodes the bundled PNG and JPEG content images to RGBA', async () => {
    const png = await readImage(join(images, 'content/astronaut.png'));
    expect(png.data.length).toBe(png.width * png.height * 4);
    expect(png.width).toBeGreaterThan(100);
    const jpg = await readImage(join(images, 'content/rocket.jpg'));
    expect(jpg.data.length).toBe(jpg.width * jpg.height * 4);
    // Opaque photos: every alpha byte is 255.
    expect(jpg.data.filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true);
  });

  it('round-trips PNG exactly and JPEG closely', async () => {
    const w = 17;
    const h = 9;
    const data = new Uint8Array(w * h * 4);
    for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : (i * 37) % 256;
    const back = decodeImage(encodeImage({ width: w, height: h, data }, 'png'));
    expect(back.width).toBe(w);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    const smooth = new Uint8Array(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? 255 : 100 + ((i >> 2) % 64)));
    const jb = decodeImage(encodeImage({ width: 64, height: 64, data: smooth }, 'jpeg', 95));
    let maxDiff = 0;
    for (let i = 0; i < smooth.length; i++) maxDiff = Math.max(maxDiff, Math.abs(jb.data[i] - smooth[i]));
    expect(maxDiff).toBeLessThan(12);
  });

  it('writes by extension, atomically', async () => {
    const img = { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255]) };
    const out = join(dir, 'out.png');
    await writeImage(out, img);
    expect(Array.from(decodeImage(await readFile(out)).data)).toEqual(Array.from(img.data));
    expect(() => formatForPath('x.gif')).toThrow(/unsupported output extension '.gif'/);
  });

  it('rejects unknown, truncated and missing files clearly', async () => {
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4]), 'x.bin')).toThrow(/x.bin: not a PNG or JPEG/);
    const png = await readFile(join(images, 'content/astronaut.png'));
    expect(() => decodeImage(png.subarray(0, 200), 'cut.png')).toThrow(/cut.png: cannot decode PNG/);
    const jpg = await readFile(join(images, 'content/rocket.jpg'));
    expect(() => decodeImage(jpg.subarray(0, 300), 'cut.jpg')).toThrow(/cut.jpg: cannot decode JPEG/);
    await expect(readImage(join(dir, 'missing.png'))).rejects.toThrow(/missing.png: no such file/);
  });
});
