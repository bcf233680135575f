/**
 * WebGPU decoder layer: runs on the host (the reference). The layer is native's decoding path (the model
 * fuses only there); WebGPU runs the layer as separate GPU ops, and this entry exists so the op runs
 * everywhere.
 */
import { type GpuKernel, type GpuKernelTable, NeedsHost } from '../../backends/webgpu/backend.js';
import type { ShaderVariant } from '../../backends/webgpu/shaders.js';
import type { DecoderLayerAttrs } from './decoder.js';

const decoderLayer: GpuKernel<DecoderLayerAttrs> = () => {
  throw new NeedsHost('decoderLayer is the native decoding path; the model runs separate ops on WebGPU');
};

export const gpuKernels: GpuKernelTable = { decoderLayer };

/** No shaders: the layer runs on the host here. */
export function gpuVariants(): ShaderVariant[] {
  return [];
}
