/**
 * softmax and logSoftmax along one axis. Each is its own op (not exp/sum/div composed)
 * so a backend runs it as one numerically stable kernel (max, then sum of exp(x - max)).
 * Their vjps are short compositions of elementwise ops and one reduction.
 */
import { isFloat } from '../../core/dtype.js';
import { defineOp, run1 } from '../../core/engine.js';
import { DTypeError } from '../../core/errors.js';
import { normalizeAxis } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import { exp, mul, sub } from '../elementwise/elementwise.js';
import { sum } from '../reduce/reduce.js';

export interface SoftmaxAttrs {
  /** Normalised (non-negative) axis. */
  readonly axis: number;
}

function softmaxDef(name: 'softmax' | 'logSoftmax', vjp: (g: Tensor, y: Tensor, axis: number) => Tensor) {
  return defineOp<SoftmaxAttrs>({
    name,
    infer([x]) {
      if (!isFloat(x.dtype)) throw new DTypeError(`${name}: needs a float tensor, got ${x.dtype} (cast it first)`);
      return [{ shape: x.shape, dtype: x.dtype }];
    },
    vjp([g], { outputs: [y], attrs: { axis } }) {
      return [vjp(g, y, axis)];
    },
    saves: () => ({ inputs: [], outputs: [0] }),
  });
}

// dx = y ⊙ (g − Σ g⊙y)
export const softmaxOp = softmaxDef('softmax', (g, y, axis) => mul(y, sub(g, sum(mul(g, y), axis, true))));

// dx = g − exp(y) ⊙ Σ g
export const logSoftmaxOp = softmaxDef('logSoftmax', (g, y, axis) => sub(g, mul(exp(y), sum(g, axis, true))));

/** exp(x) / Σ exp(x) along `axis` (default the last), computed as exp(x − max) for stability. */
export function softmax(x: Tensor, axis = -1): Tensor {
  return run1(softmaxOp, [x], { axis: normalizeAxis('softmax', axis, x.rank) });
}

/** x − logsumexp(x) along `axis` (default the last): log-probabilities without overflow or log(0). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return run1(logSoftmaxOp, [x], { axis: normalizeAxis('logSoftmax', axis, x.rank) });
}
