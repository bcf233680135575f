/**
 * Rotary position embedding (RoPE) with MLX `fast.rope` semantics. Each pair of
 * features at sequence position t is rotated by the angle
 * (offset + t)·scale · base^(-2i/dims), i = 0 … dims/2 - 1. One op serves the
 * forward pass and its gradient: a rotation's transpose is the rotation by the
 * negated angle, so the vjp is the same op with `inverse` flipped.
 */
import { isFloat } from '../../core/dtype.js';
import { defineOp, type OpDef, run1 } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { formatShape } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';

export interface RopeAttrs {
  /** Position of the first row (tokens already in the KV cache). */
  readonly offset: number;
  /** Frequency base: theta_i = base^(-2i/dims). */
  readonly base: number;
  /** true: rotate adjacent pairs (x[2i], x[2i+1]) as llama2.c/Meta Llama; false: halves (x[i], x[i+dims/2]) as Hugging Face. */
  readonly traditional: boolean;
  /** Features rotated (the first `dims` of the last axis); the rest pass through. */
  readonly dims: number;
  /** Multiplies the positions (linear position interpolation). */
  readonly scale: number;
  /** Rotate by the negated angle: undoes the forward rotation; it is also its vjp. */
  readonly inverse: boolean;
}

export type RopeOptions = Partial<RopeAttrs>;

function checkAttrs(shape: readonly number[], { offset, base, dims, scale }: RopeAttrs): void {
  const d = shape[shape.length - 1];
  if (!Number.isInteger(dims) || dims < 2 || dims % 2 !== 0 || dims > d) {
    throw new ShapeError(
      `rope: dims ${dims} must be an even integer between 2 and the feature size ${d} of x ${formatShape(shape)} (pass dims: an even count of features to rotate)`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ShapeError(
      `rope: offset ${offset} must be a non-negative integer (the number of positions before x's first row)`,
    );
  }
  if (!(Number.isFinite(base) && base > 0))
    throw new ShapeError(`rope: base ${base} must be a positive finite number (Llama uses 10000)`);
  if (!Number.isFinite(scale))
    throw new ShapeError(`rope: scale ${scale} must be a finite number (1 leaves positions as they are)`);
}

export const ropeOp: OpDef<RopeAttrs> = defineOp<RopeAttrs>({
  name: 'rope',
  infer([x], attrs) {
    if (x.shape.length < 2) {
      throw new ShapeError(`rope: x must be [..., T, D] (positions on axis -2), got ${formatShape(x.shape)}`);
    }
    if (!isFloat(x.dtype))
      throw new DTypeError(`rope: needs a float tensor, got ${x.dtype} (cast it first: cast(x, 'f32'))`);
    checkAttrs(x.shape, attrs);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], { attrs }) {
    return [run1(ropeOp, [g], { ...attrs, inverse: !attrs.inverse })];
  },
  saves: () => ({ inputs: [], outputs: [] }),
});

/**
 * Rotary position embedding of x [..., T, D] (usually [B, H, T, D]): row t sits at
 * position offset + t. Defaults: offset 0, base 10000, traditional false (rotate halves),
 * dims D (all features), scale 1, inverse false.
 */
export function rope(x: Tensor, options: RopeOptions = {}): Tensor {
  const attrs: RopeAttrs = {
    offset: options.offset ?? 0,
    base: options.base ?? 10000,
    traditional: options.traditional ?? false,
    dims: options.dims ?? x.shape[x.shape.length - 1],
    scale: options.scale ?? 1,
    inverse: options.inverse ?? false,
  };
  return run1(ropeOp, [x], attrs);
}
