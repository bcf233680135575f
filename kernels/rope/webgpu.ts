/** WebGPU rope: one thread per row (rope.wgsl), the same angle formula as ref.ts. */
import type { GpuKernel, GpuKernelTable } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { RopeAttrs } from './rope.js';

const ROPE = wgsl(new URL('./rope.wgsl', import.meta.url));

const rope: GpuKernel<RopeAttrs> = ([x, freqs], { offset, base, traditional, dims, scale, inverse }, [out], gpu) => {
  const src = gpu.wide(x);
  const periods = freqs ? gpu.wide(freqs) : null;
  const y = gpu.output(out);
  const rank = x.shape.length;
  const d = x.shape[rank - 1];
  const half = dims / 2;
  const rows = d === 0 ? 0 : y.size / d;
  gpu.dispatch({
    shader: ROPE,
    uniforms: new Uniforms()
      .u32(rows, x.shape[rank - 2], d, half)
      .f32(offset, scale, Math.log(base) / half, inverse ? -1 : 1)
      .u32(traditional ? 1 : 0, periods ? 1 : 0, 0, 0),
    bindings: [src.buffer, y.buffer, periods?.buffer ?? src.buffer],
    threads: rows,
  });
  return [y.finish()];
};

export const gpuKernels: GpuKernelTable = { rope };

export function gpuVariants(): ShaderVariant[] {
  return [{ shader: ROPE }];
}
