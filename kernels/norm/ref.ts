/**
 * Reference kernels for the norm family. Every norm normalises contiguous rows of x
 * (last axis; a channel group; one channel's spatial plane), so each is one loop over
 * rows: two-pass statistics, then the normalised value times scale plus shift, where the
 * scale and shift element for each position comes from a small index function.
 */
import { sizeOf } from '../../core/shape.js';
import { allocOutput, type HostData, type HostTensor, type RefKernel, type RefKernelTable } from '../host.js';
import type { GroupNormAttrs, InstanceNormAttrs, LayerNormAttrs, RmsNormAttrs } from './norm.js';

/** Which scale/shift element applies at position j of row r. */
type ParamIndex = (row: number, j: number) => number;

interface RowNorm {
  readonly rows: number;
  readonly length: number;
  readonly center: boolean;
  readonly eps: number;
  readonly scale?: HostData;
  readonly shift?: HostData;
  readonly scaleAt: ParamIndex;
  readonly shiftAt: ParamIndex;
}

function normalizeRows(
  x: HostData,
  y: HostData,
  { rows, length, center, eps, scale, shift, scaleAt, shiftAt }: RowNorm,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * length;
    let mu = 0;
    if (center) {
      for (let j = 0; j < length; j++) mu += x[base + j];
      mu /= length;
    }
    let acc = 0;
    for (let j = 0; j < length; j++) acc += (x[base + j] - mu) ** 2;
    const inv = 1 / Math.sqrt(acc / length + eps);
    for (let j = 0; j < length; j++) {
      let v = (x[base + j] - mu) * inv;
      if (scale) v *= scale[scaleAt(r, j)];
      if (shift) v += shift[shiftAt(r, j)];
      y[base + j] = v;
    }
  }
}

/** Split inputs [x, optional...] by the attrs' presence flags. */
function params(inputs: readonly HostTensor[], flags: readonly boolean[]): (HostData | undefined)[] {
  let next = 1;
  return flags.map((f) => (f ? inputs[next++].data : undefined));
}

const column: ParamIndex = (_r, j) => j;

function lastAxis(x: HostTensor): { rows: number; length: number } {
  const length = x.shape[x.shape.length - 1];
  return { rows: length === 0 ? 0 : x.data.length / length, length };
}

const layerNorm: RefKernel<LayerNormAttrs> = (inputs, { eps, hasWeight, hasBias }, [out]) => {
  const [x] = inputs;
  const y = allocOutput(out);
  const [scale, shift] = params(inputs, [hasWeight, hasBias]);
  normalizeRows(x.data, y, { ...lastAxis(x), center: true, eps, scale, shift, scaleAt: column, shiftAt: column });
  return [y];
};

const rmsNorm: RefKernel<RmsNormAttrs> = (inputs, { eps, hasWeight }, [out]) => {
  const [x] = inputs;
  const y = allocOutput(out);
  const [scale] = params(inputs, [hasWeight]);
  normalizeRows(x.data, y, { ...lastAxis(x), center: false, eps, scale, scaleAt: column, shiftAt: column });
  return [y];
};

const addRmsNorm: RefKernel<RmsNormAttrs> = (inputs, { eps, hasWeight }, [out]) => {
  const [x, r, w] = inputs;
  const sum = allocOutput(out);
  for (let i = 0; i < sum.length; i++) sum[i] = x.data[i] + r.data[i];
  const y = allocOutput(out);
  normalizeRows(sum, y, {
    ...lastAxis(x),
    center: false,
    eps,
    scale: hasWeight ? w.data : undefined,
    scaleAt: column,
    shiftAt: column,
  });
  return [sum, y];
};

const groupNorm: RefKernel<GroupNormAttrs> = (inputs, { groups, eps, hasWeight, hasBias }, [out]) => {
  const [x] = inputs;
  const y = allocOutput(out);
  const [scale, shift] = params(inputs, [hasWeight, hasBias]);
  const [n, c] = x.shape;
  const spatial = sizeOf(x.shape.slice(2));
  const perGroup = c / groups;
  // Row r is sample ⌊r / groups⌋, group r mod groups; position j lies in channel group·perGroup + ⌊j / spatial⌋.
  const channel: ParamIndex = (r, j) => (r % groups) * perGroup + Math.floor(j / spatial);
  normalizeRows(x.data, y, {
    rows: n * groups,
    length: perGroup * spatial,
    center: true,
    eps,
    scale,
    shift,
    scaleAt: channel,
    shiftAt: channel,
  });
  return [y];
};

const instanceNorm: RefKernel<InstanceNormAttrs> = (inputs, { eps, hasScale, hasShift }, [out]) => {
  const [x] = inputs;
  const y = allocOutput(out);
  const [scale, shift] = params(inputs, [hasScale, hasShift]);
  const [n, c] = x.shape;
  // Row r is (sample ⌊r / C⌋, channel r mod C): a [C] parameter is read at the channel, an [N, C] one at r.
  const at =
    (p: HostData | undefined): ParamIndex =>
    (r) =>
      p && p.length !== c ? r : r % c;
  normalizeRows(x.data, y, {
    rows: n * c,
    length: sizeOf(x.shape.slice(2)),
    center: true,
    eps,
    scale,
    shift,
    scaleAt: at(scale),
    shiftAt: at(shift),
  });
  return [y];
};

export const refKernels: RefKernelTable = { layerNorm, rmsNorm, addRmsNorm, groupNorm, instanceNorm };
