// softmax / logSoftmax for the wasm backend, over x viewed as [outer, n, inner] (the axis in
// the middle). inner == 1: each unit is one contiguous row (max, Σ exp(x − max) in f64, then
// scale), vectorised along the row. inner > 1: each unit is (outer, block of 4 columns),
// vectorised across the columns and stepping down the axis with stride inner.
import { expv } from '../../backends/wasm/simd-math.as';

export function softmax_rows(log: bool, x: usize, y: usize, n: i32, u0: i32, u1: i32, tid: i32): void {
  for (let o = u0; o < u1; o++) {
    const xr = x + (<usize>o * <usize>n << 2);
    const yr = y + (<usize>o * <usize>n << 2);
    // max (NaN wins, so a NaN row stays NaN)
    let vm = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= n; j += 4) vm = f32x4.max(vm, v128.load(xr + (<usize>j << 2)));
    let m = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
    for (; j < n; j++) m = max(m, load<f32>(xr + (<usize>j << 2)));
    vm = f32x4.splat(m);
    // Σ exp(x − max), keeping exp(x − max) in y for the softmax pass.
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    j = 0;
    for (; j + 4 <= n; j += 4) {
      const e = expv(f32x4.sub(v128.load(xr + (<usize>j << 2)), vm));
      if (!log) v128.store(yr + (<usize>j << 2), e);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(e));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<i32>(e, e, 2, 3, 0, 1)));
    }
    const s2 = f64x2.add(a0, a1);
    let sum = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
    for (; j < n; j++) {
      const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(xr + (<usize>j << 2)) - m)), 0);
      if (!log) store<f32>(yr + (<usize>j << 2), e);
      sum += <f64>e;
    }
    if (log) {
      // (x − max) − log Σ: subtracting max first keeps the result's own precision. One shift
      // max + log Σ rounded to f32 would cost up to half an ulp of max (3e-5 at |max| = 1000).
      const l = <f32>Math.log(sum);
      const vl = f32x4.splat(l);
      j = 0;
      for (; j + 4 <= n; j += 4) {
        v128.store(yr + (<usize>j << 2), f32x4.sub(f32x4.sub(v128.load(xr + (<usize>j << 2)), vm), vl));
      }
      for (; j < n; j++) store<f32>(yr + (<usize>j << 2), load<f32>(xr + (<usize>j << 2)) - m - l);
    } else {
      const inv = f32x4.splat(<f32>(1 / sum));
      j = 0;
      for (; j + 4 <= n; j += 4) v128.store(yr + (<usize>j << 2), f32x4.mul(v128.load(yr + (<usize>j << 2)), inv));
      const s = f32x4.extract_lane(inv, 0);
      for (; j < n; j++) store<f32>(yr + (<usize>j << 2), load<f32>(yr + (<usize>j << 2)) * s);
    }
  }
}

/** Load 4 columns (or fewer, zero-padded) at p. */
@inline function loadCols(p: usize, w: i32): v128 {
  if (w == 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (w > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (w > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

@inline function storeCols(p: usize, v: v128, w: i32): void {
  if (w == 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (w > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (w > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

export function softmax_cols(log: bool, x: usize, y: usize, n: i32, inner: i32, u0: i32, u1: i32, tid: i32): void {
  const blocks = (inner + 3) >> 2;
  const stride = <usize>inner << 2;
  for (let u = u0; u < u1; u++) {
    const o = u / blocks;
    const c = (u - o * blocks) << 2;
    const w = min(4, inner - c);
    const xb = x + ((<usize>o * <usize>n * <usize>inner + <usize>c) << 2);
    const yb = y + ((<usize>o * <usize>n * <usize>inner + <usize>c) << 2);
    let vm = f32x4.splat(-Infinity);
    for (let i = 0; i < n; i++) vm = f32x4.max(vm, loadCols(xb + <usize>i * stride, w));
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    for (let i = 0; i < n; i++) {
      const e = expv(f32x4.sub(loadCols(xb + <usize>i * stride, w), vm));
      if (!log) storeCols(yb + <usize>i * stride, e, w);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<i32>(e, e, 2, 3, 0, 1)));
    }
    if (log) {
      // (x − max) − log Σ, as in softmax_rows.
      let vl = f32x4.splat(0);
      vl = f32x4.replace_lane(vl, 0, <f32>Math.log(f64x2.extract_lane(s0, 0)));
      vl = f32x4.replace_lane(vl, 1, <f32>Math.log(f64x2.extract_lane(s0, 1)));
      vl = f32x4.replace_lane(vl, 2, <f32>Math.log(f64x2.extract_lane(s1, 0)));
      vl = f32x4.replace_lane(vl, 3, <f32>Math.log(f64x2.extract_lane(s1, 1)));
      for (let i = 0; i < n; i++) {
        storeCols(yb + <usize>i * stride, f32x4.sub(f32x4.sub(loadCols(xb + <usize>i * stride, w), vm), vl), w);
      }
    } else {
      let inv = f32x4.splat(0);
      inv = f32x4.replace_lane(inv, 0, <f32>(1 / f64x2.extract_lane(s0, 0)));
      inv = f32x4.replace_lane(inv, 1, <f32>(1 / f64x2.extract_lane(s0, 1)));
      inv = f32x4.replace_lane(inv, 2, <f32>(1 / f64x2.extract_lane(s1, 0)));
      inv = f32x4.replace_lane(inv, 3, <f32>(1 / f64x2.extract_lane(s1, 1)));
      for (let i = 0; i < n; i++) storeCols(yb + <usize>i * stride, f32x4.mul(loadCols(yb + <usize>i * stride, w), inv), w);
    }
  }
}
