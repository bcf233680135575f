/**
 * Tiled processing of large images, as diffusers' AutoencoderKL `tiled_encode` / `tiled_decode`: the input is
 * cut into tiles of `tile` pixels that overlap by a quarter, each tile goes through `fn` on its own, and
 * neighbouring outputs are cross-faded linearly over the overlap (`blend_v` / `blend_h`) before each tile is
 * cropped to its share. Memory is one tile's activations instead of the whole image's; the price is that
 * GroupNorm and attention see one tile at a time, so the result differs slightly from an untiled pass.
 * Outputs are assembled on the host (they are read back at the end anyway).
 * @module
 */
import * as T from '../../index.js';

export interface TileSpec {
  /** Input tile side. */
  readonly tile: number;
  /** Output pixels per input pixel (8 for a decoder, 1/8 for an encoder). */
  readonly scale: number;
  /** Fraction of a tile shared with its neighbour (diffusers: 0.25). */
  readonly overlap?: number;
}

/**
 * `fn` over overlapping tiles of x [1, C, H, W], blended into one [1, C', H·scale, W·scale] result.
 * `fn` must map a [1, C, h, w] tile to [1, C', h·scale, w·scale].
 */
export async function tiled(
  x: T.Tensor,
  spec: TileSpec,
  fn: (tile: T.Tensor) => T.Tensor,
  signal?: AbortSignal,
): Promise<T.Tensor> {
  const [, , H, W] = x.shape;
  const overlap = spec.overlap ?? 0.25;
  const stride = Math.floor(spec.tile * (1 - overlap));
  const outTile = Math.round(spec.tile * spec.scale);
  const blend = Math.floor(outTile * overlap);
  const limit = outTile - blend;
  const outH = Math.round(H * spec.scale);
  const outW = Math.round(W * spec.scale);
  // rows[i][j]: the decoded tile at (i, j), as host planes.
  const rows: { data: Float32Array; c: number; h: number; w: number }[][] = [];
  for (let i = 0; i < H; i += stride) {
    const row: { data: Float32Array; c: number; h: number; w: number }[] = [];
    for (let j = 0; j < W; j += stride) {
      signal?.throwIfAborted();
      const y = T.tidy(() =>
        fn(
          T.slice(x, [
            null,
            null,
            { start: i, end: Math.min(H, i + spec.tile) },
            { start: j, end: Math.min(W, j + spec.tile) },
          ]),
        ),
      );
      const data = Float32Array.from(await y.data());
      row.push({ data, c: y.shape[1], h: y.shape[2], w: y.shape[3] });
      y.dispose();
    }
    rows.push(row);
  }
  const C = rows[0][0].c;
  const out = new Float32Array(C * outH * outW);
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < rows[i].length; j++) {
      const t = rows[i][j];
      // Cross-fade in place with the tile above and the tile to the left, which were themselves blended
      // already (diffusers' blend_v / blend_h write into the tile they return).
      const above = i > 0 ? rows[i - 1][j] : undefined;
      const left = j > 0 ? rows[i][j - 1] : undefined;
      const d = t.data;
      if (above) {
        const n = Math.min(above.h, t.h, blend);
        for (let c = 0; c < C; c++)
          for (let y = 0; y < n; y++)
            for (let x = 0; x < t.w; x++) {
              const a = above.data[(c * above.h + above.h - n + y) * above.w + x];
              const k = (c * t.h + y) * t.w + x;
              d[k] = a * (1 - y / n) + d[k] * (y / n);
            }
      }
      if (left) {
        const n = Math.min(left.w, t.w, blend);
        for (let c = 0; c < C; c++)
          for (let y = 0; y < t.h; y++)
            for (let x = 0; x < n; x++) {
              const a = left.data[(c * left.h + y) * left.w + left.w - n + x];
              const k = (c * t.h + y) * t.w + x;
              d[k] = a * (1 - x / n) + d[k] * (x / n);
            }
      }
      // Keep the first `limit` rows/columns of each tile (the last tiles up to the image's edge).
      const y0 = i * Math.round(stride * spec.scale);
      const x0 = j * Math.round(stride * spec.scale);
      for (let c = 0; c < C; c++)
        for (let y = 0; y < Math.min(limit, t.h) && y0 + y < outH; y++)
          for (let x = 0; x < Math.min(limit, t.w) && x0 + x < outW; x++) {
            out[(c * outH + y0 + y) * outW + x0 + x] = d[(c * t.h + y) * t.w + x];
          }
    }
  }
  return T.tensor(out, [1, C, outH, outW]);
}
