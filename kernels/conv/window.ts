/**
 * Sliding-window geometry shared by convolution and pooling: turning the public
 * option forms (a number, a pair, four sides, 'same', 'valid') into the plain
 * attrs every backend receives, and the output-size rules those attrs imply.
 * Nothing here is a public op, so it stays out of core/ops.ts.
 */
import { ShapeError } from '../../core/errors.js';
import { formatShape } from '../../core/shape.js';

/** [height, width] */
export type Pair = readonly [number, number];
/** [top, bottom, left, right] */
export type Pads4 = readonly [number, number, number, number];

/**
 * A number pads all four sides, a pair [ph, pw] pads top/bottom by ph and left/right by pw,
 * four numbers are [top, bottom, left, right]. 'valid' is no padding; 'same' keeps
 * ceil(size / stride) outputs, splitting the padding with the odd pixel at the bottom/right
 * (TensorFlow's SAME, which for stride 1 is exactly PyTorch's padding='same').
 */
export type PaddingSpec = number | readonly [number, number] | Pads4 | 'same' | 'valid';

function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** A number or an [h, w] pair as a pair of integers ≥ min. */
export function toPair(op: string, what: string, value: number | readonly number[], min: number): [number, number] {
  const pair = typeof value === 'number' ? [value, value] : [...value];
  if (pair.length !== 2 || !pair.every((v) => isCount(v, min))) {
    throw new ShapeError(
      `${op}: ${what} must be an integer ≥ ${min} or a pair [h, w] of them, got ${JSON.stringify(value)}`,
    );
  }
  return [pair[0], pair[1]];
}

/** Dilated kernel extent: the span of input one output position reads. */
export function effectiveKernel(kernel: number, dilation: number): number {
  return dilation * (kernel - 1) + 1;
}

/** Explicit [top, bottom, left, right] padding for an input of spatial size [h, w]. */
export function resolvePadding(
  op: string,
  padding: PaddingSpec,
  input: Pair,
  effKernel: Pair,
  stride: Pair,
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const side = (axis: 0 | 1): [number, number] => {
      const out = Math.ceil(input[axis] / stride[axis]);
      const total = Math.max((out - 1) * stride[axis] + effKernel[axis] - input[axis], 0);
      const before = Math.floor(total / 2);
      return [before, total - before];
    };
    return [...side(0), ...side(1)];
  }
  const list = typeof padding === 'number' ? [padding] : [...padding];
  if (!list.every((v) => isCount(v, 0)) || ![1, 2, 4].includes(list.length)) {
    throw new ShapeError(
      `${op}: padding must be a non-negative integer, [ph, pw], [top, bottom, left, right], 'same' or 'valid'; got ${JSON.stringify(padding)}`,
    );
  }
  if (list.length === 1) return [list[0], list[0], list[0], list[0]];
  if (list.length === 2) return [list[0], list[0], list[1], list[1]];
  return [list[0], list[1], list[2], list[3]];
}

/** Checks op-level window attrs (which callers of run1 may build by hand). */
export function checkWindowAttrs(op: string, attrs: { stride: Pair; padding: Pads4; dilation?: Pair }): void {
  const { stride, padding, dilation } = attrs;
  if (stride.length !== 2 || !stride.every((v) => isCount(v, 1))) {
    throw new ShapeError(`${op}: stride must be two positive integers, got ${JSON.stringify(stride)}`);
  }
  if (dilation && (dilation.length !== 2 || !dilation.every((v) => isCount(v, 1)))) {
    throw new ShapeError(`${op}: dilation must be two positive integers, got ${JSON.stringify(dilation)}`);
  }
  if (padding.length !== 4 || !padding.every((v) => isCount(v, 0))) {
    throw new ShapeError(
      `${op}: padding must be four non-negative integers [top, bottom, left, right], got ${JSON.stringify(padding)}`,
    );
  }
}

/**
 * Output [h, w] of a window of extent effKernel sliding with `stride` over the padded input
 * (floor rounding, as PyTorch and ONNX without ceil_mode). Throws when the window does not
 * fit even once.
 */
export function windowOutput(
  op: string,
  input: readonly number[],
  effKernel: Pair,
  stride: Pair,
  padding: Pads4,
): Pair {
  const padded: Pair = [input[2] + padding[0] + padding[1], input[3] + padding[2] + padding[3]];
  if (effKernel[0] > padded[0] || effKernel[1] > padded[1]) {
    throw new ShapeError(
      `${op}: the ${effKernel[0]}x${effKernel[1]} window (kernel with dilation) is larger than the padded input ` +
        `${padded[0]}x${padded[1]} (input ${formatShape(input)}, padding [${padding.join(', ')}]); ` +
        'use a smaller kernel or more padding',
    );
  }
  return [
    Math.floor((padded[0] - effKernel[0]) / stride[0]) + 1,
    Math.floor((padded[1] - effKernel[1]) / stride[1]) + 1,
  ];
}

export function requireRank4(op: string, what: string, shape: readonly number[], layout: string): void {
  if (shape.length !== 4) {
    throw new ShapeError(`${op}: ${what} must be 4-D ${layout}, got ${formatShape(shape)}`);
  }
}
