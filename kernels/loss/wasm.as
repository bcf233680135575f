// crossEntropy and its gradient for the wasm backend: one row of logits per target, units are
// rows. Targets were checked on the host (out-of-range ones throw there); an ignored target
// (class −1 here) gives a zero loss and a zero gradient row.
import { expv } from '../../backends/wasm/simd-math.as';

/** log Σ exp(x) of a row, as max + log Σ exp(x − max) with the sum in f64. */
function rowLogSumExp(x: usize, n: i32): f64 {
  let vm = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) vm = f32x4.max(vm, v128.load(x + (<usize>j << 2)));
  let m = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  for (; j < n; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
  const vmax = f32x4.splat(m);
  let acc: f64 = 0;
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = expv(f32x4.sub(v128.load(x + (<usize>j << 2)), vmax));
    acc += <f64>f32x4.extract_lane(e, 0) + <f64>f32x4.extract_lane(e, 1) + <f64>f32x4.extract_lane(e, 2) + <f64>f32x4.extract_lane(e, 3);
  }
  for (; j < n; j++) acc += Math.exp(<f64>load<f32>(x + (<usize>j << 2)) - <f64>m);
  return <f64>m + Math.log(acc);
}

/** y[r] = (1 − ε)·(lse − x[t]) + ε·(lse − mean x); classes[r] is the target or −1. */
export function cross_entropy_f32(x: usize, classes: usize, y: usize, n: i32, eps: f64, u0: i32, u1: i32, tid: i32): void {
  for (let r = u0; r < u1; r++) {
    const t = load<i32>(classes + (<usize>r << 2));
    if (t < 0) {
      store<f32>(y + (<usize>r << 2), 0);
      continue;
    }
    const row = x + (<usize>r * <usize>n << 2);
    const lse = rowLogSumExp(row, n);
    let loss = (1 - eps) * (lse - <f64>load<f32>(row + (<usize>t << 2)));
    if (eps > 0) {
      let mean: f64 = 0;
      for (let c = 0; c < n; c++) mean += <f64>load<f32>(row + (<usize>c << 2));
      loss += eps * (lse - mean / <f64>n);
    }
    store<f32>(y + (<usize>r << 2), <f32>loss);
  }
}

/** dx[r, c] = g[r]·(softmax(x)[c] − q_c) with q = (1 − ε)·onehot(t) + ε/C; zero rows for ignored targets. */
export function cross_entropy_grad_f32(x: usize, classes: usize, g: usize, y: usize, n: i32, eps: f64, u0: i32, u1: i32, tid: i32): void {
  for (let r = u0; r < u1; r++) {
    const t = load<i32>(classes + (<usize>r << 2));
    const out = y + (<usize>r * <usize>n << 2);
    if (t < 0) {
      memory.fill(out, 0, <usize>n << 2);
      continue;
    }
    const row = x + (<usize>r * <usize>n << 2);
    const lse = rowLogSumExp(row, n);
    const gr = <f64>load<f32>(g + (<usize>r << 2));
    const smooth = eps / <f64>n;
    for (let c = 0; c < n; c++) {
      const q = (c == t ? 1 - eps : 0) + smooth;
      store<f32>(out + (<usize>c << 2), <f32>(gr * (Math.exp(<f64>load<f32>(row + (<usize>c << 2)) - lse) - q)));
    }
  }
}
