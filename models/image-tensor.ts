/**
 * Between RGBA pixels (what decoders give and encoders take, in Node and browsers)
 * and the [1,3,H,W] RGB 0..255 tensors the style networks use. Browser-safe.
 */
import type { RgbaImage } from '../core/image.js';
import * as T from '../index.js';

export type { RgbaImage };

/** RGB channels as [1,3,H,W] f32 on the 0..255 scale; alpha is dropped. */
export function imageToTensor(img: RgbaImage): T.Tensor {
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 4) {
    throw new T.UsageError(`image: ${data.length} bytes do not match ${w}×${h} RGBA (${w * h * 4} bytes)`);
  }
  const plane = w * h;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = data[4 * i];
    out[plane + i] = data[4 * i + 1];
    out[2 * plane + i] = data[4 * i + 2];
  }
  return T.tensor(out, [1, 3, h, w]);
}

/** A [1,3,H,W] 0..255 tensor (any range: it is clamped and rounded) as opaque RGBA pixels. */
export async function tensorToImage(t: T.Tensor): Promise<RgbaImage> {
  if (t.rank !== 4 || t.shape[0] !== 1 || t.shape[1] !== 3) {
    throw new T.ShapeError(`tensorToImage: expected [1, 3, H, W], got [${t.shape.join(', ')}]`);
  }
  return planesToImage(await t.data(), t.shape[2], t.shape[3]);
}

/** RGB planes (3·H·W values, 0..255, any range) as opaque RGBA pixels. */
export function planesToImage(values: ArrayLike<number>, h: number, w: number, alpha?: Uint8Array | null): RgbaImage {
  const plane = w * h;
  const data = new Uint8Array(4 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = values[c * plane + i];
      // NaN becomes 0 rather than poisoning the image.
      data[4 * i + c] = v > 0 ? Math.min(255, Math.round(v)) : 0;
    }
    data[4 * i + 3] = alpha ? alpha[i] : 255;
  }
  return { width: w, height: h, data };
}

/**
 * The image's alpha channel scaled to height×width the way resizeImage scales its colours, or null when
 * the image is opaque: a stylised image keeps the content's transparency.
 */
export async function resizedAlpha(img: RgbaImage, height: number, width: number): Promise<Uint8Array | null> {
  const { width: w, height: h, data } = img;
  const plane = w * h;
  let opaque = true;
  for (let i = 0; i < plane && opaque; i++) opaque = data[4 * i + 3] === 255;
  if (opaque) return null;
  const alpha = new Float32Array(plane);
  for (let i = 0; i < plane; i++) alpha[i] = data[4 * i + 3];
  const scaled = T.tidy(() => resizeImage(T.tensor(alpha, [1, 1, h, w]), height, width));
  try {
    const values = await scaled.data();
    const out = new Uint8Array(height * width);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(values[i])));
    return out;
  } finally {
    scaled.dispose();
  }
}

/** The size that fits the long side to `longSide`, keeping the aspect ratio (never below 1 pixel). */
export function fitSize(width: number, height: number, longSide: number): { width: number; height: number } {
  const scale = longSide / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Resize a [1,3,H,W] image tensor. Shrinking by 2× or more first averages whole
 * blocks (area filter) so fine detail does not alias, then bilinear does the rest.
 */
export function resizeImage(x: T.Tensor, height: number, width: number): T.Tensor {
  const [, , h, w] = x.shape;
  if (h === height && w === width) return T.contiguous(x);
  return T.tidy(() => {
    let y = x;
    const factor = Math.floor(Math.min(h / height, w / width));
    if (factor >= 2) y = T.avgPool2d(y, factor);
    return T.resize(y, [height, width], { mode: 'bilinear' });
  });
}

/**
 * The central square of a [1,3,H,W] image, scaled to side × side: how Magenta's TF Lite example prepares
 * style images (`preprocess_image`: the short side scaled to 256, then a central crop). Cropping first and
 * scaling once gives the same picture without resampling the parts that are cut away.
 */
export function centerSquare(x: T.Tensor, side: number): T.Tensor {
  const [, , h, w] = x.shape;
  const s = Math.min(h, w);
  const top = Math.floor((h - s) / 2);
  const left = Math.floor((w - s) / 2);
  return T.tidy(() =>
    resizeImage(T.slice(x, [null, null, { start: top, end: top + s }, { start: left, end: left + s }]), side, side),
  );
}
