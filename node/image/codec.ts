/**
 * Still-image decoding and encoding in Node (pure JS: pngjs, jpeg-js). Browsers decode
 * with createImageBitmap instead; both hand the pipeline the same RGBA pixels.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UsageError } from '../../core/errors.js';
import type { RgbaImage } from '../../core/image.js';
import { writeFileAtomic } from '../atomic-write.js';

export type { RgbaImage };

export type ImageFormat = 'png' | 'jpeg';

/** Refuse images whose decoded pixels would not fit comfortably in memory. */
export const MAX_PIXELS = 100_000_000;

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

export function decodeImage(bytes: Uint8Array, name = 'image'): RgbaImage {
  const format = sniffFormat(bytes);
  if (!format) {
    throw new UsageError(`${name}: not a PNG or JPEG file (unrecognised first bytes); convert it to PNG or JPEG`);
  }
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      checkSize(png.width, png.height, name);
      return {
        width: png.width,
        height: png.height,
        data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
      };
    }
    const decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: 2048,
    });
    checkSize(decoded.width, decoded.height, name);
    // Browsers honour the EXIF orientation (createImageBitmap's default); so must we, or phone
    // photos come out sideways and the CLI and the demo disagree.
    return applyOrientation(
      { width: decoded.width, height: decoded.height, data: decoded.data },
      exifOrientation(bytes),
    );
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${name}: cannot decode ${format.toUpperCase()}: ${(err as Error).message}`);
  }
}

function checkSize(width: number, height: number, name: string): void {
  if (width <= 0 || height <= 0) throw new UsageError(`${name}: image has no pixels (${width}×${height})`);
  if (width * height > MAX_PIXELS) {
    throw new UsageError(`${name}: ${width}×${height} is over the ${MAX_PIXELS / 1e6} MP limit; downscale it first`);
  }
}

export async function readImage(path: string): Promise<RgbaImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${(err as Error).message})`,
    );
  }
  return decodeImage(bytes, path);
}

export function encodeImage(image: RgbaImage, format: ImageFormat, quality = 92): Uint8Array {
  if (image.data.length !== image.width * image.height * 4) {
    throw new UsageError(`encodeImage: ${image.data.length} bytes do not match ${image.width}×${image.height} RGBA`);
  }
  if (format === 'png') {
    const png = new PNG({ width: image.width, height: image.height });
    png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    return PNG.sync.write(png);
  }
  return jpeg.encode({ width: image.width, height: image.height, data: image.data }, quality).data;
}

/** The format an output path asks for, by extension. */
export function formatForPath(path: string): ImageFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new UsageError(`${path}: unsupported output extension '${ext || '(none)'}'; use .png, .jpg or .jpeg`);
}

/** Encode by the path's extension and write atomically. */
export async function writeImage(path: string, image: RgbaImage, quality?: number): Promise<void> {
  await writeFileAtomic(path, encodeImage(image, formatForPath(path), quality));
}

/**
 * The EXIF orientation (1..8) of a JPEG, or 1 when it has none: tag 0x0112 of IFD0 in the
 * APP1 "Exif" segment. Malformed EXIF is ignored (orientation 1), never an error.
 */
export function exifOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === 0xff) {
    const marker = bytes[pos + 1];
    if (marker === 0xda || marker === 0xd9) break; // start of scan / end of image: no EXIF before the data
    const length = view.getUint16(pos + 2);
    const start = pos + 4;
    if (
      marker === 0xe1 &&
      length >= 16 &&
      start + 6 <= bytes.length &&
      String.fromCharCode(...bytes.subarray(start, start + 4)) === 'Exif'
    ) {
      const tiff = start + 6;
      if (tiff + 8 > bytes.length) return 1;
      const little = bytes[tiff] === 0x49; // "II" little-endian, "MM" big-endian
      const ifd = tiff + view.getUint32(tiff + 4, little);
      if (ifd + 2 > bytes.length) return 1;
      const entries = view.getUint16(ifd, little);
      for (let i = 0; i < entries; i++) {
        const entry = ifd + 2 + 12 * i;
        if (entry + 12 > bytes.length) return 1;
        if (view.getUint16(entry, little) === 0x0112) {
          const value = view.getUint16(entry + 8, little);
          return value >= 1 && value <= 8 ? value : 1;
        }
      }
      return 1;
    }
    pos = start + length - 2;
  }
  return 1;
}

/** Turn stored pixels upright for an EXIF orientation (1: as stored; 5..8 swap width and height). */
export function applyOrientation(img: RgbaImage, orientation: number): RgbaImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(ow * oh * 4);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2:
          [sx, sy] = [w - 1 - x, y];
          break; // mirrored
        case 3:
          [sx, sy] = [w - 1 - x, h - 1 - y];
          break; // rotated 180°
        case 4:
          [sx, sy] = [x, h - 1 - y];
          break; // flipped vertically
        case 5:
          [sx, sy] = [y, x];
          break; // transposed
        case 6:
          [sx, sy] = [y, h - 1 - x];
          break; // needs 90° clockwise
        case 7:
          [sx, sy] = [w - 1 - y, h - 1 - x];
          break; // transverse
        default:
          [sx, sy] = [w - 1 - y, x];
          break; // 8: needs 90° counter-clockwise
      }
      const src = (sy * w + sx) * 4;
      out.set(data.subarray(src, src + 4), (y * ow + x) * 4);
    }
  }
  return { width: ow, height: oh, data: out };
}
