/**
 * Native normalisations: all four are row normalisations in native.cc; what differs is
 * the row length and which scale/shift element applies at (row r, column j), given as
 * ((r mod rmod)·rmul + ⌊j / jdiv⌋).
 */
import type { F32, NativeAddon } from '../../backends/native/addon.js';
import { f32, kernelTable, type NativeTensor, nativeKernel, overwrittenF32 } from '../../backends/native/kernel.js';
import { sizeOf } from '../../core/shape.js';
import type { GroupNormAttrs, InstanceNormAttrs, LayerNormAttrs, RmsNormAttrs } from './norm.js';
import { refKernels } from './ref.js';

/** The functions kernels/norm/native.cc adds to the addon: parameter element for (row r, column j) is ((r % rmod)·rmul + ⌊j / jdiv⌋). */
export interface NativeFunctions {
  normRows(
    x: F32,
    y: F32,
    rows: number,
    length: number,
    center: boolean,
    eps: number,
    scale: F32 | null,
    scaleIndex: number[],
    shift: F32 | null,
    shiftIndex: number[],
  ): void;
  /** sum = x + r (f32), y = sum / √(mean(sum²) + eps) · w, per row of `length`. */
  addRmsNorm(x: F32, r: F32, w: F32 | null, sum: F32, y: F32, length: number, eps: number): void;
}

type Index = [rmod: number, rmul: number, jdiv: number];

/** The optional parameters after x, by the attrs' presence flags. */
function params(inputs: readonly NativeTensor[], flags: readonly boolean[]): (Float32Array | null)[] {
  let next = 1;
  return flags.map((f) => (f ? f32(inputs[next++].data) : null));
}

function normalize(
  addon: NativeAddon,
  x: NativeTensor,
  rows: number,
  length: number,
  center: boolean,
  eps: number,
  scale: Float32Array | null,
  scaleIndex: Index,
  shift: Float32Array | null,
  shiftIndex: Index,
): Float32Array[] {
  const y = overwrittenF32(x.data.length);
  addon.normRows(f32(x.data), y, rows, length, center, eps, scale, scaleIndex, shift, shiftIndex);
  return [y];
}

function lastAxis(x: NativeTensor): { rows: number; length: number } {
  const length = x.shape[x.shape.length - 1];
  return { rows: length === 0 ? 0 : x.data.length / length, length };
}

const COLUMN: Index = [1, 0, 1];

const layerNorm = nativeKernel<LayerNormAttrs>({
  op: 'layerNorm',
  attrs: ['eps', 'hasWeight', 'hasBias'],
  ref: refKernels.layerNorm,
  run(addon, inputs, { eps, hasWeight, hasBias }) {
    const [x] = inputs;
    const [scale, shift] = params(inputs, [hasWeight, hasBias]);
    const { rows, length } = lastAxis(x);
    return normalize(addon, x, rows, length, true, eps, scale, COLUMN, shift, COLUMN);
  },
});

const rmsNorm = nativeKernel<RmsNormAttrs>({
  op: 'rmsNorm',
  attrs: ['eps', 'hasWeight'],
  ref: refKernels.rmsNorm,
  run(addon, inputs, { eps, hasWeight }) {
    const [x] = inputs;
    const [scale] = params(inputs, [hasWeight]);
    const { rows, length } = lastAxis(x);
    return normalize(addon, x, rows, length, false, eps, scale, COLUMN, null, COLUMN);
  },
});

const addRmsNorm = nativeKernel<RmsNormAttrs>({
  op: 'addRmsNorm',
  attrs: ['eps', 'hasWeight'],
  ref: refKernels.addRmsNorm,
  run(addon, [x, r, w], { eps, hasWeight }) {
    const n = x.data.length;
    const sum = overwrittenF32(n);
    const y = overwrittenF32(n);
    addon.addRmsNorm(f32(x.data), f32(r.data), hasWeight ? f32(w.data) : null, sum, y, lastAxis(x).length, eps);
    return [sum, y];
  },
});

const groupNorm = nativeKernel<GroupNormAttrs>({
  op: 'groupNorm',
  attrs: ['groups', 'eps', 'hasWeight', 'hasBias'],
  ref: refKernels.groupNorm,
  run(addon, inputs, { groups, eps, hasWeight, hasBias }) {
    const [x] = inputs;
    const [scale, shift] = params(inputs, [hasWeight, hasBias]);
    const [n, c] = x.shape;
    const spatial = sizeOf(x.shape.slice(2));
    const perGroup = c / groups;
    // Row r is (sample, group r mod groups); column j lies in channel group·perGroup + ⌊j / spatial⌋.
    const channel: Index = [groups, perGroup, Math.max(spatial, 1)];
    return normalize(addon, x, n * groups, perGroup * spatial, true, eps, scale, channel, shift, channel);
  },
});

const instanceNorm = nativeKernel<InstanceNormAttrs>({
  op: 'instanceNorm',
  attrs: ['eps', 'hasScale', 'hasShift'],
  ref: refKernels.instanceNorm,
  run(addon, inputs, { eps, hasScale, hasShift }) {
    const [x] = inputs;
    const [scale, shift] = params(inputs, [hasScale, hasShift]);
    const [n, c] = x.shape;
    const length = sizeOf(x.shape.slice(2));
    // Row r is (sample ⌊r / C⌋, channel r mod C): a [C] parameter is read at the channel, an [N, C] one at r.
    const index = (p: Float32Array | null): Index => [p && p.length !== c ? n * c : c, 1, Math.max(length, 1)];
    return normalize(addon, x, n * c, length, true, eps, scale, index(scale), shift, index(shift));
  },
});

export const nativeKernels = kernelTable({ layerNorm, rmsNorm, addRmsNorm, groupNorm, instanceNorm });
