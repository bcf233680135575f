/**
 * WebGPU kernels for the norm family: one row-normalisation shader (norm.wgsl) with the
 * scale/shift indexing of each norm passed as (mod, mul, div, jmul), mirroring ref.ts.
 * Long rows get a workgroup each (entry `wide`), short ones a thread (backends/webgpu/lines.ts).
 */
import type { GpuKernel, GpuKernelTable, GpuStorage, WebGPUBackend } from '../../backends/webgpu/backend.js';
import { lineGroups, workgroupPerLine } from '../../backends/webgpu/lines.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { KernelTensor, TensorInfo } from '../../core/backend.js';
import { sizeOf } from '../../core/shape.js';
import { gpuKernels as elementwise } from '../elementwise/webgpu.js';
import type { GroupNormAttrs, InstanceNormAttrs, LayerNormAttrs, RmsNormAttrs } from './norm.js';

const NORM = wgsl(new URL('./norm.wgsl', import.meta.url));

/** (r % mod) * mul + (j / div) * jmul picks the parameter for row r, position j. */
type ParamIndex = readonly [mod: number, mul: number, div: number, jmul: number];

const COLUMN: ParamIndex = [1, 0, 1, 1];

interface Rows {
  readonly rows: number;
  readonly length: number;
  readonly center: boolean;
  readonly eps: number;
  readonly scaleAt: ParamIndex;
  readonly shiftAt: ParamIndex;
}

function normalize(
  gpu: WebGPUBackend,
  inputs: readonly KernelTensor<GpuStorage>[],
  flags: readonly [boolean, boolean],
  out: TensorInfo,
  r: Rows,
): GpuStorage[] {
  const x = gpu.wide(inputs[0]);
  let next = 1;
  const [scale, shift] = flags.map((f) => (f ? gpu.wide(inputs[next++]) : null));
  const y = gpu.output(out);
  const dummy = x.buffer;
  const wide = workgroupPerLine(r.length, r.rows, true);
  gpu.dispatch({
    shader: NORM,
    uniforms: new Uniforms()
      .u32(r.rows, r.length, r.center ? 1 : 0, (scale ? 1 : 0) | (shift ? 2 : 0))
      .f32(r.eps)
      .u32(0, 0, 0)
      .u32(...r.scaleAt)
      .u32(...r.shiftAt),
    bindings: [x.buffer, scale?.buffer ?? dummy, shift?.buffer ?? dummy, y.buffer],
    ...(wide ? { entry: 'wide', workgroups: lineGroups(r.rows) } : { threads: r.rows }),
  });
  return [y.finish()];
}

function lastAxis(shape: readonly number[]): { rows: number; length: number } {
  const length = shape[shape.length - 1];
  return { rows: length === 0 ? 0 : sizeOf(shape) / length, length };
}

const layerNorm: GpuKernel<LayerNormAttrs> = (inputs, { eps, hasWeight, hasBias }, [out], gpu) =>
  normalize(gpu, inputs, [hasWeight, hasBias], out, {
    ...lastAxis(inputs[0].shape),
    center: true,
    eps,
    scaleAt: COLUMN,
    shiftAt: COLUMN,
  });

const rmsNorm: GpuKernel<RmsNormAttrs> = (inputs, { eps, hasWeight }, [out], gpu) =>
  normalize(gpu, inputs, [hasWeight, false], out, {
    ...lastAxis(inputs[0].shape),
    center: false,
    eps,
    scaleAt: COLUMN,
    shiftAt: COLUMN,
  });

/** The elementwise add, then the family's rmsNorm on the sum: two dispatches, one engine op. */
const addRmsNorm: GpuKernel<RmsNormAttrs> = ([x, r, w], attrs, [info], gpu) => {
  const [sum] = elementwise.add([x, r], {}, [info], gpu);
  const [y] = rmsNorm([{ storage: sum, shape: x.shape, dtype: x.dtype }, ...(w ? [w] : [])], attrs, [info], gpu);
  return [sum, y];
};

const groupNorm: GpuKernel<GroupNormAttrs> = (inputs, { groups, eps, hasWeight, hasBias }, [out], gpu) => {
  const [n, c] = inputs[0].shape;
  const spatial = sizeOf(inputs[0].shape.slice(2));
  const perGroup = c / groups;
  const channel: ParamIndex = [groups, perGroup, Math.max(spatial, 1), 1];
  return normalize(gpu, inputs, [hasWeight, hasBias], out, {
    rows: n * groups,
    length: perGroup * spatial,
    center: true,
    eps,
    scaleAt: channel,
    shiftAt: channel,
  });
};

const instanceNorm: GpuKernel<InstanceNormAttrs> = (inputs, { eps, hasScale, hasShift }, [out], gpu) => {
  const [n, c] = inputs[0].shape;
  const rows = n * c;
  let next = 1;
  // A [C] parameter is read at the channel (r % C), an [N, C] one at the row.
  const [scaleAt, shiftAt] = [hasScale, hasShift].map((has): ParamIndex => {
    if (!has) return COLUMN;
    const size = sizeOf(inputs[next++].shape);
    return [size !== c ? Math.max(rows, 1) : c, 1, 1, 0];
  });
  return normalize(gpu, inputs, [hasScale, hasShift], out, {
    rows,
    length: sizeOf(inputs[0].shape.slice(2)),
    center: true,
    eps,
    scaleAt,
    shiftAt,
  });
};

export const gpuKernels: GpuKernelTable = { layerNorm, rmsNorm, addRmsNorm, groupNorm, instanceNorm };

export function gpuVariants(): ShaderVariant[] {
  return [{ shader: NORM }, { shader: NORM, entry: 'wide' }];
}
