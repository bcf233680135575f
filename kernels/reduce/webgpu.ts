/**
 * WebGPU kernels for reductions: each output's reduced block is walked through strides (no
 * transpose), by one thread (barrier-free: CPU-emulated adapters run barriers 10-20× slower)
 * or, for long blocks, by a workgroup of 256 (the `_wide` entries, tree-combined in workgroup
 * memory). `workgroupPerLine` decides; softmax uses it too. f16 accumulates in f32.
 */
import type { GpuKernel, GpuKernelTable, GpuStorage, WebGPUBackend, WideType } from '../../backends/webgpu/backend.js';
import { lineGroups, workgroupPerLine } from '../../backends/webgpu/lines.js';
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

/** How `_wide` merges two threads' accumulators (NaN wins for max and min, as in `step`). */
const COMBINE: Record<OnePass, string> = {
  sum: 'return a + b;',
  mean: 'return a + b;',
  prod: 'return a * b;',
  max: 'return select(a, b, b > a || b != b);',
  min: 'return select(a, b, b < a || b != b);',
};

function foldVariant(name: OnePass, type: WideType, wide: boolean): ShaderVariant {
  const f = FOLDS[name];
  // A constant NaN is a shader-creation error: the mean of nothing is NaN through a var.
  const empty = name === 'mean' ? 'var nan = 0x7fc00000u; return bitcast<T>(nan);' : f.empty;
  return {
    shader: REDUCE,
    entry: wide ? 'fold_wide' : 'fold',
    params: {
      T: `alias T = ${type};`,
      A: `alias A = ${type};`,
      START: `fn start(v: T) -> A { ${f.start} }`,
      STEP: `fn step(acc: A, v: T) -> A { ${f.step} }`,
      FINISH: `fn finish(acc: A, count: u32) -> T { ${f.finish} }`,
      EMPTY: `fn empty() -> T { ${empty} }`,
      COMBINE: `fn combine(a: A, b: A) -> A { ${COMBINE[name]} }`,
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
): { uniforms: Uniforms; count: number; contiguous: boolean } {
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
  const uniforms = new Uniforms()
    .u32(outputs, k.shape.length, r.shape.length, count)
    .u32Array(k.shape)
    .u32Array(k.strides[0])
    .u32Array(r.shape)
    .u32Array(r.strides[0])
    .f32(correction, 0, 0, 0);
  return { uniforms, count, contiguous: r.strides[0].length === 0 || r.strides[0][r.strides[0].length - 1] === 1 };
}

function run(
  gpu: WebGPUBackend,
  x: KernelTensor<GpuStorage>,
  out: TensorInfo,
  axes: readonly number[],
  variant: (type: WideType, wide: boolean) => ShaderVariant,
  correction = 0,
): GpuStorage[] {
  const src = gpu.wide(x);
  const y = gpu.output(out);
  const { uniforms, count, contiguous } = reduceUniforms(x.shape, axes, y.size, correction);
  const wide = workgroupPerLine(count, y.size, contiguous);
  gpu.dispatch({
    ...variant(src.type, wide),
    uniforms,
    bindings: [src.buffer, y.buffer],
    ...(wide ? { workgroups: lineGroups(y.size) } : { threads: y.size }),
  });
  return [y.finish()];
}

function onePass(name: OnePass): GpuKernel<ReduceAttrs> {
  return ([x], { axes }, [out], gpu) => run(gpu, x, out, axes, (t, wide) => foldVariant(name, t, wide));
}

const logsumexp: GpuKernel<ReduceAttrs> = ([x], { axes }, [out], gpu) =>
  run(gpu, x, out, axes, (_, wide) => ({ shader: REDUCE, entry: wide ? 'logsumexp_wide' : 'logsumexp' }));

const variance: GpuKernel<VarianceAttrs> = ([x], { axes, correction }, [out], gpu) =>
  run(gpu, x, out, axes, (_, wide) => ({ shader: REDUCE, entry: wide ? 'variance_wide' : 'variance' }), correction);

function argVariant(type: WideType, better: '>' | '<', wide: boolean): ShaderVariant {
  return {
    shader: ARG,
    ...(wide ? { entry: 'wide' } : {}),
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
    const count = x.shape[axis];
    const wide = workgroupPerLine(count, y.size, strides[axis] === 1);
    gpu.dispatch({
      ...argVariant(src.type, better, wide),
      uniforms: new Uniforms()
        .u32(y.size, k.shape.length, count, strides[axis])
        .u32Array(k.shape)
        .u32Array(k.strides[0]),
      bindings: [src.buffer, y.buffer],
      ...(wide ? { workgroups: lineGroups(y.size) } : { threads: y.size }),
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
    for (const wide of [false, true]) {
      for (const name of Object.keys(FOLDS) as OnePass[]) out.push(foldVariant(name, t, wide));
      out.push(argVariant(t, '>', wide), argVariant(t, '<', wide));
    }
  }
  for (const entry of ['logsumexp', 'variance'])
    out.push({ shader: REDUCE, entry }, { shader: REDUCE, entry: `${entry}_wide` });
  return out;
}
