/** Reference kernels for reductions: move reduced axes last, then fold each contiguous block. */
import { sizeOf } from '../../core/shape.js';
import {
  allocOutput,
  type HostData,
  type HostTensor,
  permuteHost,
  type RefKernel,
  type RefKernelTable,
} from '../host.js';
import type { ArgAttrs, ReduceAttrs, VarianceAttrs } from './reduce.js';

/** The input as [outer, reduced] blocks: kept axes first (in order), reduced axes last. */
function blocks(x: HostTensor, axes: readonly number[]): { data: HostData; outer: number; inner: number } {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const identity = perm.every((p, i) => p === i);
  const data = identity ? x.data : permuteHost(x.data, x.shape, perm);
  const inner = sizeOf(axes.map((a) => x.shape[a]));
  const outer = inner === 0 ? sizeOf(kept.map((a) => x.shape[a])) : data.length / inner;
  return { data, outer, inner };
}

type Fold = (data: HostData, start: number, n: number) => number;

const folds: Record<string, Fold> = {
  sum: (d, s, n) => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += d[s + i];
    return acc;
  },
  mean: (d, s, n) => folds.sum(d, s, n) / n,
  prod: (d, s, n) => {
    let acc = 1;
    for (let i = 0; i < n; i++) acc *= d[s + i];
    return acc;
  },
  max: (d, s, n) => {
    let acc = d[s];
    for (let i = 1; i < n; i++) if (d[s + i] > acc || Number.isNaN(d[s + i])) acc = d[s + i];
    return acc;
  },
  min: (d, s, n) => {
    let acc = d[s];
    for (let i = 1; i < n; i++) if (d[s + i] < acc || Number.isNaN(d[s + i])) acc = d[s + i];
    return acc;
  },
  logsumexp: (d, s, n) => {
    const m = folds.max(d, s, n);
    if (!Number.isFinite(m)) return n === 0 ? Number.NEGATIVE_INFINITY : m;
    let acc = 0;
    for (let i = 0; i < n; i++) acc += Math.exp(d[s + i] - m);
    return m + Math.log(acc);
  },
};

function reduceKernel(fold: Fold): RefKernel<ReduceAttrs> {
  return ([x], { axes }, [out]) => {
    const y = allocOutput(out);
    const { data, outer, inner } = blocks(x, axes);
    for (let o = 0; o < outer; o++) y[o] = fold(data, o * inner, inner);
    return [y];
  };
}

/** Two-pass variance: the mean first, then squared deviations (stable for large offsets). */
const variance: RefKernel<VarianceAttrs> = ([x], { axes, correction }, [out]) => {
  const y = allocOutput(out);
  const { data, outer, inner } = blocks(x, axes);
  for (let o = 0; o < outer; o++) {
    const m = folds.mean(data, o * inner, inner);
    let acc = 0;
    for (let i = 0; i < inner; i++) acc += (data[o * inner + i] - m) ** 2;
    y[o] = acc / Math.max(inner - correction, 0);
  }
  return [y];
};

function argKernel(better: (a: number, b: number) => boolean): RefKernel<ArgAttrs> {
  return ([x], { axis }, [out]) => {
    const y = allocOutput(out);
    const { data, outer, inner } = blocks(x, [axis]);
    for (let o = 0; o < outer; o++) {
      let best = 0;
      for (let i = 1; i < inner; i++) {
        const v = data[o * inner + i];
        const b = data[o * inner + best];
        if (!Number.isNaN(b) && (Number.isNaN(v) || better(v, b))) best = i;
      }
      y[o] = best;
    }
    return [y];
  };
}

export const refKernels: RefKernelTable = {
  ...Object.fromEntries(Object.entries(folds).map(([name, fold]) => [name, reduceKernel(fold)])),
  variance,
  argmax: argKernel((a, b) => a > b),
  argmin: argKernel((a, b) => a < b),
};
