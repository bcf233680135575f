/**
 * Native cross-entropy and its gradient. Targets are checked here first: an ignored
 * or out-of-range one takes the reference path, whose error names it.
 */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, outputF32 } from '../../backends/native/kernel.js';
import type { NativeStorage } from '../../backends/native/storage.js';
import type { KernelTensor } from '../../core/backend.js';
import { isHalf } from '../../core/dtype.js';
import type { CrossEntropyAttrs } from './loss.js';
import { refKernels } from './ref.js';

/** The functions kernels/loss/native.cc adds to the addon: ignoreIndex NaN when none. */
export interface NativeFunctions {
  crossEntropy(
    logits: F32,
    targets: Int32Array,
    y: F32,
    rows: number,
    classes: number,
    ignoreIndex: number,
    smoothing: number,
  ): void;
  crossEntropyGrad(
    logits: F32,
    targets: Int32Array,
    g: F32,
    y: F32,
    rows: number,
    classes: number,
    ignoreIndex: number,
    smoothing: number,
  ): void;
}

function targetsValid(
  [logits, targets]: readonly KernelTensor<NativeStorage>[],
  { ignoreIndex }: CrossEntropyAttrs,
): boolean {
  if (logits.dtype !== 'f32' && !isHalf(logits.dtype)) return false;
  const classes = logits.shape[logits.shape.length - 1];
  const t = targets.storage.data as Int32Array;
  for (let i = 0; i < t.length; i++) if (t[i] !== ignoreIndex && (t[i] < 0 || t[i] >= classes)) return false;
  return true;
}

function checkAttrValues(op: string, { ignoreIndex, labelSmoothing }: CrossEntropyAttrs): void {
  if (ignoreIndex !== null && !Number.isInteger(ignoreIndex))
    throw new Error(`native ${op}: ignoreIndex must be an integer or null`);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new Error(`native ${op}: labelSmoothing must be in [0, 1]`);
}

const crossEntropy = nativeKernel<CrossEntropyAttrs>({
  op: 'crossEntropy',
  attrs: ['ignoreIndex', 'labelSmoothing'],
  ref: refKernels.crossEntropy,
  accepts: targetsValid,
  run(addon, [logits, targets], attrs) {
    checkAttrValues('crossEntropy', attrs);
    const classes = logits.shape[logits.shape.length - 1];
    const rows = targets.data.length;
    const y = outputF32(rows);
    addon.crossEntropy(
      f32(logits.data),
      targets.data as Int32Array,
      y,
      rows,
      classes,
      attrs.ignoreIndex ?? Number.NaN,
      attrs.labelSmoothing,
    );
    return [y];
  },
});

const crossEntropyGrad = nativeKernel<CrossEntropyAttrs>({
  op: 'crossEntropyGrad',
  attrs: ['ignoreIndex', 'labelSmoothing'],
  ref: refKernels.crossEntropyGrad,
  accepts: (inputs, attrs) => targetsValid(inputs, attrs) && inputs[2].dtype === inputs[0].dtype,
  run(addon, [logits, targets, g], attrs) {
    checkAttrValues('crossEntropyGrad', attrs);
    const classes = logits.shape[logits.shape.length - 1];
    const rows = targets.data.length;
    const y = outputF32(logits.data.length);
    addon.crossEntropyGrad(
      f32(logits.data),
      targets.data as Int32Array,
      f32(g.data),
      y,
      rows,
      classes,
      attrs.ignoreIndex ?? Number.NaN,
      attrs.labelSmoothing,
    );
    return [y];
  },
});

export const nativeKernels = kernelTable({ crossEntropy, crossEntropyGrad });
