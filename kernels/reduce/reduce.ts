/**
 * Reductions over any set of axes: sum, mean, max, min, prod, variance, logsumexp,
 * and argmax/argmin over one axis. `sumTo` (reduce a broadcast gradient back to
 * an input's shape) is the helper every broadcasting vjp uses.
 */

import { isFloat } from '../../core/dtype.js';
import { defineOp, run1 } from '../../core/engine.js';
import { DTypeError } from '../../core/errors.js';
import { broadcastedAxes, normalizeAxes, normalizeAxis, type Shape, shapesEqual, sizeOf } from '../../core/shape.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import { cast, div, equal, exp, mul, sub } from '../elementwise/elementwise.js';
import { expand, reshape } from '../layout/layout.js';

export interface ReduceAttrs {
  /** Sorted, normalised axes to reduce. */
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

export interface VarianceAttrs extends ReduceAttrs {
  /** Bessel's correction: 0 for the population variance (default), 1 for the sample variance. */
  readonly correction: number;
}

export interface ArgAttrs {
  readonly axis: number;
  readonly keepDims: boolean;
}

export type ReduceName = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'logsumexp';

export function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Reshape a reduced gradient so it broadcasts against the input again. */
function keepDimsShape(g: Tensor, inputShape: Shape, axes: readonly number[]): Tensor {
  return reshape(g, reducedShape(inputShape, axes, true));
}

const FLOAT_ONLY = new Set(['mean', 'logsumexp', 'variance']);

function reduceDef(name: ReduceName) {
  return defineOp<ReduceAttrs>({
    name,
    infer([x], { axes, keepDims }) {
      if (FLOAT_ONLY.has(name) && !isFloat(x.dtype)) {
        throw new DTypeError(`${name}: needs a float tensor, got ${x.dtype} (cast it first)`);
      }
      if ((name === 'max' || name === 'min') && axes.some((a) => x.shape[a] === 0)) {
        throw new DTypeError(`${name}: cannot reduce an empty axis (shape [${x.shape.join(', ')}])`);
      }
      return [{ shape: reducedShape(x.shape, axes, keepDims), dtype: x.dtype }];
    },
    vjp([g], { inputs: [x], outputs: [y], attrs: { axes } }) {
      const gk = keepDimsShape(g, x.shape, axes);
      switch (name) {
        case 'sum':
          return [expand(gk, x.shape)];
        case 'mean': {
          const n = sizeOf(axes.map((a) => x.shape[a]));
          return [expand(div(gk, n), x.shape)];
        }
        case 'max':
        case 'min': {
          // Ties share the gradient equally, so the result is the same whichever index wins.
          const yk = keepDimsShape(y, x.shape, axes);
          const hit = cast(equal(x, yk), g.dtype);
          const count = sum(hit, axes, true);
          return [mul(div(hit, count), gk)];
        }
        case 'prod':
          return [mul(div(keepDimsShape(y, x.shape, axes), x), gk)];
        case 'logsumexp':
          return [mul(exp(sub(x, keepDimsShape(y, x.shape, axes))), gk)];
      }
    },
    saves: () => (name === 'sum' || name === 'mean' ? { inputs: [], outputs: [] } : { inputs: [0], outputs: [0] }),
  });
}

export const sumOp = reduceDef('sum');
export const meanOp = reduceDef('mean');
export const maxOp = reduceDef('max');
export const minOp = reduceDef('min');
export const prodOp = reduceDef('prod');
export const logsumexpOp = reduceDef('logsumexp');

export const varianceOp = defineOp<VarianceAttrs>({
  name: 'variance',
  infer([x], { axes, keepDims }) {
    if (!isFloat(x.dtype)) throw new DTypeError(`variance: needs a float tensor, got ${x.dtype}`);
    return [{ shape: reducedShape(x.shape, axes, keepDims), dtype: x.dtype }];
  },
  vjp([g], { inputs: [x], attrs: { axes, correction } }) {
    const n = sizeOf(axes.map((a) => x.shape[a]));
    const centered = sub(x, mean(x, axes, true));
    return [mul(mul(centered, 2 / Math.max(n - correction, 0)), keepDimsShape(g, x.shape, axes))];
  },
  saves: () => ({ inputs: [0], outputs: [] }),
});

function argDef(name: 'argmax' | 'argmin') {
  return defineOp<ArgAttrs>({
    name,
    infer([x], { axis, keepDims }) {
      if (x.shape[axis] === 0) throw new DTypeError(`${name}: axis ${axis} is empty`);
      return [{ shape: reducedShape(x.shape, [axis], keepDims), dtype: 'i32' }];
    },
  });
}

export const argmaxOp = argDef('argmax');
export const argminOp = argDef('argmin');

type Axes = number | readonly number[] | undefined;

function reducer(def: ReturnType<typeof reduceDef>) {
  return (x: Tensor, axes?: Axes, keepDims = false): Tensor =>
    run1(def, [x], { axes: normalizeAxes(def.name, axes, x.rank), keepDims });
}

export const sum = reducer(sumOp);
export const mean = reducer(meanOp);
export const max = reducer(maxOp);
export const min = reducer(minOp);
export const prod = reducer(prodOp);
export const logsumexp = reducer(logsumexpOp);

export function variance(x: Tensor, axes?: Axes, keepDims = false, correction = 0): Tensor {
  return run1(varianceOp, [x], { axes: normalizeAxes('variance', axes, x.rank), keepDims, correction });
}

/** Index of the largest value along an axis (the first one on ties), as i32. */
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  return run1(argmaxOp, [x], { axis: normalizeAxis('argmax', axis, x.rank), keepDims });
}

export function argmin(x: Tensor, axis = -1, keepDims = false): Tensor {
  return run1(argminOp, [x], { axis: normalizeAxis('argmin', axis, x.rank), keepDims });
}

/** Sum a broadcast result back to `shape`: the gradient of broadcasting. */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (shapesEqual(x.shape, shape)) return x;
  const axes = broadcastedAxes(shape, x.shape);
  return tidy(() => reshape(sum(x, axes, true), shape));
}
