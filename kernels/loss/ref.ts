/** Reference kernels for crossEntropy and its gradient: one row of logits per target. */
import { ShapeError } from '../../core/errors.js';
import { allocOutput, type HostData, type RefKernel, type RefKernelTable } from '../host.js';
import type { CrossEntropyAttrs } from './loss.js';

/** The target's class, or -1 when it is ignored; throws naming an out-of-range target. */
function targetClass(t: number, row: number, classes: number, ignoreIndex: number | null): number {
  if (t === ignoreIndex) return -1;
  if (t < 0 || t >= classes) {
    const ignore =
      ignoreIndex === null ? '; pass ignoreIndex to skip padding targets' : ` or the ignoreIndex ${ignoreIndex}`;
    throw new ShapeError(
      `crossEntropy: target ${t} at position ${row} is out of range for ${classes} classes (use 0..${classes - 1}${ignore})`,
    );
  }
  return t;
}

/** max and log Σ exp(x − max) of one row: logsumexp = max + logSum. */
function rowLogSumExp(x: HostData, base: number, n: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < n; c++) max = Math.max(max, x[base + c]);
  let acc = 0;
  for (let c = 0; c < n; c++) acc += Math.exp(x[base + c] - max);
  return max + Math.log(acc);
}

const crossEntropy: RefKernel<CrossEntropyAttrs> = ([logits, targets], { ignoreIndex, labelSmoothing: eps }, [out]) => {
  const y = allocOutput(out);
  const classes = logits.shape[logits.shape.length - 1];
  for (let r = 0; r < targets.data.length; r++) {
    const t = targetClass(targets.data[r], r, classes, ignoreIndex);
    if (t < 0) continue;
    const base = r * classes;
    const lse = rowLogSumExp(logits.data, base, classes);
    let meanLogit = 0;
    if (eps > 0) {
      for (let c = 0; c < classes; c++) meanLogit += logits.data[base + c];
      meanLogit /= classes;
    }
    // Σ_c q_c·(lse − x_c) with q = (1 − ε)·onehot(t) + ε/C.
    y[r] = (1 - eps) * (lse - logits.data[base + t]) + (eps > 0 ? eps * (lse - meanLogit) : 0);
  }
  return [y];
};

const crossEntropyGrad: RefKernel<CrossEntropyAttrs> = (
  [logits, targets, g],
  { ignoreIndex, labelSmoothing: eps },
  [out],
) => {
  const y = allocOutput(out);
  const classes = logits.shape[logits.shape.length - 1];
  for (let r = 0; r < targets.data.length; r++) {
    const t = targetClass(targets.data[r], r, classes, ignoreIndex);
    if (t < 0) continue;
    const base = r * classes;
    const lse = rowLogSumExp(logits.data, base, classes);
    for (let c = 0; c < classes; c++) {
      const q = (c === t ? 1 - eps : 0) + eps / classes;
      y[base + c] = g.data[r] * (Math.exp(logits.data[base + c] - lse) - q);
    }
  }
  return [y];
};

export const refKernels: RefKernelTable = { crossEntropy, crossEntropyGrad };
