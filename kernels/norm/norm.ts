/**
 * Normalisations: layerNorm and rmsNorm over the last axis, groupNorm over channel
 * groups of [N, C, ...], and instanceNorm over the spatial axes of [N, C, ...] with
 * per-channel or per-sample-per-channel (conditional) scale and shift.
 *
 * Each forward is one op whose kernel makes one pass per row (statistics, then the
 * normalised and affine-transformed values), so backends fuse it. The optional affine
 * parameters are extra inputs, flagged in the attrs, so the kernel applies them in the
 * same pass.
 *
 * The vjps are compositions of public ops: they recompute the row statistics from x
 * (two reductions) and apply the closed-form gradient, about ten elementwise/reduce
 * passes over x in all. That is a few times the traffic of a fused backward kernel but
 * small next to the matmuls around every norm, and it needs no double-backward of its
 * own; a dedicated `<norm>Grad` op is the upgrade if profiles on a GPU say otherwise.
 */
import type { TensorInfo } from '../../core/backend.js';
import { isFloat } from '../../core/dtype.js';
import { defineOp, run1 } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { formatShape, shapesEqual } from '../../core/shape.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import { add, mul, rsqrt, square, sub } from '../elementwise/elementwise.js';
import { reshape } from '../layout/layout.js';
import { mean, sumTo, variance } from '../reduce/reduce.js';

export interface LayerNormAttrs {
  readonly eps: number;
  readonly hasWeight: boolean;
  readonly hasBias: boolean;
}

export interface RmsNormAttrs {
  readonly eps: number;
  readonly hasWeight: boolean;
}

export interface GroupNormAttrs {
  readonly groups: number;
  readonly eps: number;
  readonly hasWeight: boolean;
  readonly hasBias: boolean;
}

export interface InstanceNormAttrs {
  readonly eps: number;
  /** scale is [C] (per channel) or [N, C] (per sample and channel: conditional instance norm). */
  readonly hasScale: boolean;
  readonly hasShift: boolean;
}

/** x and its optional affine inputs, in the order the op receives them. */
function unpack<T>(op: string, inputs: readonly T[], flags: readonly boolean[]): [T, ...(T | undefined)[]] {
  const expected = 1 + flags.filter(Boolean).length;
  if (inputs.length !== expected) {
    throw new ShapeError(`${op}: got ${inputs.length} inputs; the attrs' affine flags call for ${expected}`);
  }
  let next = 1;
  return [inputs[0], ...flags.map((f) => (f ? inputs[next++] : undefined))];
}

function checkEps(op: string, eps: number): void {
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new ShapeError(`${op}: eps must be a finite number >= 0, got ${eps}`);
}

function checkFloat(op: string, x: TensorInfo): void {
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: needs a float tensor, got ${x.dtype} (cast it first)`);
}

/** An affine parameter must match x's dtype and have one of the allowed shapes. */
function checkParam(
  op: string,
  what: string,
  x: TensorInfo,
  p: TensorInfo | undefined,
  allowed: readonly number[][],
): void {
  if (!p) return;
  if (p.dtype !== x.dtype) {
    throw new DTypeError(`${op}: ${what} is ${p.dtype} but x is ${x.dtype}; cast ${what} to ${x.dtype}`);
  }
  if (!allowed.some((s) => shapesEqual(s, p.shape))) {
    throw new ShapeError(
      `${op}: ${what} ${formatShape(p.shape)} must be ${allowed.map(formatShape).join(' or ')} for x ${formatShape(x.shape)}`,
    );
  }
}

/**
 * Gradient of a normalisation along the last axis: given x and the gradient of its normalised
 * form x̂, returns dx and x̂. Centred (layer/group/instance): x̂ = (x − μ)·s with s = 1/√(σ² + ε),
 * dx = s·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)). RMS: x̂ = x·r with r = 1/√(mean x² + ε), dx = r·(ĝ − x̂·mean(ĝ·x̂)).
 */
function normalizeBackward(x: Tensor, gHat: Tensor, eps: number, center: boolean): { dx: Tensor; xHat: Tensor } {
  if (center) {
    const s = rsqrt(add(variance(x, -1, true), eps));
    const xHat = mul(sub(x, mean(x, -1, true)), s);
    const inner = sub(sub(gHat, mean(gHat, -1, true)), mul(xHat, mean(mul(gHat, xHat), -1, true)));
    return { dx: mul(inner, s), xHat };
  }
  const r = rsqrt(add(mean(square(x), -1, true), eps));
  const xHat = mul(x, r);
  return { dx: mul(sub(gHat, mul(xHat, mean(mul(gHat, xHat), -1, true))), r), xHat };
}

/** Gradient of a scale that broadcast as `asShape` over y (then reshaped back to the parameter's shape). */
function paramGrad(term: Tensor, param: Tensor, asShape: readonly number[]): Tensor {
  return reshape(sumTo(term, asShape), param.shape);
}

// ---------------------------------------------------------------- layerNorm / rmsNorm

function checkLastAxisParams(
  op: string,
  x: TensorInfo,
  params: readonly (TensorInfo | undefined)[],
  names: string[],
): void {
  checkFloat(op, x);
  if (x.shape.length === 0) throw new ShapeError(`${op}: x must have at least one axis, got a scalar`);
  const d = x.shape[x.shape.length - 1];
  params.forEach((p, i) => {
    checkParam(op, names[i], x, p, [[d]]);
  });
}

export const layerNormOp = defineOp<LayerNormAttrs>({
  name: 'layerNorm',
  infer(inputs, { eps, hasWeight, hasBias }) {
    const [x, w, b] = unpack('layerNorm', inputs, [hasWeight, hasBias]);
    checkEps('layerNorm', eps);
    checkLastAxisParams('layerNorm', x, [w, b], ['weight', 'bias']);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], { inputs, attrs: { eps, hasWeight, hasBias } }) {
    const [x, w, b] = unpack('layerNorm', inputs, [hasWeight, hasBias]);
    return tidy(() => {
      const { dx, xHat } = normalizeBackward(x, w ? mul(g, w) : g, eps, true);
      const grads: (Tensor | null)[] = [dx];
      if (w) grads.push(sumTo(mul(g, xHat), w.shape));
      if (b) grads.push(sumTo(g, b.shape));
      return grads;
    });
  },
});

export const rmsNormOp = defineOp<RmsNormAttrs>({
  name: 'rmsNorm',
  infer(inputs, { eps, hasWeight }) {
    const [x, w] = unpack('rmsNorm', inputs, [hasWeight]);
    checkEps('rmsNorm', eps);
    checkLastAxisParams('rmsNorm', x, [w], ['weight']);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], { inputs, attrs: { eps, hasWeight }, needsGrad }) {
    const [x, w] = unpack('rmsNorm', inputs, [hasWeight]);
    return tidy(() => {
      const { dx, xHat } = normalizeBackward(x, w ? mul(g, w) : g, eps, false);
      // A frozen weight (LoRA) gets no gradient computed.
      return w ? [needsGrad[0] ? dx : null, needsGrad[1] ? sumTo(mul(g, xHat), w.shape) : null] : [dx];
    });
  },
  saves: () => ({ inputs: [0, 1], outputs: [] }),
});

/** (x − mean) / √(var + ε) · weight + bias over the last axis (population variance, as PyTorch). */
export function layerNorm(x: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return run1(layerNormOp, inputs, { eps, hasWeight: !!weight, hasBias: !!bias });
}

/** x / √(mean(x²) + ε) · weight over the last axis (Llama's RMSNorm; no centring, no bias). */
export function rmsNorm(x: Tensor, weight?: Tensor, eps = 1e-5): Tensor {
  return run1(rmsNormOp, weight ? [x, weight] : [x], { eps, hasWeight: !!weight });
}

// ---------------------------------------------------------------- groupNorm / instanceNorm

/** [C, 1, ...] (or [N, C, 1, ...]): a per-channel parameter shaped to broadcast over x [N, C, ...]. */
function channelShape(p: Tensor, xRank: number): number[] {
  return [...p.shape, ...new Array<number>(xRank - 2).fill(1)];
}

export const groupNormOp = defineOp<GroupNormAttrs>({
  name: 'groupNorm',
  infer(inputs, { groups, eps, hasWeight, hasBias }) {
    const [x, w, b] = unpack('groupNorm', inputs, [hasWeight, hasBias]);
    checkFloat('groupNorm', x);
    checkEps('groupNorm', eps);
    if (x.shape.length < 2) throw new ShapeError(`groupNorm: x must be [N, C, ...], got ${formatShape(x.shape)}`);
    const c = x.shape[1];
    if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
      throw new ShapeError(
        `groupNorm: groups ${groups} must be a positive integer dividing the ${c} channels of x ${formatShape(x.shape)}`,
      );
    }
    checkParam('groupNorm', 'weight', x, w, [[c]]);
    checkParam('groupNorm', 'bias', x, b, [[c]]);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], { inputs, attrs: { groups, eps, hasWeight, hasBias } }) {
    const [x, w, b] = unpack('groupNorm', inputs, [hasWeight, hasBias]);
    return tidy(() => {
      const gHat = w ? mul(g, reshape(w, channelShape(w, x.rank))) : g;
      const grouped = [x.shape[0], groups, -1];
      const { dx, xHat } = normalizeBackward(reshape(x, grouped), reshape(gHat, grouped), eps, true);
      const xHatFull = reshape(xHat, x.shape);
      const grads: (Tensor | null)[] = [reshape(dx, x.shape)];
      if (w) grads.push(paramGrad(mul(g, xHatFull), w, channelShape(w, x.rank)));
      if (b) grads.push(paramGrad(g, b, channelShape(b, x.rank)));
      return grads;
    });
  },
});

export const instanceNormOp = defineOp<InstanceNormAttrs>({
  name: 'instanceNorm',
  infer(inputs, { eps, hasScale, hasShift }) {
    const [x, scale, shift] = unpack('instanceNorm', inputs, [hasScale, hasShift]);
    checkFloat('instanceNorm', x);
    checkEps('instanceNorm', eps);
    if (x.shape.length < 3) {
      throw new ShapeError(
        `instanceNorm: x must be [N, C, spatial...] (e.g. [N, C, H, W]), got ${formatShape(x.shape)}`,
      );
    }
    const [n, c] = x.shape;
    checkParam('instanceNorm', 'scale', x, scale, [[c], [n, c]]);
    checkParam('instanceNorm', 'shift', x, shift, [[c], [n, c]]);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], { inputs, attrs: { eps, hasScale, hasShift } }) {
    const [x, scale, shift] = unpack('instanceNorm', inputs, [hasScale, hasShift]);
    return tidy(() => {
      const gHat = scale ? mul(g, reshape(scale, channelShape(scale, x.rank))) : g;
      const rows = [x.shape[0], x.shape[1], -1];
      const { dx, xHat } = normalizeBackward(reshape(x, rows), reshape(gHat, rows), eps, true);
      const xHatFull = reshape(xHat, x.shape);
      const grads: (Tensor | null)[] = [reshape(dx, x.shape)];
      if (scale) grads.push(paramGrad(mul(g, xHatFull), scale, channelShape(scale, x.rank)));
      if (shift) grads.push(paramGrad(g, shift, channelShape(shift, x.rank)));
      return grads;
    });
  },
});

/**
 * Group normalisation of x [N, C, ...]: the C channels split into `groups` consecutive groups,
 * each normalised over its channels and all spatial positions; then a per-channel weight/bias [C].
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return run1(groupNormOp, inputs, { groups, eps, hasWeight: !!weight, hasBias: !!bias });
}

/**
 * Instance normalisation of x [N, C, spatial...]: each (sample, channel) normalised over its
 * spatial positions, then scale and shift, each [C] (per channel) or [N, C] (per sample and
 * channel: the conditional instance norm of Magenta's arbitrary style transfer).
 */
export function instanceNorm(x: Tensor, scale?: Tensor, shift?: Tensor, eps = 1e-5): Tensor {
  const inputs = [x, ...(scale ? [scale] : []), ...(shift ? [shift] : [])];
  return run1(instanceNormOp, inputs, { eps, hasScale: !!scale, hasShift: !!shift });
}
