/**
 * WebGPU kernels for the layout family. Copies move raw 32-bit elements (16- and 8-bit
 * dtypes are widened to their bits and packed again); the two gradient kernels that add values
 * (scatterAdd, padGrad) compute in f32 or i32.
 */
import {
  type GpuKernel,
  type GpuKernelTable,
  type GpuStorage,
  NeedsHost,
  registerStatus,
  type WebGPUBackend,
} from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { MAX_RANK, Uniforms } from '../../backends/webgpu/uniforms.js';
import type { KernelTensor } from '../../core/backend.js';
import { elementBits } from '../../core/dtype.js';
import { ShapeError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import type { ConcatAttrs, GatherAttrs, PadAttrs, SliceAttrs } from './layout.js';

const CONCAT = wgsl(new URL('./concat.wgsl', import.meta.url));
const GATHER = wgsl(new URL('./gather.wgsl', import.meta.url));
const SCATTER_ADD = wgsl(new URL('./scatter_add.wgsl', import.meta.url));
const SLICE_SCATTER = wgsl(new URL('./slice_scatter.wgsl', import.meta.url));
const PAD = wgsl(new URL('./pad.wgsl', import.meta.url));

const GATHER_RANGE = registerStatus(
  (index, dim, axis) => `gather: index ${index | 0} is out of range for axis ${axis} of size ${dim}`,
);

interface ScatterAttrs extends GatherAttrs {
  readonly inputShape: readonly number[];
}

interface SliceScatterAttrs extends SliceAttrs {
  readonly inputShape: readonly number[];
}

interface PadGradAttrs extends PadAttrs {
  readonly inputShape: readonly number[];
}

const PAD_MODES = { constant: 0, reflect: 1, edge: 2 } as const;

function rankCheck(op: string, rank: number): void {
  if (rank > MAX_RANK) throw new NeedsHost(`${op} of rank ${rank} exceeds ${MAX_RANK}`);
}

const copy: GpuKernel<unknown> = ([x], _attrs, [out], gpu) => {
  const s = gpu.alloc(out);
  if (x.storage.byteLength > 0) gpu.copy(x.storage.buffer!, 0, s.buffer!, 0, Math.ceil(x.storage.byteLength / 4) * 4);
  return [s];
};

const concat: GpuKernel<ConcatAttrs> = (inputs, { axis }, [out], gpu) => {
  const y = gpu.output(out, 'raw');
  const inner = sizeOf(out.shape.slice(axis + 1));
  const outRow = out.shape[axis] * inner;
  let col = 0;
  for (const t of inputs) {
    const row = t.shape[axis] * inner;
    const n = sizeOf(t.shape);
    if (n > 0) {
      const x = gpu.wide(t, 'raw');
      gpu.dispatch({
        shader: CONCAT,
        uniforms: new Uniforms().u32(n, row, outRow, col),
        bindings: [x.buffer, y.buffer],
        threads: n,
      });
    }
    col += row;
  }
  return [y.finish()];
};

/**
 * Indices the host knows (uploaded ids) are checked at the call, as the reference does;
 * indices computed on the GPU get a single-thread check pass whose error the next read throws.
 */
function checkIndices(
  gpu: WebGPUBackend,
  indices: KernelTensor<GpuStorage>,
  idx: GPUBuffer,
  dim: number,
  axis: number,
): void {
  const host = gpu.hostData(indices.storage);
  if (host) {
    for (const i of host) {
      if (i < -dim || i >= dim) {
        throw new ShapeError(`gather: index ${i} is out of range for axis ${axis} of size ${dim}`);
      }
    }
    return;
  }
  gpu.dispatch({
    shader: GATHER,
    entry: 'check',
    uniforms: new Uniforms().u32(0, dim, sizeOf(indices.shape), 1, GATHER_RANGE, axis, 0, 0),
    bindings: [null, idx, null, gpu.statusBuffer],
    workgroups: [1],
  });
}

function gatherDims(shape: readonly number[], axis: number) {
  return { dim: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

const gather: GpuKernel<GatherAttrs> = ([x, indices], { axis }, [out], gpu) => {
  const { dim, inner } = gatherDims(x.shape, axis);
  const count = sizeOf(indices.shape);
  const idx = gpu.wide(indices);
  checkIndices(gpu, indices, idx.buffer, dim, axis);
  const src = gpu.wide(x, 'raw');
  const y = gpu.output(out, 'raw');
  gpu.dispatch({
    shader: GATHER,
    uniforms: new Uniforms().u32(y.size, dim, count, inner, GATHER_RANGE, axis, 0, 0),
    bindings: [src.buffer, idx.buffer, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

function scatterVariant(type: string): ShaderVariant {
  return { shader: SCATTER_ADD, params: { T: `alias T = ${type};` } };
}

const scatterAdd: GpuKernel<ScatterAttrs> = ([g, indices], { axis, inputShape }, [out], gpu) => {
  const { dim, inner } = gatherDims(inputShape, axis);
  const count = sizeOf(indices.shape);
  const idx = gpu.wide(indices);
  checkIndices(gpu, indices, idx.buffer, dim, axis);
  const src = gpu.wide(g);
  const y = gpu.output(out);
  gpu.dispatch({
    ...scatterVariant(src.type),
    uniforms: new Uniforms().u32(y.size, dim, count, inner, GATHER_RANGE, axis, 0, 0),
    bindings: [src.buffer, idx.buffer, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

const sliceScatter: GpuKernel<SliceScatterAttrs> = ([g], { begin, size, step, inputShape }, [out], gpu) => {
  rankCheck('sliceScatter', inputShape.length);
  const src = gpu.wide(g, 'raw');
  const y = gpu.output(out, 'raw');
  gpu.dispatch({
    shader: SLICE_SCATTER,
    uniforms: new Uniforms()
      .u32(y.size, inputShape.length, 0, 0)
      .u32Array(inputShape)
      .u32Array(begin)
      .u32Array(step, MAX_RANK, 1)
      .u32Array(size),
    bindings: [src.buffer, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

function padVariant(entry: 'pad' | 'pad_grad', type: string): ShaderVariant {
  return { shader: PAD, entry, params: { T: `alias T = ${type};` } };
}

function padUniforms(
  n: number,
  inShape: readonly number[],
  outShape: readonly number[],
  attrs: PadAttrs,
  value: number,
) {
  return new Uniforms()
    .u32(n, inShape.length, PAD_MODES[attrs.mode], value)
    .u32Array(inShape)
    .u32Array(outShape)
    .u32Array(attrs.pads.map(([b]) => b));
}

const pad: GpuKernel<PadAttrs> = ([x], attrs, [out], gpu) => {
  rankCheck('pad', x.shape.length);
  if (x.dtype === 'f64') throw new NeedsHost('pad of f64');
  const value = elementBits(attrs.value, x.dtype);
  const src = gpu.wide(x, 'raw');
  const y = gpu.output(out, 'raw');
  gpu.dispatch({
    ...padVariant('pad', 'u32'),
    uniforms: padUniforms(y.size, x.shape, out.shape, attrs, value),
    bindings: [src.buffer, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

const padGrad: GpuKernel<PadGradAttrs> = ([g], attrs, [out], gpu) => {
  rankCheck('padGrad', out.shape.length);
  const src = gpu.wide(g);
  const y = gpu.output(out);
  gpu.dispatch({
    ...padVariant('pad_grad', src.type),
    uniforms: padUniforms(y.size, attrs.inputShape, g.shape, attrs, 0),
    bindings: [src.buffer, y.buffer],
    threads: y.size,
  });
  return [y.finish()];
};

export const gpuKernels: GpuKernelTable = { copy, concat, gather, scatterAdd, sliceScatter, pad, padGrad };

export function gpuVariants(): ShaderVariant[] {
  return [
    { shader: CONCAT },
    { shader: GATHER },
    { shader: GATHER, entry: 'check' },
    { shader: SLICE_SCATTER },
    scatterVariant('f32'),
    scatterVariant('i32'),
    padVariant('pad', 'u32'),
    padVariant('pad_grad', 'f32'),
    padVariant('pad_grad', 'i32'),
  ];
}
