/**
 * Image files → RGBA pixels inside the worker: createImageBitmap decodes, an OffscreenCanvas
 * hands back the pixels. Colour profiles are ignored (colorSpaceConversion: 'none') so the
 * pixels are the file's own values, as Node's decoders give them: the page's output then
 * matches the CLI's for the same file.
 */
import { fitSize, type RgbaImage } from '../../../models/image-tensor.js';
import { DemoError } from '../errors.js';

/** Larger files are refused before decoding (a decoded 50 MP photo is already 200 MB of RGBA). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_PIXELS = 50_000_000;
/** Chromium's canvas limit per side. */
export const MAX_SIDE = 16_384;

const DECODABLE = /^image\/(png|jpeg|pjpeg|webp|gif|bmp|avif|x-icon|vnd\.microsoft\.icon)$/;

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export interface Decoded {
  readonly bitmap: ImageBitmap;
  readonly width: number;
  readonly height: number;
}

/** Check and decode a file; throws DemoError('unsupported-file' | 'too-large'). */
export async function decodeFile(file: Blob, name: string): Promise<Decoded> {
  if (file.size === 0) throw new DemoError('unsupported-file', `${name} is empty (0 bytes)`);
  if (file.size > MAX_FILE_BYTES) {
    throw new DemoError(
      'too-large',
      `${name} is ${megabytes(file.size)}; the demo takes files up to ${megabytes(MAX_FILE_BYTES)}: scale it down first`,
    );
  }
  if (file.type && !DECODABLE.test(file.type)) {
    throw new DemoError(
      'unsupported-file',
      `${name} is ${file.type}, which this page cannot read: use a PNG, JPEG or WebP image`,
    );
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: 'from-image',
    });
  } catch {
    throw new DemoError(
      'unsupported-file',
      `${name} could not be decoded as an image${file.type ? ` (${file.type})` : ''}: use a PNG, JPEG or WebP file`,
    );
  }
  const { width, height } = bitmap;
  if (width * height > MAX_PIXELS || width > MAX_SIDE || height > MAX_SIDE) {
    bitmap.close();
    throw new DemoError(
      'too-large',
      `${name} is ${width}×${height} (${((width * height) / 1e6).toFixed(1)} MP); the demo takes up to ` +
        `${MAX_PIXELS / 1e6} MP and ${MAX_SIDE} pixels a side: scale it down first`,
    );
  }
  return { bitmap, width, height };
}

/**
 * Above this many pixels the browser first scales the image down to 2× the output's long side:
 * a 48 MP phone photo would otherwise become a 580 MB f32 tensor in the pipeline's preprocessing.
 * Below it the pixels go in untouched, so the page's output equals the CLI's for the same file
 * (above it, the first reduction is the browser's filter instead of the pipeline's area filter).
 */
export const PRESHRINK_PIXELS = 16_000_000;

export function pixelsFor(decoded: Decoded, size: number): RgbaImage {
  const long = Math.max(decoded.width, decoded.height);
  const target =
    decoded.width * decoded.height > PRESHRINK_PIXELS && long > 2 * size
      ? fitSize(decoded.width, decoded.height, 2 * size)
      : { width: decoded.width, height: decoded.height };
  const canvas = new OffscreenCanvas(target.width, target.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx)
    throw new DemoError(
      'unsupported-file',
      'This browser gives no 2D canvas in workers, which the demo needs to read pixels',
    );
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(decoded.bitmap, 0, 0, target.width, target.height);
  const { data } = ctx.getImageData(0, 0, target.width, target.height);
  return { width: target.width, height: target.height, data };
}
