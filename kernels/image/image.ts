/**
 * Image resampling over NCHW tensors: `resize` to an explicit [outH, outW] by nearest
 * neighbour or bilinear interpolation, and `resizeGrad`, its adjoint (the vjp).
 *
 * Every mode maps an output index d to a source coordinate with scale = in / out:
 *
 *   coordinate      nearest                              bilinear source
 *   'asymmetric'    floor(d · scale)                     d · scale
 *   'halfPixel'     floor((d + ½) · scale)               max((d + ½) · scale − ½, 0)
 *   'alignCorners'  round(d · (in−1)/(out−1)), ½ up      d · (in−1)/(out−1)       (0 when out = 1)
 *
 * nearest indices are clamped to in − 1; bilinear blends floor(src) and floor(src) + 1
 * (clamped to in − 1) with weights 1 − frac and frac. The reference evaluates the
 * nearest rules in exact integer arithmetic; PyTorch and TFLite use a float32 scale,
 * which agrees for the power-of-two ratios networks use.
 *
 * How the frameworks map onto it:
 * - PyTorch F.interpolate(size=…): mode 'nearest' → asymmetric; 'nearest-exact' → halfPixel;
 *   'bilinear' align_corners=False → halfPixel, align_corners=True → alignCorners.
 * - TFLite RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (and TF1 tf.image.resize_*):
 *   half_pixel_centers=True → halfPixel (bilinear identical to PyTorch's align_corners=False;
 *   nearest identical to 'nearest-exact'); align_corners=True → alignCorners; both false →
 *   asymmetric (TF1's legacy default).
 * - ONNX Resize: coordinate_transformation_mode 'asymmetric' / 'half_pixel' / 'align_corners'
 *   map to the three coordinates. For nearest, ONNX rounds the (continuous) source
 *   coordinate with nearest_mode: these rules are 'floor' for asymmetric and
 *   'round_prefer_ceil' for halfPixel and alignCorners (ONNX's default 'round_prefer_floor'
 *   differs on exact halves; an importer must check).
 */
import type { TensorInfo } from '../../core/backend.js';
import { isFloat } from '../../core/dtype.js';
import { defineOp, type OpDef, run1 } from '../../core/engine.js';
import { DTypeError, ShapeError, UsageError } from '../../core/errors.js';
import { formatShape, shapesEqual } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import { type Pair, requireRank4, toPair } from '../conv/window.js';

export type ResizeMode = 'nearest' | 'bilinear';
export type ResizeCoordinate = 'asymmetric' | 'halfPixel' | 'alignCorners';

export interface ResizeAttrs {
  /** Output [H, W]. */
  readonly size: Pair;
  readonly mode: ResizeMode;
  readonly coordinate: ResizeCoordinate;
}

export interface ResizeGradAttrs extends ResizeAttrs {
  /** [N, C, H, W] of the resized input. */
  readonly inputShape: readonly number[];
}

export interface ResizeOptions {
  /** Default 'nearest' (PyTorch's default). */
  readonly mode?: ResizeMode;
  /** Map the corner pixel centres onto each other (PyTorch/TF align_corners). Default false. */
  readonly alignCorners?: boolean;
  /**
   * Pixel centres at +½ (TF half_pixel_centers). Default: true for bilinear without
   * alignCorners (PyTorch's align_corners=False), false for nearest (PyTorch's 'nearest').
   */
  readonly halfPixelCenters?: boolean;
}

const MODES: readonly ResizeMode[] = ['nearest', 'bilinear'];
const COORDINATES: readonly ResizeCoordinate[] = ['asymmetric', 'halfPixel', 'alignCorners'];

function checkAttrs(op: string, x: TensorInfo, { size, mode, coordinate }: ResizeAttrs): void {
  requireRank4(op, 'input', x.shape, '[N, C, H, W]');
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: needs a float tensor, got ${x.dtype} (cast it first)`);
  toPair(op, 'size', size, 1);
  if (!MODES.includes(mode)) throw new UsageError(`${op}: mode must be ${MODES.join(' or ')}, got '${String(mode)}'`);
  if (!COORDINATES.includes(coordinate)) {
    throw new UsageError(`${op}: coordinate must be one of ${COORDINATES.join(', ')}, got '${String(coordinate)}'`);
  }
  if (x.shape[2] < 1 || x.shape[3] < 1)
    throw new ShapeError(`${op}: cannot resize an empty image ${formatShape(x.shape)}`);
}

export const resizeOp: OpDef<ResizeAttrs> = defineOp<ResizeAttrs>({
  name: 'resize',
  infer([x], attrs) {
    checkAttrs('resize', x, attrs);
    return [{ shape: [x.shape[0], x.shape[1], attrs.size[0], attrs.size[1]], dtype: x.dtype }];
  },
  vjp([g], { inputs: [x], attrs: { size, mode, coordinate } }) {
    return [run1(resizeGradOp, [g], { size, mode, coordinate, inputShape: x.shape })];
  },
});

/** Each output gradient added back onto the input pixels it was interpolated from, with the same weights. */
export const resizeGradOp: OpDef<ResizeGradAttrs> = defineOp<ResizeGradAttrs>({
  name: 'resizeGrad',
  infer([g], { inputShape, size, mode, coordinate }) {
    const x = { shape: inputShape, dtype: g.dtype };
    checkAttrs('resizeGrad', x, { size, mode, coordinate });
    const expected = [inputShape[0], inputShape[1], size[0], size[1]];
    if (!shapesEqual(g.shape, expected)) {
      throw new ShapeError(
        `resizeGrad: gradient ${formatShape(g.shape)} does not match the resized shape ${formatShape(expected)}`,
      );
    }
    return [x];
  },
  vjp([gg], { attrs: { size, mode, coordinate } }) {
    return [run1(resizeOp, [gg], { size, mode, coordinate })];
  },
});

/**
 * Resize x [N, C, H, W] to [N, C, outH, outW]. Nearest ×2 upsampling (Johnson's fast style
 * network) is resize(x, [2H, 2W]). alignCorners with nearest follows TFLite (PyTorch rejects it).
 */
export function resize(x: Tensor, size: readonly [number, number], opts: ResizeOptions = {}): Tensor {
  const mode = opts.mode ?? 'nearest';
  const alignCorners = opts.alignCorners ?? false;
  const halfPixel = opts.halfPixelCenters ?? (mode === 'bilinear' && !alignCorners);
  if (alignCorners && halfPixel) {
    throw new UsageError('resize: alignCorners and halfPixelCenters cannot both be true (as in TensorFlow); pick one');
  }
  const coordinate: ResizeCoordinate = alignCorners ? 'alignCorners' : halfPixel ? 'halfPixel' : 'asymmetric';
  return run1(resizeOp, [x], { size: toPair('resize', 'size', size, 1), mode, coordinate });
}
