/** WebGPU softmax and logSoftmax: one thread per line along the axis (softmax.wgsl). */
import type { GpuKernel, GpuKernelTable } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import { sizeOf } from '../../core/shape.js';
import type { SoftmaxAttrs } from './softmax.js';

const SOFTMAX = wgsl(new URL('./softmax.wgsl', import.meta.url));

function kernel(entry: 'softmax' | 'log_softmax'): GpuKernel<SoftmaxAttrs> {
  return ([x], { axis }, [out], gpu) => {
    const src = gpu.wide(x);
    const y = gpu.output(out);
    const dim = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const lines = dim === 0 ? 0 : sizeOf(x.shape) / dim;
    gpu.dispatch({
      shader: SOFTMAX,
      entry,
      uniforms: new Uniforms().u32(lines, dim, inner, 0),
      bindings: [src.buffer, y.buffer],
      threads: lines,
    });
    return [y.finish()];
  };
}

export const gpuKernels: GpuKernelTable = { softmax: kernel('softmax'), logSoftmax: kernel('log_softmax') };

export function gpuVariants(): ShaderVariant[] {
  return [
    { shader: SOFTMAX, entry: 'softmax' },
    { shader: SOFTMAX, entry: 'log_softmax' },
  ];
}
