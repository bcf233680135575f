/**
 * wasm reductions (kernels/reduce/wasm.as): the reduced axes are brought to one of two layouts,
 * rows [outer, r] or columns [outer, r, inner], after dropping size-1 axes and merging
 * neighbours; any other pattern is first permuted (reduced axes last) by a strided copy.
 * f32 only (f16 widened), plus i32 for argmax/argmin; other integer reductions, which the
 * reference defines through doubles, run the reference.
 */
import { stridedCopy } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import type { RefKernel } from '../host.js';
import type { ArgAttrs, ReduceAttrs, VarianceAttrs } from './reduce.js';
import { refKernels } from './ref.js';

const OPS = { sum: 0, mean: 1, max: 2, min: 3, prod: 4, logsumexp: 5, variance: 6, argmax: 7, argmin: 8 } as const;
type ReduceOp = keyof typeof OPS;

/** Most columns per unit of the column layout (COL_BLOCK in wasm.as: its scratch accumulators). */
const COL_BLOCK = 512;

/** Columns per unit: up to COL_BLOCK, smaller (a multiple of 4) so a few rows still make eight units or more. */
export function columnBlock(outer: number, inner: number): number {
  const wanted = Math.ceil((outer * inner) / 8);
  return Math.max(4, Math.min(COL_BLOCK, Math.ceil(Math.min(wanted, inner) / 4) * 4));
}

export type ReduceLayout =
  | { readonly kind: 'rows'; readonly outer: number; readonly r: number }
  | { readonly kind: 'cols'; readonly outer: number; readonly r: number; readonly inner: number }
  | { readonly kind: 'permute'; readonly perm: number[]; readonly outer: number; readonly r: number };

/** How a reduction over `axes` of `shape` runs (exported for tests). */
export function reduceLayout(shape: readonly number[], axes: readonly number[]): ReduceLayout {
  const r = sizeOf(axes.map((a) => shape[a]));
  const outer = r === 0 ? sizeOf(shape.filter((_, i) => !axes.includes(i))) : sizeOf(shape) / r;
  const segments: { reduced: boolean; size: number }[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.includes(i);
    const last = segments[segments.length - 1];
    if (last && last.reduced === reduced) last.size *= d;
    else segments.push({ reduced, size: d });
  });
  const pattern = segments.map((s) => (s.reduced ? 'R' : 'K')).join('');
  if (pattern === '' || pattern === 'R' || pattern === 'K' || pattern === 'KR') return { kind: 'rows', outer, r };
  if (pattern === 'RK') return { kind: 'cols', outer: 1, r, inner: segments[1].size };
  if (pattern === 'KRK') return { kind: 'cols', outer: segments[0].size, r, inner: segments[2].size };
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return { kind: 'permute', perm: [...kept, ...axes], outer, r };
}

function runReduce(
  rt: WasmRuntime,
  op: ReduceOp,
  x: WasmTensor,
  y: WasmTensor,
  axes: readonly number[],
  correction: number,
): void {
  if (y.size === 0) return;
  const code = OPS[op];
  const isInt = x.dtype === 'i32' ? 1 : 0;
  const layout = reduceLayout(x.shape, axes);
  const cost = op === 'logsumexp' ? 2 : 0.5;
  if (layout.kind === 'cols') {
    const block = columnBlock(layout.outer, layout.inner);
    const blocks = Math.ceil(layout.inner / block);
    const args = [code, isInt, x.ptr, y.ptr, layout.r, layout.inner, block, correction];
    rt.run('reduce_cols', args, layout.outer * blocks, layout.r * Math.min(layout.inner, block) * cost);
    return;
  }
  let src = x.ptr;
  let temp = 0;
  if (layout.kind === 'permute') {
    temp = rt.alloc(x.size * 4);
    const strides = contiguousStrides(x.shape);
    stridedCopy(
      rt,
      x.ptr,
      temp,
      4,
      layout.perm.map((p) => x.shape[p]),
      layout.perm.map((p) => strides[p]),
      0,
    );
    src = temp;
  }
  try {
    rt.run('reduce_rows', [code, isInt, src, y.ptr, layout.r, correction], layout.outer, layout.r * cost + 20);
  } finally {
    if (temp) rt.free(temp);
  }
}

function reduceKernel(op: Exclude<ReduceOp, 'variance' | 'argmax' | 'argmin'>) {
  return wasmKernel<ReduceAttrs>({
    op,
    ref: refKernels[op] as RefKernel<ReduceAttrs>,
    run: (rt, [x], { axes }, [y]) => runReduce(rt, op, x, y, axes, 0),
  });
}

const variance = wasmKernel<VarianceAttrs>({
  op: 'variance',
  ref: refKernels.variance,
  run: (rt, [x], { axes, correction }, [y]) => runReduce(rt, 'variance', x, y, axes, correction),
});

function argKernel(op: 'argmax' | 'argmin') {
  return wasmKernel<ArgAttrs>({
    op,
    ref: refKernels[op],
    accepts: ([x]) => x.dtype === 'f32' || x.dtype === 'i32',
    run: (rt, [x], { axis }, [y]) => runReduce(rt, op, x, y, [axis], 0),
  });
}

export const wasmKernels = kernelTable({
  sum: reduceKernel('sum'),
  mean: reduceKernel('mean'),
  max: reduceKernel('max'),
  min: reduceKernel('min'),
  prod: reduceKernel('prod'),
  logsumexp: reduceKernel('logsumexp'),
  variance,
  argmax: argKernel('argmax'),
  argmin: argKernel('argmin'),
});
