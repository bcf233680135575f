/**
 * WebGPU convolution kernels, entry points of conv.wgsl. conv2d has two variants (see
 * KernelVariant): 'tiled' (implicit GEMM through workgroup memory) for real GPUs and
 * 'blocked' (barrier-free 4 channels × 4 columns per thread) for CPU-emulated adapters.
 * convTranspose2d ('transpose') and conv2dWeightGrad ('weight_grad') run one output per thread.
 */
import type { GpuKernel, GpuKernelTable, KernelVariant } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import { sizeOf } from '../../core/shape.js';
import type { Conv2dAttrs, Conv2dOpAttrs, Conv2dWeightGradAttrs, ConvTranspose2dAttrs } from './conv.js';

const CONV = wgsl(new URL('./conv.wgsl', import.meta.url));

interface Geometry {
  readonly x: readonly number[];
  readonly o: number;
  readonly cg: number;
  readonly k: readonly number[];
  readonly out: readonly number[];
  readonly og: number;
}

/** Fields only conv2d reads; the gradient kernels leave them zero. */
interface Conv2dFields {
  readonly blocksO: number;
  readonly blocksW: number;
  readonly padMode: number;
}

const NO_CONV2D_FIELDS: Conv2dFields = { blocksO: 0, blocksW: 0, padMode: 0 };

/**
 * conv.wgsl's Params, whole for every entry point: 'auto' pipeline layouts size the
 * uniform binding by the struct, so a shorter block would fail validation.
 */
function params(
  g: Geometry,
  { stride, padding, dilation, groups }: Conv2dAttrs,
  hasBias: boolean,
  total: number,
  conv2d: Conv2dFields = NO_CONV2D_FIELDS,
): Uniforms {
  const [n, c, h, w] = g.x;
  return new Uniforms()
    .u32(n, c, h, w, g.o, g.cg, g.k[0], g.k[1], g.out[0], g.out[1], groups, g.og)
    .i32(stride[0], stride[1], dilation[0], dilation[1], padding[0], padding[2])
    .u32(hasBias ? 1 : 0, conv2d.blocksO, conv2d.blocksW, total, conv2d.padMode, 0);
}

/** conv.wgsl's pad_mode field: how conv2d's padding reads x (see border() there). */
function padModeCode(mode: Conv2dOpAttrs['padMode']): number {
  if (mode === undefined) return 0;
  if (mode === 'reflect') return 1;
  if (mode === 'replicate') return 2;
  throw new Error(`webgpu conv2d: unsupported padMode '${String(mode)}' (reflect, replicate)`);
}

const conv2d: GpuKernel<Conv2dOpAttrs> = (inputs, attrs, [out], gpu) => {
  const [x, w, bias] = inputs;
  const mode = padModeCode(attrs.padMode);
  const xv = gpu.wide(x);
  const wv = gpu.wide(w);
  const bv = bias ? gpu.wide(bias) : null;
  const y = gpu.output(out);
  const [n, o, oh, ow] = out.shape;
  const og = o / attrs.groups;
  const geometry = { x: x.shape, o, cg: w.shape[1], k: w.shape.slice(2), out: [oh, ow], og };
  const variant = gpu.variant('conv');
  const blocksO = Math.ceil(og / 4);
  const blocksW = Math.ceil(ow / 4);
  const total = n * attrs.groups * blocksO * oh * blocksW;
  const uniforms = params(geometry, attrs, !!bv, total, { blocksO, blocksW, padMode: mode });
  const bindings = [xv.buffer, wv.buffer, bv?.buffer ?? wv.buffer, y.buffer];
  if (variant === 'tiled') {
    gpu.dispatch({
      ...convVariant(variant),
      uniforms,
      bindings,
      workgroups: [Math.ceil((n * oh * ow) / 64), Math.ceil(og / 64), attrs.groups],
    });
  } else {
    gpu.dispatch({ ...convVariant(variant), uniforms, bindings, threads: total });
  }
  return [y.finish()];
};

const convTranspose2d: GpuKernel<ConvTranspose2dAttrs> = (inputs, attrs, [out], gpu) => {
  const [x, w, bias] = inputs;
  const xv = gpu.wide(x);
  const wv = gpu.wide(w);
  const bv = bias ? gpu.wide(bias) : null;
  const y = gpu.output(out);
  const [, o, oh, ow] = out.shape;
  const og = w.shape[1];
  // Here x is the conv output side: its channels split into groups of C/groups.
  const geometry = { x: x.shape, o, cg: x.shape[1] / attrs.groups, k: w.shape.slice(2), out: [oh, ow], og };
  gpu.dispatch({
    shader: CONV,
    entry: 'transpose',
    uniforms: params(geometry, attrs, !!bv, y.size),
    bindings: [xv.buffer, wv.buffer, bv?.buffer ?? wv.buffer, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

const conv2dWeightGrad: GpuKernel<Conv2dWeightGradAttrs> = ([x, g], attrs, [out], gpu) => {
  const xv = gpu.wide(x);
  const gv = gpu.wide(g);
  const y = gpu.output(out);
  const [, o, oh, ow] = g.shape;
  const geometry = { x: x.shape, o, cg: out.shape[1], k: out.shape.slice(2), out: [oh, ow], og: o / attrs.groups };
  gpu.dispatch({
    shader: CONV,
    entry: 'weight_grad',
    uniforms: params(geometry, attrs, false, sizeOf(out.shape)),
    bindings: [xv.buffer, gv.buffer, null, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

export const gpuKernels: GpuKernelTable = { conv2d, convTranspose2d, conv2dWeightGrad };

export function convVariant(variant: KernelVariant): ShaderVariant {
  return { shader: CONV, entry: variant };
}

export function gpuVariants(): ShaderVariant[] {
  return [
    convVariant('tiled'),
    convVariant('blocked'),
    { shader: CONV, entry: 'transpose' },
    { shader: CONV, entry: 'weight_grad' },
  ];
}
