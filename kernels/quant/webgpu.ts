/**
 * WebGPU MLX affine quantization: quantize (quantize.wgsl, a thread per group, divisions
 * correctly rounded so the words match the CPU bit for bit), and quant.wgsl for the rest:
 * dequantize and the embedding (a thread per element), the quantized matmul (a thread per
 * output, or on real GPUs a workgroup per output when rows are long: backends/webgpu/lines.ts). Scales
 * and biases in f16/bf16 are widened to f32 and narrowed back around the kernels. Not tiled:
 * correct everywhere, speed unmeasured on a real GPU.
 */
import {
  type GpuKernel,
  type GpuKernelTable,
  type GpuStorage,
  registerStatus,
  type WebGPUBackend,
} from '../../backends/webgpu/backend.js';
import { lineGroups, workgroupPerLine } from '../../backends/webgpu/lines.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { KernelTensor } from '../../core/backend.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import type { QuantAttrs, QuantizedMatmulAttrs } from './quant.js';
import { idRangeMessage, nonFiniteMessage } from './ref.js';

const QUANTIZE = wgsl(new URL('./quantize.wgsl', import.meta.url));
const QUANT = wgsl(new URL('./quant.wgsl', import.meta.url));

const NON_FINITE = registerStatus((index, bits) =>
  nonFiniteMessage(index, new Float32Array(Uint32Array.of(bits).buffer)[0]),
);
const ID_RANGE = registerStatus((id, vocab) => idRangeMessage(id | 0, vocab));

/** Throws now, as the reference would, when the host already holds the input (an upload). */
function hostCheck(gpu: WebGPUBackend, t: KernelTensor<GpuStorage>, check: (data: ArrayLike<number>) => void): void {
  const host = gpu.hostData(t.storage);
  if (host) check(host);
}

const quantize: GpuKernel<QuantAttrs> = ([w], { bits, groupSize }, [wqInfo, sInfo, bInfo], gpu) => {
  const src = gpu.wide(w);
  if (w.dtype === 'f32') {
    hostCheck(gpu, w, (data) => {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new DTypeError(nonFiniteMessage(i, data[i]));
      }
    });
  }
  const words = gpu.alloc(wqInfo);
  const scales = gpu.output(sInfo);
  const biases = gpu.output(bInfo);
  const groups = sizeOf(sInfo.shape);
  gpu.dispatch({
    shader: QUANTIZE,
    uniforms: new Uniforms().u32(groups, groupSize, bits, (groupSize * bits) / 32, NON_FINITE, 0, 0, 0),
    bindings: [src.buffer, words.buffer, scales.buffer, biases.buffer, gpu.statusBuffer],
    threads: groups,
  });
  return [words, scales.finish(), biases.finish()];
};

/** quant.wgsl's uniform block. */
function quantUniforms(
  n: number,
  cols: number,
  attrs: QuantAttrs,
  extra: Partial<Record<'m' | 'k' | 'outCols' | 'transpose' | 'vocab' | 'code', number>> = {},
): Uniforms {
  const { bits, groupSize } = attrs;
  return new Uniforms()
    .u32(n, cols, (cols * bits) / 32, groupSize)
    .u32(bits, extra.m ?? 0, extra.k ?? 0, extra.outCols ?? 0)
    .u32(extra.transpose ?? 0, extra.vocab ?? 0, extra.code ?? 0, 0);
}

/** quant.wgsl's first three bindings: the words as stored, scales and biases widened to f32. */
function packedBuffers(gpu: WebGPUBackend, [wq, scales, biases]: readonly KernelTensor<GpuStorage>[]): GPUBuffer[] {
  return [wq.storage.buffer!, gpu.wide(scales).buffer, gpu.wide(biases).buffer];
}

const dequantize: GpuKernel<QuantAttrs> = (inputs, attrs, [out], gpu) => {
  const packed = packedBuffers(gpu, inputs);
  const y = gpu.output(out);
  gpu.dispatch({
    shader: QUANT,
    entry: 'dequantize',
    uniforms: quantUniforms(y.size, out.shape[out.shape.length - 1], attrs),
    bindings: [...packed, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

const quantizedEmbedding: GpuKernel<QuantAttrs> = ([wq, scales, biases, ids], attrs, [out], gpu) => {
  const vocab = wq.shape[0];
  hostCheck(gpu, ids, (data) => {
    for (const id of Array.from(data)) {
      if (id < -vocab || id >= vocab) throw new ShapeError(idRangeMessage(id, vocab));
    }
  });
  const packed = packedBuffers(gpu, [wq, scales, biases]);
  const y = gpu.output(out);
  gpu.dispatch({
    shader: QUANT,
    entry: 'embedding',
    uniforms: quantUniforms(y.size, out.shape[out.shape.length - 1], attrs, { vocab, code: ID_RANGE }),
    bindings: [...packed, y.buffer, null, ids.storage.buffer, gpu.statusBuffer],
    threads: y.size,
  });
  return [y.finish()];
};

const quantizedMatmul: GpuKernel<QuantizedMatmulAttrs> = ([x, ...weight], attrs, [out], gpu) => {
  const xs = gpu.wide(x);
  const packed = packedBuffers(gpu, weight);
  const y = gpu.output(out);
  const k = x.shape[x.shape.length - 1];
  const n = out.shape[out.shape.length - 1];
  const m = y.size / n;
  const cols = attrs.transpose ? k : n;
  // A workgroup per output (tree-folded) suits real GPUs; CPU-emulated adapters ('blocked')
  // run barriers 10-20× slower and get a thread per output.
  const wide = gpu.variant('quant') === 'tiled' && workgroupPerLine(k, y.size, true);
  gpu.dispatch({
    shader: QUANT,
    uniforms: quantUniforms(y.size, cols, attrs, { m, k, outCols: n, transpose: attrs.transpose ? 1 : 0 }),
    bindings: [...packed, y.buffer, xs.buffer],
    ...(wide ? { entry: 'tiled', workgroups: lineGroups(y.size) } : { entry: 'blocked', threads: y.size }),
  });
  return [y.finish()];
};

export const gpuKernels: GpuKernelTable = { quantize, dequantize, quantizedMatmul, quantizedEmbedding };

export function gpuVariants(): ShaderVariant[] {
  return [
    { shader: QUANTIZE },
    ...['dequantize', 'embedding', 'blocked', 'tiled'].map((entry) => ({ shader: QUANT, entry })),
  ];
}
