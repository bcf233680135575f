/**
 * WebGPU kernels for reductions: one thread per output walks its reduced block through
 * strides (no transpose, no barriers: fine on CPU-emulated adapters; a workgroup-parallel
 * variant for long rows on real GPUs is future work). f16 accumulates in f32.
 */
import type { GpuKernel, GpuKernelTable, GpuStorage, WebGPUBackend, WideType } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { collapse } from '../../backends/webgpu/strides.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { KernelTensor, TensorInfo } from '../../core/backend.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import type { ArgAttrs, ReduceAttrs, VarianceAttrs } from './reduce.js';

const REDUCE = wgsl(new URL('./reduce.wgsl', import.meta.url));
const ARG = wgsl(new URL('./arg.wgsl', import.meta.url));

type OnePass = 'sum' | 'mean' | 'prod' | 'max' | 'min';

interface Fold {
  readonly start: string;
  readonly step: string;
  readonly finish: string;
  readonly empty: string;
}

const FOLDS: Record<OnePass, Fold> = {
  sum: { start: 'return A(v);', step: 'return acc + A(v);', finish: 'return T(acc);', empty: 'return T(0);' },
  mean: {
    start: 'return A(v);',
    step: 'return acc + A(v);',
    finish: 'return T(acc / A(count));',
    empty: 'return T(0);',
  },
  prod: { start: 'return A(v);', step: 'return acc * A(v);', finish: 'return T(acc);', empty: 'return T(1);' },
  max: {
    start: 'return A(v);',
    step: 'return select(acc, A(v), A(v) > acc || v != v);',
    finish: 'return T(acc);',
    empty: 'return T(0);',
  },
  min: {
    start: 'return A(v);',
    step: 'return select(acc, A(v), A(v) < acc || v != v);',
    finish: 'return T(acc);',
    empty: 'return T(0);',
  },
};

function foldVariant(name: OnePass, type: WideType): ShaderVariant {
  const f = FOLDS[name];
  // A constant NaN is a shader-creation error: the mean of nothing is NaN through a var.
  const empty = name === 'mean' ? 'var nan = 0x7fc00000u; return bitcast<T>(nan);' : f.empty;
  return {
    shader: REDUCE,
    entry: 'fold',
    params: {
      T: `alias T = ${type};`,
      A: `alias A = ${type};`,
      START: `fn start(v: T) -> A { ${f.start} }`,
      STEP: `fn step(acc: A, v: T) -> A { ${f.step} }`,
      FINISH: `fn finish(acc: A, count: u32) -> T { ${f.finish} }`,
      EMPTY: `fn empty() -> T { ${empty} }`,
    },
  };
}

/**
 * Kept and reduced axes of a row-major tensor, each merged where contiguous. Every entry
 * point gets the whole block (correction included): 'auto' pipeline layouts size the
 * uniform binding by reduce.wgsl's struct.
 */
function reduceUniforms(
  shape: readonly number[],
  axes: readonly number[],
  outputs: number,
  correction: number,
): Uniforms {
  const strides = contiguousStrides(shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const k = collapse(
    kept.map((i) => shape[i]),
    [kept.map((i) => strides[i])],
  );
  const r = collapse(
    axes.map((i) => shape[i]),
    [axes.map((i) => strides[i])],
  );
  const count = sizeOf(axes.map((i) => shape[i]));
  return new Uniforms()
    .u32(outputs, k.shape.length, r.shape.length, count)
    .u32Array(k.shape)
    .u32Array(k.strides[0])
    .u32Array(r.shape)
    .u32Array(r.strides[0])
    .f32(correction, 0, 0, 0);
}

function run(
  gpu: WebGPUBackend,
  x: KernelTensor<GpuStorage>,
  out: TensorInfo,
  axes: readonly number[],
  variant: (type: WideType) => ShaderVariant,
  correction = 0,
): GpuStorage[] {
  const src = gpu.wide(x);
  const y = gpu.output(out);
  const uniforms = reduceUniforms(x.shape, axes, y.size, correction);
  gpu.dispatch({ ...variant(src.type), uniforms, bindings: [src.buffer, y.buffer], threads: y.size });
  return [y.finish()];
}

function onePass(name: OnePass): GpuKernel<ReduceAttrs> {
  return ([x], { axes }, [out], gpu) => run(gpu, x, out, axes, (t) => foldVariant(name, t));
}

const logsumexp: GpuKernel<ReduceAttrs> = ([x], { axes }, [out], gpu) =>
  run(gpu, x, out, axes, () => ({ shader: REDUCE, entry: 'logsumexp' }));

const variance: GpuKernel<VarianceAttrs> = ([x], { axes, correction }, [out], gpu) =>
  run(gpu, x, out, axes, () => ({ shader: REDUCE, entry: 'variance' }), correction);

function argVariant(type: WideType, better: '>' | '<'): ShaderVariant {
  return {
    shader: ARG,
    params: { T: `alias T = ${type};`, BETTER: `fn better(a: T, b: T) -> bool { return a ${better} b; }` },
  };
}

function argKernel(better: '>' | '<'): GpuKernel<ArgAttrs> {
  return ([x], { axis }, [out], gpu) => {
    const src = gpu.wide(x);
    const y = gpu.output(out);
    const strides = contiguousStrides(x.shape);
    const kept = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const k = collapse(
      kept.map((i) => x.shape[i]),
      [kept.map((i) => strides[i])],
    );
    gpu.dispatch({
      ...argVariant(src.type, better),
      uniforms: new Uniforms()
        .u32(y.size, k.shape.length, x.shape[axis], strides[axis])
        .u32Array(k.shape)
        .u32Array(k.strides[0]),
      bindings: [src.buffer, y.buffer],
      threads: y.size,
    });
    return [y.finish()];
  };
}

export const gpuKernels: GpuKernelTable = {
  sum: onePass('sum'),
  mean: onePass('mean'),
  prod: onePass('prod'),
  max: onePass('max'),
  min: onePass('min'),
  logsumexp,
  variance,
  argmax: argKernel('>'),
  argmin: argKernel('<'),
};

export function gpuVariants(): ShaderVariant[] {
  const out: ShaderVariant[] = [];
  for (const t of ['f32', 'i32'] as const) {
    for (const name of Object.keys(FOLDS) as OnePass[]) out.push(foldVariant(name, t));
    out.push(argVariant(t, '>'), argVariant(t, '<'));
  }
  out.push({ shader: REDUCE, entry: 'logsumexp' }, { shader: REDUCE, entry: 'variance' });
  return out;
}
