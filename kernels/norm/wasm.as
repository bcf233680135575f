// Normalisations for the wasm backend: every norm normalises contiguous rows of x (see
// kernels/norm/ref.ts), so one kernel serves all four; what differs is which scale/shift
// element applies at each position (`mode`):
//   COLUMN  element j of the row (layerNorm, rmsNorm)
//   GROUP   channel (r mod groups)·perGroup + ⌊j / spatial⌋ (groupNorm): constant per segment
//   ROW     element r mod rowMod (instanceNorm: rowMod = C for [C] params, N·C for [N, C])
// Statistics are two-pass in f64 as the reference; (x − μ)·s is computed in f64, then the
// affine part in f32.

const COLUMN: i32 = 0;
const GROUP: i32 = 1;

@inline function normalize4(v: v128, mu: v128, inv: v128): v128 {
  const lo = f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v), mu), inv);
  const hi = f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)), mu), inv);
  return v128.shuffle<i32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** One segment [j0, j1) of a row with a constant scale and shift. */
@inline function segment(x: usize, y: usize, j0: i32, j1: i32, mu: f64, inv: f64, s: f32, b: f32): void {
  const vmu = f64x2.splat(mu);
  const vinv = f64x2.splat(inv);
  const vs = f32x4.splat(s);
  const vb = f32x4.splat(b);
  let j = j0;
  for (; j + 4 <= j1; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(normalize4(v128.load(x + o), vmu, vinv), vs), vb));
  }
  for (; j < j1; j++) {
    const o = <usize>j << 2;
    store<f32>(y + o, <f32>((<f64>load<f32>(x + o) - mu) * inv) * s + b);
  }
}

export function norm_rows(
  x: usize,
  y: usize,
  length: i32,
  center: bool,
  eps: f64,
  scale: usize,
  shift: usize,
  mode: i32,
  groups: i32,
  perGroup: i32,
  spatial: i32,
  scaleMod: i32,
  shiftMod: i32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  for (let r = u0; r < u1; r++) {
    const xr = x + (<usize>r * <usize>length << 2);
    const yr = y + (<usize>r * <usize>length << 2);
    let mu: f64 = 0;
    if (center) {
      let a0 = f64x2.splat(0);
      let a1 = f64x2.splat(0);
      let j = 0;
      for (; j + 4 <= length; j += 4) {
        const v = v128.load(xr + (<usize>j << 2));
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
        a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)));
      }
      const s = f64x2.add(a0, a1);
      mu = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
      for (; j < length; j++) mu += <f64>load<f32>(xr + (<usize>j << 2));
      mu /= <f64>length;
    }
    const vmu = f64x2.splat(mu);
    let q0 = f64x2.splat(0);
    let q1 = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= length; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), vmu);
      const d1 = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)), vmu);
      q0 = f64x2.add(q0, f64x2.mul(d0, d0));
      q1 = f64x2.add(q1, f64x2.mul(d1, d1));
    }
    const q = f64x2.add(q0, q1);
    let acc = f64x2.extract_lane(q, 0) + f64x2.extract_lane(q, 1);
    for (; j < length; j++) {
      const d = <f64>load<f32>(xr + (<usize>j << 2)) - mu;
      acc += d * d;
    }
    const inv = 1 / Math.sqrt(acc / <f64>length + eps);
    if (mode == COLUMN) {
      const vinv = f64x2.splat(inv);
      let k = 0;
      for (; k + 4 <= length; k += 4) {
        const o = <usize>k << 2;
        let v = normalize4(v128.load(xr + o), vmu, vinv);
        if (scale != 0) v = f32x4.mul(v, v128.load(scale + o));
        if (shift != 0) v = f32x4.add(v, v128.load(shift + o));
        v128.store(yr + o, v);
      }
      for (; k < length; k++) {
        const o = <usize>k << 2;
        let v = <f32>((<f64>load<f32>(xr + o) - mu) * inv);
        if (scale != 0) v *= load<f32>(scale + o);
        if (shift != 0) v += load<f32>(shift + o);
        store<f32>(yr + o, v);
      }
    } else if (mode == GROUP) {
      const c0 = (r % groups) * perGroup;
      for (let c = 0; c < perGroup; c++) {
        const s: f32 = scale != 0 ? load<f32>(scale + (<usize>(c0 + c) << 2)) : 1;
        const b: f32 = shift != 0 ? load<f32>(shift + (<usize>(c0 + c) << 2)) : 0;
        segment(xr, yr, c * spatial, (c + 1) * spatial, mu, inv, s, b);
      }
    } else {
      const s: f32 = scale != 0 ? load<f32>(scale + (<usize>(r % scaleMod) << 2)) : 1;
      const b: f32 = shift != 0 ? load<f32>(shift + (<usize>(r % shiftMod) << 2)) : 0;
      segment(xr, yr, 0, length, mu, inv, s, b);
    }
  }
}
