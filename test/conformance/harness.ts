/**
 * The conformance harness: one table of cases per op family (cases/<family>.ts),
 * run on every available backend against the oracle — the same case evaluated by
 * the js reference kernels in f64 on the same (dtype-rounded) inputs.
 */
import * as T from '../../index.js';

export type InputKind =
  /** standard normal */
  | 'normal'
  /** uniform in `range` (default [0.5, 2]): logs, square roots, divisors */
  | 'positive'
  /** uniform in `range` */
  | 'uniform'
  /** integers in [range[0], range[1]) */
  | 'int'
  /** 0/1 as u8 */
  | 'mask';

/** How the op sees the input: a plain tensor or a strided view with the same values. */
export type Layout = 'contiguous' | 'transposed' | 'sliced' | 'expanded';

export interface InputSpec {
  readonly shape: readonly number[];
  readonly kind?: InputKind;
  /** Fixed dtype; omitted means the case's float dtype (f32, f16, bf16, or f64 for the oracle). */
  readonly dtype?: T.DType;
  readonly range?: readonly [number, number];
  readonly layout?: Layout;
}

export interface OpCase {
  readonly name: string;
  readonly inputs: readonly InputSpec[];
  /**
   * The op under test, called on fresh inputs. Not wrapped in tidy(), so an op that
   * leaks its own intermediates fails; a case composing several ops tidies itself.
   */
  readonly run: (inputs: T.Tensor[]) => T.Tensor | T.Tensor[];
  /** Float dtypes to try (default f32 and f16; BF16 adds bf16). */
  readonly dtypes?: readonly T.DType[];
  /**
   * Tolerance per dtype where the default is too tight for this case, with the reason beside it
   * (accumulation over many terms, results near 0 by cancellation, f16 intermediates).
   */
  readonly tol?: Partial<Record<T.DType, Tolerance>>;
  /** Check gradients against central finite differences in f64 (default false). */
  readonly grad?: boolean;
  /** Expect this error (message regex) instead of a value, on every backend. */
  readonly throws?: RegExp;
}

/** The float dtypes of a case that also runs in bf16 (a representative subset of float ops does). */
export const BF16: readonly T.DType[] = ['f32', 'f16', 'bf16'];

/** Element-wise agreement: |got − want| ≤ atol + rtol·|want| for every element. */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/**
 * Per-dtype defaults, about what one correctly rounded result allows: f32 some tens of ulps
 * (rtol 2e-5; atol 2e-6 for results that land near 0), f16 two ulps (rtol 2e-3; atol 1e-4).
 * bf16 (8 significant bits) about two of its ulps. Integers and masks must match exactly.
 */
export const DEFAULT_TOL: Record<T.DType, Tolerance> = {
  f64: { rtol: 1e-12, atol: 1e-12 },
  f32: { rtol: 2e-5, atol: 2e-6 },
  f16: { rtol: 2e-3, atol: 1e-4 },
  // 8 significant bits: one rounding is 2^-9 relative; a composite op rounds a few times
  bf16: { rtol: 1.6e-2, atol: 1e-3 },
  i32: { rtol: 0, atol: 0 },
  u8: { rtol: 0, atol: 0 },
  i8: { rtol: 0, atol: 0 },
  u32: { rtol: 0, atol: 0 },
};

/**
 * The f32 tolerance of outputs that each sum `terms` products of unit-scale inputs (matmul,
 * conv): the kernel adds them in another order than the oracle, and each addition rounds by up
 * to half an ulp of a partial sum of size about √terms, so the absolute error grows with the
 * count: atol = 1e-7·terms (6.3e-5 for a 70-channel 3×3 convolution's 630 terms).
 */
export function sumOfTerms(terms: number): Partial<Record<T.DType, Tolerance>> {
  return { f32: { rtol: DEFAULT_TOL.f32.rtol, atol: 1e-7 * terms } };
}

/**
 * f32 outputs normalised around a large common offset (values near 100): a kernel that adds the
 * mean up in f32 (WebGPU has no f64) leaves it off by up to an ulp of 100 (7.6e-6), and every
 * (x − mean)/σ inherits that, over σ ≈ 0.6.
 */
export const LARGE_OFFSET: Partial<Record<T.DType, Tolerance>> = { f32: { rtol: 2e-5, atol: 2e-5 } };

/** The tolerance for output `out` of case `c` run in float dtype `dtype`: exact for integer and mask outputs. */
export function toleranceFor(c: OpCase, dtype: T.DType, out: T.DType): Tolerance {
  if (!T.isFloat(out)) return DEFAULT_TOL[out];
  return c.tol?.[dtype] ?? DEFAULT_TOL[dtype];
}

/** Host values for one input, already rounded to what the dtype can hold. */
export function hostValues(spec: InputSpec, dtype: T.DType, rng: T.Rng): number[] {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const kind = spec.kind ?? (T.isFloat(dtype) ? 'normal' : dtype === 'u8' ? 'mask' : 'int');
  const [lo, hi] = spec.range ?? (kind === 'int' ? [-5, 6] : kind === 'positive' ? [0.5, 2] : [-1, 1]);
  const values = Array.from({ length: n }, () => {
    switch (kind) {
      case 'normal':
        return rng.normal();
      case 'positive':
      case 'uniform':
        return lo + (hi - lo) * rng.uniform();
      case 'int':
        return lo + rng.int(hi - lo);
      // 'mask'
      default:
        return rng.int(2);
    }
  });
  if (T.isHalf(dtype)) return Array.from(T.widenHalf(T.narrowHalf(values, dtype), dtype));
  if (dtype === 'f32') return Array.from(new Float32Array(values));
  return values;
}

/** Make a tensor with these values, laid out as asked (a view with identical values). */
export function makeInput(
  values: readonly number[],
  shape: readonly number[],
  dtype: T.DType,
  layout: Layout,
): T.Tensor {
  const rank = shape.length;
  if (layout === 'transposed' && rank >= 2) {
    const swapped = [...shape];
    [swapped[rank - 2], swapped[rank - 1]] = [swapped[rank - 1], swapped[rank - 2]];
    return T.tidy(() => T.transpose(T.contiguous(T.transpose(T.tensor(values as number[], shape, dtype)))));
  }
  if (layout === 'sliced' && rank >= 1) {
    // Interleave junk so the op must honour a stride of 2 and an offset of 1.
    const last = shape[rank - 1];
    const wide = [...shape.slice(0, -1), last * 2 + 1];
    const data: number[] = [];
    for (let i = 0; i < values.length / Math.max(last, 1); i++) {
      data.push(9999);
      for (let j = 0; j < last; j++) data.push(values[i * last + j], -9999);
    }
    const spec = shape.map(() => ({}) as T.SliceSpec);
    spec[rank - 1] = { start: 1, step: 2 };
    return T.tidy(() => T.slice(T.tensor(data, wide, dtype), spec));
  }
  if (layout === 'expanded' && rank >= 1 && shape[0] > 1) {
    const row = values.slice(0, values.length / shape[0]);
    return T.tidy(() => T.expand(T.tensor(row as number[], [1, ...shape.slice(1)], dtype), shape));
  }
  return T.tensor(values as number[], shape, dtype);
}

/** Expanded inputs repeat their first row: generate values that way so the oracle sees the same. */
export function caseValues(c: OpCase, dtype: T.DType, seed: number): number[][] {
  const rng = new T.Rng(seed);
  return c.inputs.map((spec) => {
    const d = spec.dtype ?? dtype;
    if (spec.layout === 'expanded' && spec.shape.length >= 1 && spec.shape[0] > 1) {
      const row = hostValues({ ...spec, shape: spec.shape.slice(1) }, d, rng);
      return Array.from({ length: spec.shape[0] }, () => row).flat();
    }
    return hostValues(spec, d, rng);
  });
}

export function toList(out: T.Tensor | T.Tensor[]): T.Tensor[] {
  return Array.isArray(out) ? out : [out];
}

export interface Evaluated {
  readonly shape: readonly number[];
  readonly dtype: T.DType;
  readonly values: Float64Array;
}

/** Run a case on the current backend with the given float dtype and return host copies of its outputs. */
export async function evaluate(c: OpCase, values: number[][], dtype: T.DType, layouts = true): Promise<Evaluated[]> {
  const inputs = c.inputs.map((spec, i) =>
    makeInput(values[i], spec.shape, spec.dtype ?? dtype, layouts ? (spec.layout ?? 'contiguous') : 'contiguous'),
  );
  try {
    const outs = toList(c.run(inputs));
    try {
      const result: Evaluated[] = [];
      for (const o of outs) {
        result.push({ shape: [...o.shape], dtype: o.dtype, values: Float64Array.from(await o.data()) });
      }
      return result;
    } finally {
      // Asynchronous backends may throw at read time: the outputs must not leak into the next case.
      T.dispose(outs);
    }
  } finally {
    T.dispose(inputs);
  }
}

/** The first element where |got − want| > atol + rtol·|want| (NaN must meet NaN), or null when all agree. */
export function compare(got: Evaluated, want: Evaluated, tol: Tolerance): string | null {
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] vs oracle [${want.shape}]`;
  for (let i = 0; i < want.values.length; i++) {
    const g = got.values[i];
    const w = want.values[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (w === g) continue;
    const err = Math.abs(g - w);
    if (!(err <= tol.atol + tol.rtol * Math.abs(w))) {
      return `element ${i}: got ${g}, oracle ${w} (|diff| ${err.toExponential(2)} > atol ${tol.atol} + rtol ${tol.rtol}·|oracle|)`;
    }
  }
  return null;
}
