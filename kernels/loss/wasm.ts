/**
 * wasm crossEntropy and its gradient (kernels/loss/wasm.as): targets are checked on the host,
 * which throws the reference's error for an out-of-range one, and handed to the kernel as
 * classes (−1 for an ignored target).
 */
import { viewOf } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import { ShapeError } from '../../core/errors.js';
import type { CrossEntropyAttrs } from './loss.js';
import { refKernels } from './ref.js';

/** The class of each target row, or −1 where it equals ignoreIndex; throws as the reference does. */
function targetClasses(rt: WasmRuntime, targets: WasmTensor, classes: number, ignoreIndex: number | null): number {
  const view = viewOf(rt, 'i32', targets.ptr, targets.size) as Int32Array;
  const out = Array.from(view, (t, row) => {
    if (t === ignoreIndex) return -1;
    if (t < 0 || t >= classes) {
      const ignore =
        ignoreIndex === null ? '; pass ignoreIndex to skip padding targets' : ` or the ignoreIndex ${ignoreIndex}`;
      throw new ShapeError(
        `crossEntropy: target ${t} at position ${row} is out of range for ${classes} classes (use 0..${classes - 1}${ignore})`,
      );
    }
    return t;
  });
  return rt.record(out.length ? out : [0]);
}

const crossEntropy = wasmKernel<CrossEntropyAttrs>({
  op: 'crossEntropy',
  ref: refKernels.crossEntropy,
  accepts: ([logits, targets]) => logits.dtype === 'f32' && targets.dtype === 'i32',
  run(rt, [logits, targets], { ignoreIndex, labelSmoothing }, [y]) {
    const n = logits.shape[logits.shape.length - 1];
    const classes = targetClasses(rt, targets, n, ignoreIndex);
    try {
      rt.run('cross_entropy_f32', [logits.ptr, classes, y.ptr, n, labelSmoothing], targets.size, n * 3 + 20);
    } finally {
      rt.free(classes);
    }
  },
});

const crossEntropyGrad = wasmKernel<CrossEntropyAttrs>({
  op: 'crossEntropyGrad',
  ref: refKernels.crossEntropyGrad,
  accepts: ([logits, targets, g]) => logits.dtype === 'f32' && targets.dtype === 'i32' && g.dtype === 'f32',
  run(rt, [logits, targets, g], { ignoreIndex, labelSmoothing }, [y]) {
    const n = logits.shape[logits.shape.length - 1];
    const classes = targetClasses(rt, targets, n, ignoreIndex);
    try {
      rt.run(
        'cross_entropy_grad_f32',
        [logits.ptr, classes, g.ptr, y.ptr, n, labelSmoothing],
        targets.size,
        n * 12 + 20,
      );
    } finally {
      rt.free(classes);
    }
  },
});

export const wasmKernels = kernelTable({ crossEntropy, crossEntropyGrad });
