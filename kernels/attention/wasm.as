// Scaled dot-product attention for the wasm backend, one query row at a time as the reference
// (kernels/attention/ref.ts): scores with f32x4 dot products, a stable softmax, then the
// weighted sum of value rows. Grouped-query heads, causal alignment (query t sees keys up to
// t + S − T) and an additive mask broadcast over [B, Hq, T, S] as the reference.
//
// p: [batch, heads, kvHeads, T, S, D, Dv, causal, hasMask, maskStride b, h, t, s, keys]
// (keys: the valid rows of k and v, the first of the S rows per head)
import { threadScratch } from '../../backends/wasm/common.as';
import { expv } from '../../backends/wasm/simd-math.as';

@inline function f(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

@inline function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>j << 2)), v128.load(b + (<usize>j << 2))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; j < n; j++) s += load<f32>(a + (<usize>j << 2)) * load<f32>(b + (<usize>j << 2));
  return s;
}

/** dst[0:n] += w · src[0:n] */
@inline function axpy(dst: usize, w: f32, src: usize, n: i32): void {
  const vw = f32x4.splat(w);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.mul(vw, v128.load(src + o))));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(dst + o, load<f32>(dst + o) + w * load<f32>(src + o));
  }
}

/**
 * Softmax weights of query row (b, h, t) into w[0..last] (f32, in scratch); returns `last`, or
 * −1 when no key is admissible (every score −∞): that row's output and gradients are zero.
 */
function rowWeights(q: usize, k: usize, mask: usize, p: usize, scale: f32, b: i32, h: i32, t: i32, w: usize): i32 {
  const heads = f(p, 1);
  const kvHeads = f(p, 2);
  const T = f(p, 3);
  const S = f(p, 4);
  const D = f(p, 5);
  const keys = f(p, 13);
  const last = f(p, 7) != 0 ? t + keys - T : keys - 1;
  const kvh = h / (heads / kvHeads);
  const qr = q + (<usize>(((b * heads + h) * T + t) * D) << 2);
  const kb = k + (<usize>((b * kvHeads + kvh) * S * D) << 2);
  const hasMask = f(p, 8) != 0;
  const mo = hasMask ? b * f(p, 9) + h * f(p, 10) + t * f(p, 11) : 0;
  const ms = f(p, 12);
  let m: f32 = -Infinity;
  for (let j = 0; j <= last; j++) {
    let s = scale * dot(qr, kb + (<usize>(j * D) << 2), D);
    if (hasMask) s += load<f32>(mask + (<usize>(mo + j * ms) << 2));
    store<f32>(w + (<usize>j << 2), s);
    m = max(m, s); // NaN-propagating, as the reference's sticky NaN
  }
  if (m == -Infinity) return -1;
  const vm = f32x4.splat(m);
  let total: f64 = 0;
  let j = 0;
  for (; j + 4 <= last + 1; j += 4) {
    const e = expv(f32x4.sub(v128.load(w + (<usize>j << 2)), vm));
    v128.store(w + (<usize>j << 2), e);
    total += <f64>f32x4.extract_lane(e, 0) + <f64>f32x4.extract_lane(e, 1) + <f64>f32x4.extract_lane(e, 2) + <f64>f32x4.extract_lane(e, 3);
  }
  for (; j <= last; j++) {
    const e = <f32>Math.exp(<f64>(load<f32>(w + (<usize>j << 2)) - m));
    store<f32>(w + (<usize>j << 2), e);
    total += <f64>e;
  }
  const inv = <f32>(1 / total);
  for (j = 0; j <= last; j++) store<f32>(w + (<usize>j << 2), load<f32>(w + (<usize>j << 2)) * inv);
  return last;
}

/** Forward: units are query rows (b, h, t). */
export function attention_f32(q: usize, k: usize, v: usize, mask: usize, y: usize, p: usize, scale: f32, u0: i32, u1: i32, tid: i32): void {
  const heads = f(p, 1);
  const kvHeads = f(p, 2);
  const T = f(p, 3);
  const S = f(p, 4);
  const Dv = f(p, 6);
  const w = threadScratch();
  for (let u = u0; u < u1; u++) {
    const t = u % T;
    const h = (u / T) % heads;
    const b = u / (T * heads);
    const out = y + (<usize>(u * Dv) << 2);
    memory.fill(out, 0, <usize>Dv << 2);
    const last = rowWeights(q, k, mask, p, scale, b, h, t, w);
    const vb = v + (<usize>((b * kvHeads + h / (heads / kvHeads)) * S * Dv) << 2);
    for (let j = 0; j <= last; j++) axpy(out, load<f32>(w + (<usize>j << 2)), vb + (<usize>(j * Dv) << 2), Dv);
  }
}

/**
 * Backward: units are (b, key/value head) pairs, so the dk and dv rows a unit accumulates
 * belong to it alone; it walks every query row of its group of heads.
 */
export function attention_backward_f32(
  q: usize,
  k: usize,
  v: usize,
  o: usize,
  dO: usize,
  mask: usize,
  dq: usize,
  dk: usize,
  dv: usize,
  p: usize,
  scale: f32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  const heads = f(p, 1);
  const kvHeads = f(p, 2);
  const T = f(p, 3);
  const S = f(p, 4);
  const D = f(p, 5);
  const Dv = f(p, 6);
  const group = heads / kvHeads;
  const w = threadScratch();
  for (let u = u0; u < u1; u++) {
    const b = u / kvHeads;
    const kvh = u - b * kvHeads;
    const kb = k + (<usize>(u * S * D) << 2);
    const vb = v + (<usize>(u * S * Dv) << 2);
    const dkb = dk + (<usize>(u * S * D) << 2);
    const dvb = dv + (<usize>(u * S * Dv) << 2);
    memory.fill(dkb, 0, <usize>(S * D) << 2);
    memory.fill(dvb, 0, <usize>(S * Dv) << 2);
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let t = 0; t < T; t++) {
        const row = (b * heads + h) * T + t;
        const qr = q + (<usize>(row * D) << 2);
        const dqr = dq + (<usize>(row * D) << 2);
        const orow = o + (<usize>(row * Dv) << 2);
        const dor = dO + (<usize>(row * Dv) << 2);
        memory.fill(dqr, 0, <usize>D << 2);
        const last = rowWeights(q, k, mask, p, scale, b, h, t, w);
        if (last < 0) continue;
        const delta = dot(dor, orow, Dv);
        for (let j = 0; j <= last; j++) {
          const pj = load<f32>(w + (<usize>j << 2));
          const vj = vb + (<usize>(j * Dv) << 2);
          const dp = dot(dor, vj, Dv);
          axpy(dvb + (<usize>(j * Dv) << 2), pj, dor, Dv);
          const ds = scale * pj * (dp - delta);
          axpy(dqr, ds, kb + (<usize>(j * D) << 2), D);
          axpy(dkb + (<usize>(j * D) << 2), ds, qr, D);
        }
      }
    }
  }
}
