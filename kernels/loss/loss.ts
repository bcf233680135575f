/**
 * Losses. crossEntropy is its own op (per-row loss straight from the logits) with a
 * dedicated backward op: composed from logSoftmax + gather, the backward of a language
 * model's [tokens, vocab] logits would materialise several [tokens, vocab] temporaries
 * (scatter, exp, product); crossEntropyGrad writes softmax − target distribution in one
 * pass. Its own vjp (for second derivatives) is composed from public ops.
 */

import type { TensorInfo } from '../../core/backend.js';
import { ones } from '../../core/creation.js';
import { type DType, isFloat } from '../../core/dtype.js';
import { defineOp, run1 } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { formatShape, shapesEqual } from '../../core/shape.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import { cast, div, mul, notEqual, sub } from '../elementwise/elementwise.js';
import { unsqueeze } from '../layout/layout.js';
import { mean, sum } from '../reduce/reduce.js';
import { softmax } from '../softmax/softmax.js';

export interface CrossEntropyAttrs {
  /** Targets equal to this contribute no loss and no gradient; null: every target must be a class. */
  readonly ignoreIndex: number | null;
  /** ε in [0, 1]: the target distribution is (1 − ε)·one-hot + ε/C. */
  readonly labelSmoothing: number;
}

export type CrossEntropyReduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** 'mean' (default) averages over the targets that are not ignored; 'none' returns the per-target losses. */
  readonly reduction?: CrossEntropyReduction;
  readonly ignoreIndex?: number;
  readonly labelSmoothing?: number;
}

/** Shared shape/dtype/attr rules of crossEntropy and its gradient. */
function checkLogitsTargets(op: string, logits: TensorInfo, targets: TensorInfo, attrs: CrossEntropyAttrs): void {
  if (!isFloat(logits.dtype))
    throw new DTypeError(`${op}: logits must be float, got ${logits.dtype} (cast them first)`);
  if (targets.dtype !== 'i32') {
    throw new DTypeError(
      `${op}: targets must be i32 class indices, got ${targets.dtype} (cast them: cast(targets, 'i32'))`,
    );
  }
  if (logits.shape.length === 0 || !shapesEqual(logits.shape.slice(0, -1), targets.shape)) {
    throw new ShapeError(
      `${op}: logits ${formatShape(logits.shape)} must be [..., C] with targets ${formatShape(targets.shape)} as the leading dims`,
    );
  }
  const { ignoreIndex, labelSmoothing } = attrs;
  if (ignoreIndex !== null && !Number.isInteger(ignoreIndex)) {
    throw new ShapeError(`${op}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  }
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new ShapeError(`${op}: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  }
}

/** 1 where a target counts, 0 where it equals ignoreIndex, in `dtype`. */
function validMask(targets: Tensor, ignoreIndex: number | null, dtype: DType): Tensor {
  return ignoreIndex === null ? ones(targets.shape, dtype) : cast(notEqual(targets, ignoreIndex), dtype);
}

/** logits [..., C], targets [...] i32 → per-target loss [...]: Σ_c q_c·(logsumexp(x) − x_c). */
export const crossEntropyOp = defineOp<CrossEntropyAttrs>({
  name: 'crossEntropy',
  infer([logits, targets], attrs) {
    checkLogitsTargets('crossEntropy', logits, targets, attrs);
    return [{ shape: targets.shape, dtype: logits.dtype }];
  },
  vjp([g], { inputs: [logits, targets], attrs }) {
    return [run1(crossEntropyGradOp, [logits, targets, g], attrs), null];
  },
  saves: () => ({ inputs: [0, 1], outputs: [] }),
});

/** logits, targets, g [...] → g·(softmax(x) − q) per row, zero on ignored rows: crossEntropy's vjp. */
export const crossEntropyGradOp = defineOp<CrossEntropyAttrs>({
  name: 'crossEntropyGrad',
  infer([logits, targets, g], attrs) {
    checkLogitsTargets('crossEntropyGrad', logits, targets, attrs);
    if (g.dtype !== logits.dtype || !shapesEqual(g.shape, targets.shape)) {
      throw new ShapeError(
        `crossEntropyGrad: upstream gradient ${formatShape(g.shape)} ${g.dtype} must be ${formatShape(targets.shape)} ${logits.dtype}`,
      );
    }
    return [{ shape: logits.shape, dtype: logits.dtype }];
  },
  vjp([gg], { inputs: [logits, targets, g], attrs }) {
    return tidy(() => {
      // The output is linear in g: d/dg is the gradient at g = 1 dotted with gg, row by row.
      const unit = run1(crossEntropyGradOp, [logits, targets, ones(g.shape, g.dtype)], attrs);
      const dg = sum(mul(gg, unit), -1);
      // In the logits it is g·valid times softmax(x) minus a constant: softmax's vjp, scaled per row.
      const rowScale = unsqueeze(mul(g, validMask(targets, attrs.ignoreIndex, g.dtype)), -1);
      const h = mul(gg, rowScale);
      const p = softmax(logits, -1);
      const dx = mul(p, sub(h, sum(mul(h, p), -1, true)));
      return [dx, null, dg];
    });
  },
});

/**
 * Cross-entropy of logits [..., C] against integer class targets [...] (i32), as PyTorch's
 * cross_entropy: per target −log softmax(x)[t] (with label smoothing ε: (1 − ε)·that +
 * ε·mean over classes of −log softmax(x)). Targets equal to `ignoreIndex` count for nothing,
 * and 'mean' divides by the number of targets that are not ignored (NaN when every target is
 * ignored, as PyTorch). A target outside [0, C) that is not ignoreIndex throws, naming it.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new ShapeError(`crossEntropy: reduction '${String(reduction)}' is not one of 'mean', 'sum', 'none'`);
  }
  const ignoreIndex = options.ignoreIndex ?? null;
  const attrs: CrossEntropyAttrs = { ignoreIndex, labelSmoothing: options.labelSmoothing ?? 0 };
  if (reduction === 'none') return run1(crossEntropyOp, [logits, targets], attrs);
  return tidy(() => {
    const losses = run1(crossEntropyOp, [logits, targets], attrs);
    if (reduction === 'sum') return sum(losses);
    if (ignoreIndex === null) return mean(losses);
    return div(sum(losses), sum(validMask(targets, ignoreIndex, logits.dtype)));
  });
}
