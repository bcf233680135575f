/**
 * 2-D convolution over NCHW tensors, PyTorch semantics: `conv2d` (grouped and
 * depthwise included), `convTranspose2d`, and `conv2dWeightGrad`, the op both of
 * their weight gradients reduce to. The three are closed under differentiation:
 *
 *   conv2d           dx = convTranspose2d(g, w)      dw = conv2dWeightGrad(x, g)
 *   convTranspose2d  dx = conv2d(g, w)               dw = conv2dWeightGrad(g, x)
 *   conv2dWeightGrad dx = convTranspose2d(g, gw)     dg = conv2d(x, gw)
 *
 * so a backend that implements these three kernels trains any conv network.
 * conv2d alone takes an optional `padMode` attr ('reflect' or 'replicate'; absent means
 * zeros), so a backend can read the mirrored border inside its packing instead of
 * materialising a padded copy of the input first. Its gradient pads x with layout's `pad`
 * and differentiates the zero-padded convolution of that, so the other two ops never
 * see the attr.
 */
import type { TensorInfo } from '../../core/backend.js';
import { isFloat } from '../../core/dtype.js';
import { defineOp, type OpDef, run1 } from '../../core/engine.js';
import { DTypeError, ShapeError, UsageError } from '../../core/errors.js';
import { formatShape } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import { pad, padGradOp, slice } from '../layout/layout.js';
import { sum } from '../reduce/reduce.js';
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
} from './window.js';

export interface Conv2dAttrs {
  readonly stride: Pair;
  /** Zero padding [top, bottom, left, right]. */
  readonly padding: Pads4;
  readonly dilation: Pair;
  readonly groups: number;
}

/** Border modes conv2d's kernels read the padding with; zeros is the attr left out. */
export type ConvKernelPadMode = 'reflect' | 'replicate';

export interface Conv2dOpAttrs extends Conv2dAttrs {
  /**
   * How positions in `padding` read the input: mirrored without repeating the edge
   * ('reflect', each side smaller than that axis) or repeating the edge ('replicate').
   * Absent: zeros. Backends must handle both or reject the attr by name.
   */
  readonly padMode?: ConvKernelPadMode;
}

export interface ConvTranspose2dAttrs extends Conv2dAttrs {
  /** Extra rows/columns at the bottom/right of the output (any ≥ 0 at op level; the public function applies PyTorch's rule). */
  readonly outputPadding: Pair;
}

export interface Conv2dWeightGradAttrs extends Conv2dAttrs {
  /** [kH, kW] of the weight being differentiated. */
  readonly kernel: Pair;
}

/** Border handling: zeros, mirror without repeating the edge (PyTorch 'reflect'), or repeat the edge. */
export type ConvPadMode = 'zeros' | 'reflect' | 'replicate';

export interface Conv2dOptions {
  readonly stride?: number | Pair;
  readonly padding?: PaddingSpec;
  readonly padMode?: ConvPadMode;
  readonly dilation?: number | Pair;
  readonly groups?: number;
}

export interface ConvTranspose2dOptions {
  readonly stride?: number | Pair;
  /** Rows/columns cropped from the full output: a number, [ph, pw] or [top, bottom, left, right]. */
  readonly padding?: number | Pair | Pads4;
  readonly outputPadding?: number | Pair;
  readonly dilation?: number | Pair;
  readonly groups?: number;
}

// ---------------------------------------------------------------- shape rules

function checkFloat(op: string, infos: readonly TensorInfo[]): void {
  const d = infos[0].dtype;
  if (!isFloat(d)) throw new DTypeError(`${op}: needs float tensors, got ${d} (cast it first: cast(x, 'f32'))`);
  for (const t of infos) {
    if (t.dtype !== d) {
      throw new DTypeError(`${op}: operands have dtypes ${infos.map((i) => i.dtype).join(', ')}; cast them to one`);
    }
  }
}

function checkGroups(op: string, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1) {
    throw new ShapeError(`${op}: groups must be a positive integer, got ${groups}`);
  }
}

function divisible(op: string, what: string, count: number, groups: number, shape: readonly number[]): void {
  if (count % groups !== 0) {
    throw new ShapeError(
      `${op}: ${what} ${count} (of ${formatShape(shape)}) is not divisible by groups ${groups}; use a group count that divides it`,
    );
  }
}

function checkBias(op: string, bias: TensorInfo | undefined, channels: number): void {
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== channels)) {
    throw new ShapeError(`${op}: bias must be [${channels}] (one per output channel), got ${formatShape(bias.shape)}`);
  }
}

function effective(op: string, kernel: readonly number[], dilation: Pair): Pair {
  if (!(kernel[0] >= 1 && kernel[1] >= 1)) {
    throw new ShapeError(`${op}: the kernel must be at least 1x1, got ${kernel[0]}x${kernel[1]}`);
  }
  return [effectiveKernel(kernel[0], dilation[0]), effectiveKernel(kernel[1], dilation[1])];
}

/** Output [h, w] of conv2d: x [N, C, H, W] with a [kH, kW] kernel. */
function convOutput(op: string, x: readonly number[], kernel: readonly number[], attrs: Conv2dAttrs): Pair {
  return windowOutput(op, x, effective(op, kernel, attrs.dilation), attrs.stride, attrs.padding);
}

/** Output [h, w] of convTranspose2d before outputPadding: the input size conv2d maps back from x's size. */
function transposedOutput(x: readonly number[], kernel: readonly number[], attrs: Conv2dAttrs): Pair {
  const [kh, kw] = effective('convTranspose2d', kernel, attrs.dilation);
  const { stride: s, padding: p } = attrs;
  return [(x[2] - 1) * s[0] - p[0] - p[1] + kh, (x[3] - 1) * s[1] - p[2] - p[3] + kw];
}

export const conv2dOp: OpDef<Conv2dOpAttrs> = defineOp<Conv2dOpAttrs>({
  name: 'conv2d',
  infer(inputs, attrs) {
    const [x, w, bias] = inputs;
    const op = 'conv2d';
    requireRank4(op, 'input', x.shape, '[N, C, H, W]');
    requireRank4(op, 'weight', w.shape, '[O, C/groups, kH, kW]');
    checkFloat(op, inputs);
    checkWindowAttrs(op, attrs);
    checkGroups(op, attrs.groups);
    const [, c] = x.shape;
    const [o, cg] = w.shape;
    divisible(op, 'input channels', c, attrs.groups, x.shape);
    divisible(op, 'output channels', o, attrs.groups, w.shape);
    if (cg * attrs.groups !== c) {
      throw new ShapeError(
        `conv2d: weight ${formatShape(w.shape)} with groups ${attrs.groups} expects ${cg * attrs.groups} input channels, ` +
          `but the input ${formatShape(x.shape)} has ${c} (weight must be [O, C/groups, kH, kW])`,
      );
    }
    checkBias(op, bias, o);
    checkPadMode(x.shape, attrs);
    const [oh, ow] = convOutput(op, x.shape, w.shape.slice(2), attrs);
    return [{ shape: [x.shape[0], o, oh, ow], dtype: x.dtype }];
  },
  vjp([g], { inputs: [x, w, bias], attrs }) {
    if (attrs.padMode !== undefined) return paddedConvVjp(g, x, w, bias, attrs, attrs.padMode);
    const [nh, nw] = transposedOutput(g.shape, w.shape.slice(2), attrs);
    // Strided windows that skip the last rows make conv2d many-to-one in size; the
    // transposed conv gets those rows back (as zeros) through outputPadding.
    const outputPadding: Pair = [x.shape[2] - nh, x.shape[3] - nw];
    const gx = run1(convTranspose2dOp, [g, w], { ...convAttrs(attrs), outputPadding });
    const gw = run1(conv2dWeightGradOp, [x, g], { ...convAttrs(attrs), kernel: [w.shape[2], w.shape[3]] });
    return bias ? [gx, gw, sum(g, [0, 2, 3])] : [gx, gw];
  },
});

export const convTranspose2dOp: OpDef<ConvTranspose2dAttrs> = defineOp<ConvTranspose2dAttrs>({
  name: 'convTranspose2d',
  infer(inputs, attrs) {
    const [x, w, bias] = inputs;
    const op = 'convTranspose2d';
    requireRank4(op, 'input', x.shape, '[N, C, H, W]');
    requireRank4(op, 'weight', w.shape, '[C, O/groups, kH, kW]');
    checkFloat(op, inputs);
    checkWindowAttrs(op, attrs);
    checkGroups(op, attrs.groups);
    const { outputPadding } = attrs;
    if (outputPadding.length !== 2 || !outputPadding.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new ShapeError(
        `${op}: outputPadding must be two non-negative integers, got ${JSON.stringify(outputPadding)}`,
      );
    }
    const [, c] = x.shape;
    if (w.shape[0] !== c) {
      throw new ShapeError(
        `convTranspose2d: weight ${formatShape(w.shape)} has ${w.shape[0]} input channels but the input ${formatShape(x.shape)} has ${c} ` +
          '(weight must be [C, O/groups, kH, kW])',
      );
    }
    divisible(op, 'input channels', c, attrs.groups, x.shape);
    const o = w.shape[1] * attrs.groups;
    checkBias(op, bias, o);
    const [nh, nw] = transposedOutput(x.shape, w.shape.slice(2), attrs);
    const oh = nh + outputPadding[0];
    const ow = nw + outputPadding[1];
    if (oh < 1 || ow < 1) {
      throw new ShapeError(
        `convTranspose2d: padding [${attrs.padding.join(', ')}] crops the ${nh + attrs.padding[0] + attrs.padding[1]}x` +
          `${nw + attrs.padding[2] + attrs.padding[3]} full output of input ${formatShape(x.shape)} to nothing; use less padding`,
      );
    }
    return [{ shape: [x.shape[0], o, oh, ow], dtype: x.dtype }];
  },
  vjp([g], { inputs: [x, w, bias], attrs }) {
    // Rows added by outputPadding ≥ stride have no input row behind them: crop them off.
    const full = run1(conv2dOp, [g, w], convAttrs(attrs));
    const gx = cropTo(full, x.shape);
    const gw = run1(conv2dWeightGradOp, [g, x], { ...convAttrs(attrs), kernel: [w.shape[2], w.shape[3]] });
    return bias ? [gx, gw, sum(g, [0, 2, 3])] : [gx, gw];
  },
});

/**
 * The weight gradient of conv2d: dw[o, c, kh, kw] = Σ g[n, o, oh, ow] · x[n, c', oh·s − p + kh·d, …]
 * for x [N, C, H, W] and g [N, O, OH, OW], output [O, C/groups, kH, kW]. g may have fewer rows
 * than conv2d would produce (convTranspose2d's weight gradient uses that).
 */
export const conv2dWeightGradOp: OpDef<Conv2dWeightGradAttrs> = defineOp<Conv2dWeightGradAttrs>({
  name: 'conv2dWeightGrad',
  infer(inputs, attrs) {
    const [x, g] = inputs;
    const op = 'conv2dWeightGrad';
    requireRank4(op, 'input', x.shape, '[N, C, H, W]');
    requireRank4(op, 'output gradient', g.shape, '[N, O, OH, OW]');
    checkFloat(op, inputs);
    checkWindowAttrs(op, attrs);
    checkGroups(op, attrs.groups);
    const kernel = toPair(op, 'kernel', attrs.kernel, 1);
    divisible(op, 'input channels', x.shape[1], attrs.groups, x.shape);
    divisible(op, 'gradient channels', g.shape[1], attrs.groups, g.shape);
    const [oh, ow] = convOutput(op, x.shape, kernel, attrs);
    if (g.shape[0] !== x.shape[0] || g.shape[2] > oh || g.shape[3] > ow) {
      throw new ShapeError(
        `conv2dWeightGrad: gradient ${formatShape(g.shape)} does not fit the convolution of ${formatShape(x.shape)} ` +
          `(at most [${x.shape[0]}, O, ${oh}, ${ow}])`,
      );
    }
    return [{ shape: [g.shape[1], x.shape[1] / attrs.groups, kernel[0], kernel[1]], dtype: x.dtype }];
  },
  vjp([gw], { inputs: [x, g], attrs }) {
    // Bilinear in (x, g): each gradient is the other operand convolved with gw.
    const [nh, nw] = transposedOutput(g.shape, attrs.kernel, attrs);
    const outputPadding: Pair = [x.shape[2] - nh, x.shape[3] - nw];
    const gx = run1(convTranspose2dOp, [g, gw], { ...convAttrs(attrs), outputPadding });
    const gg = cropTo(run1(conv2dOp, [x, gw], convAttrs(attrs)), g.shape);
    return [gx, gg];
  },
});

function checkPadMode(x: readonly number[], { padMode, padding }: Conv2dOpAttrs): void {
  if (padMode === undefined) return;
  if (padMode !== 'reflect' && padMode !== 'replicate') {
    throw new UsageError(
      `conv2d: attr padMode must be 'reflect' or 'replicate' (leave it out for zeros), got '${String(padMode)}'`,
    );
  }
  if (padMode === 'reflect' && (Math.max(padding[0], padding[1]) >= x[2] || Math.max(padding[2], padding[3]) >= x[3])) {
    throw new ShapeError(
      `conv2d: reflect padding [${padding.join(', ')}] must be smaller than the input's height and width ` +
        `(input ${formatShape(x)}); use padMode 'replicate' or a smaller padding`,
    );
  }
}

/**
 * Gradients of a reflect/replicate-padded conv2d: the zero-padding-free convolution of the
 * padded input, whose input gradient padGrad folds back onto the border it was copied from.
 */
function paddedConvVjp(
  g: Tensor,
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  attrs: Conv2dOpAttrs,
  mode: ConvKernelPadMode,
): (Tensor | null)[] {
  const { stride, padding, dilation, groups } = attrs;
  const pads: [number, number][] = [
    [0, 0],
    [0, 0],
    [padding[0], padding[1]],
    [padding[2], padding[3]],
  ];
  const layoutMode = PAD_MODES[mode];
  const xp = pad(x, pads, layoutMode);
  const inner: Conv2dAttrs = { stride, padding: [0, 0, 0, 0], dilation, groups };
  const [nh, nw] = transposedOutput(g.shape, w.shape.slice(2), inner);
  const outputPadding: Pair = [xp.shape[2] - nh, xp.shape[3] - nw];
  const gxp = run1(convTranspose2dOp, [g, w], { ...inner, outputPadding });
  const gx = run1(padGradOp, [gxp], { pads, mode: layoutMode, value: 0, inputShape: x.shape });
  const gw = run1(conv2dWeightGradOp, [xp, g], { ...inner, kernel: [w.shape[2], w.shape[3]] });
  return bias ? [gx, gw, sum(g, [0, 2, 3])] : [gx, gw];
}

/** Only the attrs conv2d itself takes, so backends never see stray keys. */
function convAttrs({ stride, padding, dilation, groups }: Conv2dAttrs): Conv2dAttrs {
  return { stride, padding, dilation, groups };
}

/** The leading [H, W] of a gradient computed over a larger spatial extent. */
function cropTo(t: Tensor, shape: readonly number[]): Tensor {
  if (t.shape[2] === shape[2] && t.shape[3] === shape[3]) return t;
  return slice(t, [{}, {}, { end: shape[2] }, { end: shape[3] }]);
}

// ---------------------------------------------------------------- public functions

const PAD_MODES = {
  zeros: 'constant',
  reflect: 'reflect',
  replicate: 'edge',
} as const satisfies Record<ConvPadMode, 'constant' | 'reflect' | 'edge'>;

/**
 * PyTorch's F.conv2d: x [N, C, H, W], w [O, C/groups, kH, kW], bias [O] → [N, O, OH, OW].
 * groups = C with w [C·m, 1, kH, kW] is a depthwise convolution. padMode 'reflect' mirrors
 * the border without repeating the edge (nn.Conv2d(padding_mode='reflect'), Johnson's
 * ReflectionPad2d); 'same' padding also works for strides > 1 (TensorFlow's SAME).
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  requireRank4('conv2d', 'input', x.shape, '[N, C, H, W]');
  requireRank4('conv2d', 'weight', w.shape, '[O, C/groups, kH, kW]');
  const stride = toPair('conv2d', 'stride', opts.stride ?? 1, 1);
  const dilation = toPair('conv2d', 'dilation', opts.dilation ?? 1, 1);
  const eff = effective('conv2d', w.shape.slice(2), dilation);
  const padding = resolvePadding('conv2d', opts.padding ?? 0, [x.shape[2], x.shape[3]], eff, stride);
  const padMode = opts.padMode ?? 'zeros';
  if (!(padMode in PAD_MODES)) {
    throw new UsageError(`conv2d: padMode must be 'zeros', 'reflect' or 'replicate', got '${String(padMode)}'`);
  }
  const groups = opts.groups ?? 1;
  const inputs = bias ? [w, bias] : [w];
  if (padMode === 'zeros' || padding.every((p) => p === 0)) {
    return run1(conv2dOp, [x, ...inputs], { stride, padding, dilation, groups });
  }
  // The kernel reads the border itself (no padded copy of x); infer checks reflect's limit.
  return run1(conv2dOp, [x, ...inputs], { stride, padding, dilation, groups, padMode });
}

/**
 * PyTorch's F.conv_transpose2d (the gradient of conv2d with respect to its input):
 * x [N, C, H, W], w [C, O/groups, kH, kW], bias [O] → [N, O, OH, OW] with
 * OH = (H − 1)·stride − top − bottom + dilation·(kH − 1) + 1 + outputPadding.
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const stride = toPair(op, 'stride', opts.stride ?? 1, 1);
  const dilation = toPair(op, 'dilation', opts.dilation ?? 1, 1);
  const outputPadding = toPair(op, 'outputPadding', opts.outputPadding ?? 0, 0);
  if (typeof opts.padding === 'string') {
    throw new UsageError(
      `convTranspose2d: padding '${opts.padding}' is not supported; give explicit padding (a number, [ph, pw] or four sides)`,
    );
  }
  const padding = resolvePadding(op, opts.padding ?? 0, [0, 0], [1, 1], stride);
  for (const axis of [0, 1] as const) {
    if (outputPadding[axis] >= stride[axis] && outputPadding[axis] >= dilation[axis]) {
      throw new ShapeError(
        `convTranspose2d: outputPadding [${outputPadding.join(', ')}] must be smaller than the stride ` +
          `[${stride.join(', ')}] or the dilation [${dilation.join(', ')}] on each axis`,
      );
    }
  }
  const inputs = bias ? [x, w, bias] : [x, w];
  return run1(convTranspose2dOp, inputs, { stride, padding, dilation, groups: opts.groups ?? 1, outputPadding });
}
