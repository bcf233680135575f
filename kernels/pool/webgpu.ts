/** WebGPU pooling kernels (pool.wgsl): gather form throughout, one thread per element. */
import type { GpuKernel, GpuKernelTable, WebGPUBackend, Wide } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { AvgPool2dAttrs, MaxPool2dAttrs } from './pool.js';

const POOL = wgsl(new URL('./pool.wgsl', import.meta.url));

type Entry = 'avg_pool' | 'max_pool' | 'max_pool_select' | 'max_pool_grad' | 'avg_pool_grad';

interface Window {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation?: readonly number[];
  readonly countIncludePad?: boolean;
}

/** inShape is the pooled input [N, C, H, W], outShape the pooled output; total the threads. */
function run(
  gpu: WebGPUBackend,
  entry: Entry,
  inShape: readonly number[],
  outShape: readonly number[],
  attrs: Window,
  x: Wide,
  v: Wide | null,
  y: Wide,
): void {
  const [n, c, h, w] = inShape;
  const [, , oh, ow] = outShape;
  const dilation = attrs.dilation ?? [1, 1];
  gpu.dispatch({
    shader: POOL,
    entry,
    uniforms: new Uniforms()
      .u32(n * c, h, w, oh, ow, attrs.kernel[0], attrs.kernel[1], attrs.countIncludePad ? 1 : 0)
      .i32(attrs.stride[0], attrs.stride[1], attrs.padding[0], attrs.padding[2], dilation[0], dilation[1])
      .u32(y.size, 0),
    bindings: [x.buffer, v?.buffer ?? null, y.buffer],
    threads: y.size,
  });
}

const avgPool2d: GpuKernel<AvgPool2dAttrs> = ([x], attrs, [out], gpu) => {
  const y = gpu.output(out);
  run(gpu, 'avg_pool', x.shape, out.shape, attrs, gpu.wide(x), null, y);
  return [y.finish()];
};

const avgPool2dGrad: GpuKernel<AvgPool2dAttrs & { inputShape: readonly number[] }> = ([g], attrs, [out], gpu) => {
  const y = gpu.output(out);
  run(gpu, 'avg_pool_grad', attrs.inputShape, g.shape, attrs, gpu.wide(g), null, y);
  return [y.finish()];
};

const maxPool2d: GpuKernel<MaxPool2dAttrs> = ([x], attrs, [out], gpu) => {
  const y = gpu.output(out);
  run(gpu, 'max_pool', x.shape, out.shape, attrs, gpu.wide(x), null, y);
  return [y.finish()];
};

const maxPool2dGrad: GpuKernel<MaxPool2dAttrs> = ([x, g], attrs, [out], gpu) => {
  const y = gpu.output(out);
  run(gpu, 'max_pool_grad', x.shape, g.shape, attrs, gpu.wide(x), gpu.wide(g), y);
  return [y.finish()];
};

const maxPool2dSelect: GpuKernel<MaxPool2dAttrs> = ([x, v], attrs, [out], gpu) => {
  const y = gpu.output(out);
  run(gpu, 'max_pool_select', x.shape, out.shape, attrs, gpu.wide(x), gpu.wide(v), y);
  return [y.finish()];
};

export const gpuKernels: GpuKernelTable = { avgPool2d, avgPool2dGrad, maxPool2d, maxPool2dGrad, maxPool2dSelect };

export function gpuVariants(): ShaderVariant[] {
  const entries: Entry[] = ['avg_pool', 'max_pool', 'max_pool_select', 'max_pool_grad', 'avg_pool_grad'];
  return entries.map((entry) => ({ shader: POOL, entry }));
}
