/**
 * WebGPU matmul in two variants (see KernelVariant), two entry points of matmul.wgsl:
 * 'tiled' for real GPUs, 'blocked' (barrier-free, 4×4 register blocks) for CPU-emulated
 * adapters. Transposes and broadcast batches are strides, so no operand is copied. f16
 * computes in f32; i32 accumulates in i32 (wrapping).
 */
import type { GpuKernel, GpuKernelTable, GpuStorage, KernelVariant, WideType } from '../../backends/webgpu/backend.js';
import { NeedsHost } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { MAX_RANK, Uniforms } from '../../backends/webgpu/uniforms.js';
import { broadcastStrides, sizeOf } from '../../core/shape.js';
import { gpuKernels as elementwise } from '../elementwise/webgpu.js';
import { type MatmulAttrs, matmulDims } from './matmul.js';

const MATMUL = wgsl(new URL('./matmul.wgsl', import.meta.url));

function matmulVariant(variant: KernelVariant, type: WideType): ShaderVariant {
  return { shader: MATMUL, entry: variant, params: { T: `alias T = ${type};` } };
}

const matmul: GpuKernel<MatmulAttrs> = ([a, b], attrs, [out], gpu) => {
  const { m, k, n, batch } = matmulDims(a, b, attrs);
  if (batch.length > MAX_RANK) throw new NeedsHost(`matmul with ${batch.length} batch dims`);
  const batches = sizeOf(batch);
  if (batches > gpu.limits.maxComputeWorkgroupsPerDimension) throw new NeedsHost(`matmul with ${batches} batches`);
  const { transposeA, transposeB } = attrs;
  const av = gpu.wide(a);
  const bv = gpu.wide(b);
  const y = gpu.output(out);
  const variant = gpu.variant('matmul');
  const uniforms = new Uniforms()
    .u32(m, k, n, batch.length)
    .u32(transposeA ? 1 : k, transposeA ? m : 1, transposeB ? 1 : n, transposeB ? k : 1)
    .u32Array(batch)
    .u32Array(broadcastStrides(a.shape.slice(0, -2), batch))
    .u32Array(broadcastStrides(b.shape.slice(0, -2), batch));
  const block = variant === 'tiled' ? 64 : 32;
  gpu.dispatch({
    ...matmulVariant(variant, av.type),
    uniforms,
    bindings: [av.buffer, bv.buffer, y.buffer],
    workgroups: [Math.ceil(n / block), Math.ceil(m / block), batches],
  });
  return [y.finish()];
};

/** Two products and the elementwise silu and mul: four dispatches, one engine op (intermediates freed at its end). */
const swiglu: GpuKernel<Record<string, never>> = ([x, wg, wu], _attrs, [out], gpu) => {
  const transposed = { transposeA: false, transposeB: true };
  const as = (storage: GpuStorage) => ({ storage, shape: out.shape, dtype: out.dtype });
  const [gate] = matmul([x, wg], transposed, [out], gpu);
  const [up] = matmul([x, wu], transposed, [out], gpu);
  const [activated] = elementwise.silu([as(gate)], {}, [out], gpu);
  return elementwise.mul([as(activated), as(up)], {}, [out], gpu);
};

export const gpuKernels: GpuKernelTable = { matmul, swiglu };

export function gpuVariants(): ShaderVariant[] {
  return (['tiled', 'blocked'] as const).flatMap((v) => [matmulVariant(v, 'f32'), matmulVariant(v, 'i32')]);
}
