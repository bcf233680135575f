import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyOrientation,
  decodeImage,
  encodeImage,
  exifOrientation,
  formatForPath,
  readImage,
  writeImage,
} from '../../../node/image/codec.js';

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

/** A JPEG with an APP1 Exif segment (little-endian TIFF, one IFD0 entry: orientation) after SOI. */
function withOrientation(jpegBytes: Uint8Array, orientation: number): Uint8Array {
  const tiff = [
    0x49,
    0x49,
    0x2a,
    0x00,
    8,
    0,
    0,
    0,
    1,
    0,
    0x12,
    0x01,
    3,
    0,
    1,
    0,
    0,
    0,
    orientation,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  const payload = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const length = payload.length + 2;
  const app1 = [0xff, 0xe1, length >> 8, length & 0xff, ...payload];
  return new Uint8Array([...jpegBytes.subarray(0, 2), ...app1, ...jpegBytes.subarray(2)]);
}

describe('EXIF orientation', () => {
  // 32×16: left half red, right half blue (flat colours survive JPEG).
  const w = 32;
  const h = 16;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) data.set(x < w / 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], (y * w + x) * 4);
  const plain = encodeImage({ width: w, height: h, data }, 'jpeg', 95);
  const red = (img: { width: number; data: Uint8Array | Uint8ClampedArray }, x: number, y: number) =>
    img.data[(y * img.width + x) * 4] > 200;

  it('reads the tag and turns the pixels upright, as browsers do', () => {
    expect(exifOrientation(plain)).toBe(1);
    const six = decodeImage(withOrientation(plain, 6));
    // Stored image needs 90° clockwise: the left (red) half ends up on top.
    expect([six.width, six.height]).toEqual([h, w]);
    expect(red(six, 8, 2)).toBe(true);
    expect(red(six, 8, 29)).toBe(false);
    const eight = decodeImage(withOrientation(plain, 8));
    expect([eight.width, eight.height]).toEqual([h, w]);
    expect(red(eight, 8, 29)).toBe(true);
    const three = decodeImage(withOrientation(plain, 3));
    expect([three.width, three.height]).toEqual([w, h]);
    expect(red(three, 30, 8)).toBe(true);
    expect(red(three, 1, 8)).toBe(false);
  });

  it('maps a tiny image exactly for every orientation', () => {
    // 3×2 pixels numbered 0..5 in the red channel; expected layouts written out by hand.
    const px = { width: 3, height: 2, data: new Uint8Array([0, 1, 2, 3, 4, 5].flatMap((v) => [v, 0, 0, 255])) };
    const reds = (o: number) => {
      const r = applyOrientation(px, o);
      return [r.width, r.height, ...Array.from(r.data).filter((_, i) => i % 4 === 0)];
    };
    expect(reds(1)).toEqual([3, 2, 0, 1, 2, 3, 4, 5]);
    expect(reds(2)).toEqual([3, 2, 2, 1, 0, 5, 4, 3]);
    expect(reds(3)).toEqual([3, 2, 5, 4, 3, 2, 1, 0]);
    expect(reds(4)).toEqual([3, 2, 3, 4, 5, 0, 1, 2]);
    expect(reds(5)).toEqual([2, 3, 0, 3, 1, 4, 2, 5]);
    expect(reds(6)).toEqual([2, 3, 3, 0, 4, 1, 5, 2]);
    expect(reds(7)).toEqual([2, 3, 5, 2, 4, 1, 3, 0]);
    expect(reds(8)).toEqual([2, 3, 2, 5, 1, 4, 0, 3]);
  });

  it('ignores truncated or malformed EXIF', () => {
    const cut = withOrientation(plain, 6).subarray(0, 20);
    expect(exifOrientation(cut)).toBe(1);
  });
});
