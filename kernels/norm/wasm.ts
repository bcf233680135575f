/**
 * wasm normalisations: one row kernel (kernels/norm/wasm.as) for all four norms, which differ
 * in what a row is and which scale/shift element applies where (its `mode`).
 */
import type { WasmStorage } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import type { Kernel } from '../../core/backend.js';
import { sizeOf } from '../../core/shape.js';
import { wasmKernels as elementwise } from '../elementwise/wasm.js';
import type { GroupNormAttrs, InstanceNormAttrs, LayerNormAttrs, RmsNormAttrs } from './norm.js';
import { refKernels } from './ref.js';

const COLUMN = 0;
const GROUP = 1;
const ROW = 2;

interface RowNorm {
  readonly rows: number;
  readonly length: number;
  readonly center: boolean;
  readonly eps: number;
  readonly scale?: WasmTensor;
  readonly shift?: WasmTensor;
  readonly mode: number;
  readonly groups?: number;
  readonly perGroup?: number;
  readonly spatial?: number;
}

function runRows(rt: WasmRuntime, x: WasmTensor, y: WasmTensor, p: RowNorm): void {
  if (y.size === 0 || p.length === 0) return;
  rt.run(
    'norm_rows',
    [
      x.ptr,
      y.ptr,
      p.length,
      p.center ? 1 : 0,
      p.eps,
      p.scale?.ptr ?? 0,
      p.shift?.ptr ?? 0,
      p.mode,
      p.groups ?? 1,
      p.perGroup ?? 1,
      p.spatial ?? 1,
      p.scale?.size ?? 1,
      p.shift?.size ?? 1,
    ],
    p.rows,
    p.length * 2 + 20,
  );
}

/** x and the affine inputs present per the attrs' flags. */
function affine(inputs: readonly WasmTensor[], flags: readonly boolean[]): (WasmTensor | undefined)[] {
  let next = 1;
  return flags.map((f) => (f ? inputs[next++] : undefined));
}

function lastAxis(x: WasmTensor): { rows: number; length: number } {
  const length = x.shape[x.shape.length - 1];
  return { rows: length === 0 ? 0 : x.size / length, length };
}

const layerNorm = wasmKernel<LayerNormAttrs>({
  op: 'layerNorm',
  ref: refKernels.layerNorm,
  run(rt, inputs, { eps, hasWeight, hasBias }, [y]) {
    const [x] = inputs;
    const [scale, shift] = affine(inputs, [hasWeight, hasBias]);
    runRows(rt, x, y, { ...lastAxis(x), center: true, eps, scale, shift, mode: COLUMN });
  },
});

const rmsNorm = wasmKernel<RmsNormAttrs>({
  op: 'rmsNorm',
  ref: refKernels.rmsNorm,
  run(rt, inputs, { eps, hasWeight }, [y]) {
    const [x] = inputs;
    const [scale] = affine(inputs, [hasWeight]);
    runRows(rt, x, y, { ...lastAxis(x), center: false, eps, scale, mode: COLUMN });
  },
});

/** The family's rmsNorm after the elementwise add: two wasm passes, one engine op. */
const addRmsNorm: Kernel<RmsNormAttrs, WasmStorage> = ([x, r, w], attrs, [sumInfo], backend) => {
  const add = elementwise.add as unknown as Kernel<unknown, WasmStorage>;
  const [sum] = add([x, r], {}, [sumInfo], backend);
  try {
    const norm = rmsNorm as unknown as Kernel<RmsNormAttrs, WasmStorage>;
    const [y] = norm([{ storage: sum, shape: x.shape, dtype: x.dtype }, ...(w ? [w] : [])], attrs, [sumInfo], backend);
    return [sum, y];
  } catch (err) {
    backend.free(sum);
    throw err;
  }
};

const groupNorm = wasmKernel<GroupNormAttrs>({
  op: 'groupNorm',
  ref: refKernels.groupNorm,
  run(rt, inputs, { groups, eps, hasWeight, hasBias }, [y]) {
    const [x] = inputs;
    const [scale, shift] = affine(inputs, [hasWeight, hasBias]);
    const [n, c] = x.shape;
    const spatial = sizeOf(x.shape.slice(2));
    const perGroup = c / groups;
    runRows(rt, x, y, {
      rows: n * groups,
      length: perGroup * spatial,
      center: true,
      eps,
      scale,
      shift,
      mode: GROUP,
      groups,
      perGroup,
      spatial,
    });
  },
});

const instanceNorm = wasmKernel<InstanceNormAttrs>({
  op: 'instanceNorm',
  ref: refKernels.instanceNorm,
  run(rt, inputs, { eps, hasScale, hasShift }, [y]) {
    const [x] = inputs;
    const [scale, shift] = affine(inputs, [hasScale, hasShift]);
    const [n, c] = x.shape;
    runRows(rt, x, y, { rows: n * c, length: sizeOf(x.shape.slice(2)), center: true, eps, scale, shift, mode: ROW });
  },
});

export const wasmKernels = kernelTable({
  layerNorm,
  rmsNorm,
  addRmsNorm,
  groupNorm,
  instanceNorm,
});
