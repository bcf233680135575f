/**
 * WebGPU softmax and logSoftmax (softmax.wgsl): a line along the axis gets a workgroup
 * when it is long (the `_wide` entries), else a thread; reduce/webgpu.ts's
 * `workgroupPerLine` decides, as for the reductions.
 */
import type { GpuKernel, GpuKernelTable } from '../../backends/webgpu/backend.js';
import { lineGroups, workgroupPerLine } from '../../backends/webgpu/lines.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import { sizeOf } from '../../core/shape.js';
import type { SoftmaxAttrs } from './softmax.js';

const SOFTMAX = wgsl(new URL('./softmax.wgsl', import.meta.url));

type Entry = 'softmax' | 'log_softmax';

function kernel(entry: Entry): GpuKernel<SoftmaxAttrs> {
  return ([x], { axis }, [out], gpu) => {
    const src = gpu.wide(x);
    const y = gpu.output(out);
    const dim = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const lines = dim === 0 ? 0 : sizeOf(x.shape) / dim;
    const wide = workgroupPerLine(dim, lines, inner === 1);
    gpu.dispatch({
      shader: SOFTMAX,
      uniforms: new Uniforms().u32(lines, dim, inner, 0),
      bindings: [src.buffer, y.buffer],
      ...(wide ? { entry: `${entry}_wide`, workgroups: lineGroups(lines) } : { entry, threads: lines }),
    });
    return [y.finish()];
  };
}

export const gpuKernels: GpuKernelTable = { softmax: kernel('softmax'), logSoftmax: kernel('log_softmax') };

export function gpuVariants(): ShaderVariant[] {
  return (['softmax', 'log_softmax'] as const).flatMap((entry) => [
    { shader: SOFTMAX, entry },
    { shader: SOFTMAX, entry: `${entry}_wide` },
  ]);
}
