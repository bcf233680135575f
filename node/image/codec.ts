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
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: 2048,
    });
    checkSize(img.width, img.height, name);
    return { width: img.width, height: img.height, data: img.data };
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
