/**
 * 2-D pooling over NCHW tensors: average and max pooling with stride, padding and
 * (max) dilation, and global average pooling. Their backward passes are ops of
 * their own so GPUs can implement them:
 *
 *   avgPool2d        dx = avgPool2dGrad(g)         (linear; its vjp is avgPool2d)
 *   maxPool2d        dx = maxPool2dGrad(x, g)      (g routed to each window's argmax)
 *   maxPool2dGrad    dg = maxPool2dSelect(x, gg)   (read gg at each window's argmax)
 *   maxPool2dSelect  dv = maxPool2dGrad(x, g)
 *
 * The argmax of a window is its first maximum in row-major window order (kh, then kw),
 * padding never wins, and a NaN beats every number (so NaNs propagate). Every backend
 * must break ties the same way: the gradient lands on exactly one element per window.
 */
import type { TensorInfo } from '../../core/backend.js';
import { isFloat } from '../../core/dtype.js';
import { defineOp, type OpDef, run1 } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { formatShape, shapesEqual } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import {
  checkWindowAttrs,
  effectiveKernel,
  type PaddingSpec,
  type Pads4,
  type Pair,
  requireRank4,
  resolvePadding,
  toPair,
  windowOutput,
} from '../conv/window.js';
import { mean } from '../reduce/reduce.js';

export interface AvgPool2dAttrs {
  readonly kernel: Pair;
  readonly stride: Pair;
  /** [top, bottom, left, right], each at most half the kernel. */
  readonly padding: Pads4;
  /** Divide by kH·kW (true) or by the number of real input elements in the window (false). */
  readonly countIncludePad: boolean;
}

export interface MaxPool2dAttrs {
  readonly kernel: Pair;
  readonly stride: Pair;
  /** [top, bottom, left, right], each at most half the dilated kernel; padding never wins the max. */
  readonly padding: Pads4;
  readonly dilation: Pair;
}

export interface AvgPool2dOptions {
  /** Defaults to the kernel size (non-overlapping windows), as PyTorch. */
  readonly stride?: number | Pair;
  readonly padding?: PaddingSpec;
  /**
   * Default false: padded zeros do not dilute border averages (ONNX AveragePool's and
   * TensorFlow's default; PyTorch's F.avg_pool2d defaults to true — pass it explicitly).
   */
  readonly countIncludePad?: boolean;
}

export interface MaxPool2dOptions {
  readonly stride?: number | Pair;
  readonly padding?: PaddingSpec;
  readonly dilation?: number | Pair;
}

// ---------------------------------------------------------------- shape rules

function poolOutput(
  op: string,
  x: TensorInfo,
  attrs: { kernel: Pair; stride: Pair; padding: Pads4; dilation?: Pair },
): Pair {
  requireRank4(op, 'input', x.shape, '[N, C, H, W]');
  if (!isFloat(x.dtype))
    throw new DTypeError(`${op}: needs a float tensor, got ${x.dtype} (cast it first: cast(x, 'f32'))`);
  checkWindowAttrs(op, attrs);
  const kernel = toPair(op, 'kernel', attrs.kernel, 1);
  const dilation = attrs.dilation ?? [1, 1];
  const eff: Pair = [effectiveKernel(kernel[0], dilation[0]), effectiveKernel(kernel[1], dilation[1])];
  const [t, b, l, r] = attrs.padding;
  // Bounding the padding keeps every window overlapping the input (PyTorch's rule), so an
  // average never divides by zero real elements.
  if (Math.max(t, b) > Math.floor(eff[0] / 2) || Math.max(l, r) > Math.floor(eff[1] / 2)) {
    throw new ShapeError(
      `${op}: padding [${attrs.padding.join(', ')}] must be at most half the ${eff[0]}x${eff[1]} window on each side; ` +
        'use a larger kernel or less padding',
    );
  }
  return windowOutput(op, x.shape, eff, attrs.stride, attrs.padding);
}

function pooledShape(x: TensorInfo, [oh, ow]: Pair): number[] {
  return [x.shape[0], x.shape[1], oh, ow];
}

function checkGradShape(op: string, g: TensorInfo, expected: readonly number[]): void {
  if (!shapesEqual(g.shape, expected)) {
    throw new ShapeError(
      `${op}: gradient ${formatShape(g.shape)} does not match the pooled shape ${formatShape(expected)}`,
    );
  }
}

export const avgPool2dOp: OpDef<AvgPool2dAttrs> = defineOp<AvgPool2dAttrs>({
  name: 'avgPool2d',
  infer([x], attrs) {
    return [{ shape: pooledShape(x, poolOutput('avgPool2d', x, attrs)), dtype: x.dtype }];
  },
  vjp([g], { inputs: [x], attrs }) {
    return [run1(avgPool2dGradOp, [g], { ...attrs, inputShape: x.shape })];
  },
});

export interface AvgPool2dGradAttrs extends AvgPool2dAttrs {
  readonly inputShape: readonly number[];
}

/** Spread each pooled gradient evenly over its window's (counted) elements: avgPool2d's vjp. */
export const avgPool2dGradOp: OpDef<AvgPool2dGradAttrs> = defineOp<AvgPool2dGradAttrs>({
  name: 'avgPool2dGrad',
  infer([g], { inputShape, ...attrs }) {
    const x = { shape: inputShape, dtype: g.dtype };
    checkGradShape('avgPool2dGrad', g, pooledShape(x, poolOutput('avgPool2dGrad', x, attrs)));
    return [x];
  },
  vjp([gg], { attrs: { kernel, stride, padding, countIncludePad } }) {
    return [run1(avgPool2dOp, [gg], { kernel, stride, padding, countIncludePad })];
  },
});

export const maxPool2dOp: OpDef<MaxPool2dAttrs> = defineOp<MaxPool2dAttrs>({
  name: 'maxPool2d',
  infer([x], attrs) {
    return [{ shape: pooledShape(x, poolOutput('maxPool2d', x, attrs)), dtype: x.dtype }];
  },
  vjp([g], { inputs: [x], attrs }) {
    return [run1(maxPool2dGradOp, [x, g], attrs)];
  },
});

/** x [N, C, H, W] and a pooled gradient g: g added at each window's argmax in x, zeros elsewhere. */
export const maxPool2dGradOp: OpDef<MaxPool2dAttrs> = defineOp<MaxPool2dAttrs>({
  name: 'maxPool2dGrad',
  infer([x, g], attrs) {
    checkGradShape('maxPool2dGrad', g, pooledShape(x, poolOutput('maxPool2dGrad', x, attrs)));
    if (g.dtype !== x.dtype) throw new DTypeError(`maxPool2dGrad: gradient is ${g.dtype} but the input is ${x.dtype}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([gg], { inputs: [x], attrs }) {
    // The argmax positions are piecewise constant in x: no gradient flows to it.
    return [null, run1(maxPool2dSelectOp, [x, gg], attrs)];
  },
});

/** x and v [N, C, H, W]: v read at each window's argmax in x (maxPool2d(x) is select(x, x)). */
export const maxPool2dSelectOp: OpDef<MaxPool2dAttrs> = defineOp<MaxPool2dAttrs>({
  name: 'maxPool2dSelect',
  infer([x, v], attrs) {
    const out = pooledShape(x, poolOutput('maxPool2dSelect', x, attrs));
    if (!shapesEqual(x.shape, v.shape) || v.dtype !== x.dtype) {
      throw new ShapeError(
        `maxPool2dSelect: values ${formatShape(v.shape)} ${v.dtype} must match the keys ${formatShape(x.shape)} ${x.dtype}`,
      );
    }
    return [{ shape: out, dtype: x.dtype }];
  },
  vjp([g], { inputs: [x], attrs }) {
    return [null, run1(maxPool2dGradOp, [x, g], attrs)];
  },
});

// ---------------------------------------------------------------- public functions

function windowAttrs(
  op: string,
  x: Tensor,
  kernel: number | Pair,
  opts: { stride?: number | Pair; padding?: PaddingSpec; dilation?: number | Pair },
) {
  requireRank4(op, 'input', x.shape, '[N, C, H, W]');
  const k = toPair(op, 'kernel', kernel, 1);
  const stride = toPair(op, 'stride', opts.stride ?? k, 1);
  const dilation = toPair(op, 'dilation', opts.dilation ?? 1, 1);
  const eff: Pair = [effectiveKernel(k[0], dilation[0]), effectiveKernel(k[1], dilation[1])];
  const padding = resolvePadding(op, opts.padding ?? 0, [x.shape[2], x.shape[3]], eff, stride);
  return { kernel: k, stride, padding, dilation };
}

/** Mean over each kernel window: x [N, C, H, W] → [N, C, OH, OW] (floor output sizes). */
export function avgPool2d(x: Tensor, kernel: number | Pair, opts: AvgPool2dOptions = {}): Tensor {
  const { kernel: k, stride, padding } = windowAttrs('avgPool2d', x, kernel, opts);
  return run1(avgPool2dOp, [x], { kernel: k, stride, padding, countIncludePad: opts.countIncludePad ?? false });
}

/** Largest value in each (dilated) kernel window: x [N, C, H, W] → [N, C, OH, OW]. */
export function maxPool2d(x: Tensor, kernel: number | Pair, opts: MaxPool2dOptions = {}): Tensor {
  return run1(maxPool2dOp, [x], windowAttrs('maxPool2d', x, kernel, opts));
}

/** Mean over H and W, keeping them as 1s: [N, C, H, W] → [N, C, 1, 1] (MobileNet's head). */
export function globalAvgPool2d(x: Tensor): Tensor {
  requireRank4('globalAvgPool2d', 'input', x.shape, '[N, C, H, W]');
  return mean(x, [2, 3], true);
}
