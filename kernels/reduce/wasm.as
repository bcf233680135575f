// Reductions for the wasm backend. kernels/reduce/wasm.ts brings every reduction to one of two
// layouts (permuting the input first when the reduced axes are not one block):
//   rows: [outer, r]          each unit is one row of r contiguous elements
//   cols: [outer, r, inner]   each unit is one (outer, block of ≤ MAX_COL_BLOCK columns) pair; the
//                             block's accumulators live in thread scratch, so rows stream once
// Sums accumulate in f64 (as the reference does), max/min in f32 (exact), and the two-pass
// statistics (variance, logsumexp) read the data twice as the reference does.
import { scratchTables } from '../../backends/wasm/common.as';
import { expf, expv } from '../../backends/wasm/simd-math.as';

const SUM: i32 = 0;
const MEAN: i32 = 1;
const MAX: i32 = 2;
const MIN: i32 = 3;
const PROD: i32 = 4;
const LOGSUMEXP: i32 = 5;
const VARIANCE: i32 = 6;
const ARGMAX: i32 = 7;
const ARGMIN: i32 = 8;

/** Most columns per unit of the column layout: 512 f64 accumulators fill 4 KiB of scratch. */
export const MAX_COL_BLOCK: i32 = 512;

@inline function sumRow(x: usize, r: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= r; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)));
  }
  const s = f64x2.add(a0, a1);
  let acc = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; j < r; j++) acc += <f64>load<f32>(x + (<usize>j << 2));
  return acc;
}

/** max (or min) of a row; NaN wins, as the reference's `v > acc || isNaN(v)`. */
@inline function extremeRow(x: usize, r: i32, isMax: bool): f32 {
  let acc = f32x4.splat(load<f32>(x));
  let j = 0;
  for (; j + 4 <= r; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    acc = isMax ? f32x4.max(acc, v) : f32x4.min(acc, v);
  }
  let out = f32x4.extract_lane(acc, 0);
  for (let l = 1; l < 4; l++) {
    const v = l == 1 ? f32x4.extract_lane(acc, 1) : l == 2 ? f32x4.extract_lane(acc, 2) : f32x4.extract_lane(acc, 3);
    out = isMax ? max(out, v) : min(out, v);
  }
  for (; j < r; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    out = isMax ? max(out, v) : min(out, v);
  }
  return out;
}

function reduceRow(op: i32, x: usize, r: i32, correction: f64): f64 {
  switch (op) {
    case SUM:
      return sumRow(x, r);
    case MEAN:
      return sumRow(x, r) / <f64>r;
    case MAX:
      return <f64>extremeRow(x, r, true);
    case MIN:
      return <f64>extremeRow(x, r, false);
    case PROD: {
      let acc: f64 = 1;
      for (let j = 0; j < r; j++) acc *= <f64>load<f32>(x + (<usize>j << 2));
      return acc;
    }
    case LOGSUMEXP: {
      if (r == 0) return -Infinity;
      const m = extremeRow(x, r, true);
      if (!isFinite(m)) return <f64>m;
      const vm = f32x4.splat(m);
      let a0 = f64x2.splat(0);
      let a1 = f64x2.splat(0);
      let j = 0;
      for (; j + 4 <= r; j += 4) {
        const e = expv(f32x4.sub(v128.load(x + (<usize>j << 2)), vm));
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(e));
        a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<i32>(e, e, 2, 3, 0, 1)));
      }
      const s = f64x2.add(a0, a1);
      let acc = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
      for (; j < r; j++) acc += <f64>expf(load<f32>(x + (<usize>j << 2)) - m);
      return <f64>m + Math.log(acc);
    }
    default: {
      // VARIANCE: two passes, as the reference.
      const mean = sumRow(x, r) / <f64>r;
      let acc: f64 = 0;
      for (let j = 0; j < r; j++) {
        const d = <f64>load<f32>(x + (<usize>j << 2)) - mean;
        acc += d * d;
      }
      return acc / Math.max(<f64>r - correction, 0);
    }
  }
}

/** y[o] = reduce(x[o, 0:r]) for rows [u0, u1). ARGMAX/ARGMIN write i32; `isInt` reads i32 input (arg ops only). */
export function reduce_rows(op: i32, isInt: bool, x: usize, y: usize, r: i32, correction: f64, u0: i32, u1: i32, tid: i32): void {
  for (let o = u0; o < u1; o++) {
    const row = x + (<usize>o * <usize>r << 2);
    if (op == ARGMAX || op == ARGMIN) {
      store<i32>(y + (<usize>o << 2), isInt ? argRow<i32>(row, r, 1, op == ARGMAX) : argRow<f32>(row, r, 1, op == ARGMAX));
    } else {
      store<f32>(y + (<usize>o << 2), <f32>reduceRow(op, row, r, correction));
    }
  }
}

/** First index of the largest (smallest) value; the first NaN wins, as the reference. */
@inline function argRow<T>(x: usize, r: i32, stride: i32, isMax: bool): i32 {
  let best = 0;
  let bv = load<T>(x);
  for (let j = 1; j < r; j++) {
    const v = load<T>(x + (<usize>(j * stride) << 2));
    if (!isInteger<T>()) {
      if (isNaN(bv)) break;
      if (isNaN(v)) {
        best = j;
        break;
      }
    }
    if (isMax ? v > bv : v < bv) {
      best = j;
      bv = v;
    }
  }
  return best;
}

/**
 * Column layout [outer, r, inner]: y[o, c] = reduce over i of x[o, i, c]. A unit is (o, block
 * of columns); accumulators for the block live in scratch and each row of the block is read
 * once per pass.
 */
export function reduce_cols(
  op: i32,
  isInt: bool,
  x: usize,
  y: usize,
  r: i32,
  inner: i32,
  block: i32,
  correction: f64,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  // Units are (o, block of `block` ≤ MAX_COL_BLOCK columns); the TS side picks smaller blocks when
  // there are few rows of columns, so threads still get several units each.
  const blocks = (inner + block - 1) / block;
  const acc = scratchTables();
  for (let u = u0; u < u1; u++) {
    const o = u / blocks;
    const c0 = (u - o * blocks) * block;
    const nc = min(block, inner - c0);
    const base = x + ((<usize>o * <usize>r * <usize>inner + <usize>c0) << 2);
    const out = y + ((<usize>o * <usize>inner + <usize>c0) << 2);
    if (op == ARGMAX || op == ARGMIN) {
      for (let c = 0; c < nc; c++) {
        const col = base + (<usize>c << 2);
        store<i32>(
          out + (<usize>c << 2),
          isInt ? argRow<i32>(col, r, inner, op == ARGMAX) : argRow<f32>(col, r, inner, op == ARGMAX),
        );
      }
      continue;
    }
    if (op == MAX || op == MIN) {
      const isMax = op == MAX;
      memory.copy(out, base, <usize>nc << 2);
      for (let i = 1; i < r; i++) {
        const row = base + (<usize>i * <usize>inner << 2);
        let c = 0;
        for (; c + 4 <= nc; c += 4) {
          const o4 = <usize>c << 2;
          const a = v128.load(out + o4);
          const v = v128.load(row + o4);
          v128.store(out + o4, isMax ? f32x4.max(a, v) : f32x4.min(a, v));
        }
        for (; c < nc; c++) {
          const at = out + (<usize>c << 2);
          const v = load<f32>(row + (<usize>c << 2));
          store<f32>(at, isMax ? max(load<f32>(at), v) : min(load<f32>(at), v));
        }
      }
      continue;
    }
    // Sums in f64: SUM, MEAN, PROD, and the two-pass VARIANCE / LOGSUMEXP.
    for (let c = 0; c < nc; c++) store<f64>(acc + (<usize>c << 3), op == PROD ? 1 : 0);
    if (op == LOGSUMEXP) {
      // Pass 1: column maxima (into y), pass 2: Σ exp(x − max) in f64.
      if (r == 0) {
        for (let c = 0; c < nc; c++) store<f32>(out + (<usize>c << 2), -Infinity);
        continue;
      }
      memory.copy(out, base, <usize>nc << 2);
      for (let i = 1; i < r; i++) {
        const row = base + (<usize>i * <usize>inner << 2);
        for (let c = 0; c < nc; c++) {
          const at = out + (<usize>c << 2);
          store<f32>(at, max(load<f32>(at), load<f32>(row + (<usize>c << 2))));
        }
      }
      for (let i = 0; i < r; i++) {
        const row = base + (<usize>i * <usize>inner << 2);
        for (let c = 0; c < nc; c++) {
          const a = acc + (<usize>c << 3);
          store<f64>(a, load<f64>(a) + <f64>expf(load<f32>(row + (<usize>c << 2)) - load<f32>(out + (<usize>c << 2))));
        }
      }
      for (let c = 0; c < nc; c++) {
        const m = load<f32>(out + (<usize>c << 2));
        if (isFinite(m)) store<f32>(out + (<usize>c << 2), <f32>(<f64>m + Math.log(load<f64>(acc + (<usize>c << 3)))));
      }
      continue;
    }
    for (let i = 0; i < r; i++) {
      const row = base + (<usize>i * <usize>inner << 2);
      if (op == PROD) {
        for (let c = 0; c < nc; c++) {
          const a = acc + (<usize>c << 3);
          store<f64>(a, load<f64>(a) * <f64>load<f32>(row + (<usize>c << 2)));
        }
      } else {
        let c = 0;
        for (; c + 4 <= nc; c += 4) {
          const v = v128.load(row + (<usize>c << 2));
          const a = acc + (<usize>c << 3);
          v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)));
          v128.store(a, f64x2.add(v128.load(a, 16), f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1))), 16);
        }
        for (; c < nc; c++) {
          const a = acc + (<usize>c << 3);
          store<f64>(a, load<f64>(a) + <f64>load<f32>(row + (<usize>c << 2)));
        }
      }
    }
    if (op == VARIANCE) {
      // acc holds the sums: turn them into means, then accumulate squared deviations in y's place.
      for (let c = 0; c < nc; c++) store<f64>(acc + (<usize>c << 3), load<f64>(acc + (<usize>c << 3)) / <f64>r);
      const dev = acc + (<usize>MAX_COL_BLOCK << 3);
      for (let c = 0; c < nc; c++) store<f64>(dev + (<usize>c << 3), 0);
      for (let i = 0; i < r; i++) {
        const row = base + (<usize>i * <usize>inner << 2);
        for (let c = 0; c < nc; c++) {
          const d = <f64>load<f32>(row + (<usize>c << 2)) - load<f64>(acc + (<usize>c << 3));
          const at = dev + (<usize>c << 3);
          store<f64>(at, load<f64>(at) + d * d);
        }
      }
      const denom = Math.max(<f64>r - correction, 0);
      for (let c = 0; c < nc; c++) store<f32>(out + (<usize>c << 2), <f32>(load<f64>(dev + (<usize>c << 3)) / denom));
      continue;
    }
    const scale: f64 = op == MEAN ? 1 / <f64>r : 1;
    for (let c = 0; c < nc; c++) store<f32>(out + (<usize>c << 2), <f32>(load<f64>(acc + (<usize>c << 3)) * scale));
  }
}
