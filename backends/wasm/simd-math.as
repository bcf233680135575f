// Vector (f32x4) transcendental functions for the wasm kernels, accurate to a few ulp:
// exp (Cephes polynomial with a split 2^n scale), tanh, sigmoid, and erf in f64 for the
// scalar paths. Each handles NaN, ±∞ and overflow as the JS reference (math.ts) does.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

/** e^x on four lanes; NaN stays NaN, overflow gives +∞, deep underflow 0. */
@inline export function expv(x: v128): v128 {
  // Clamp so the scale factors stay representable; ±∞ and NaN are restored below.
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(-104.0)), f32x4.splat(89.0));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  const r2 = f32x4.mul(r, r);
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1.0));
  // 2^n as two factors so n in [-150, 129] never leaves the exponent range of either.
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  let y = f32x4.mul(f32x4.mul(p, s1), s2);
  y = v128.bitselect(f32x4.splat(Infinity), y, f32x4.gt(x, f32x4.splat(88.72283935546875)));
  y = v128.bitselect(f32x4.splat(0), y, f32x4.lt(x, f32x4.splat(-103.97208)));
  return v128.bitselect(x, y, f32x4.ne(x, x));
}

@inline export function expf(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

/** Logistic function, without overflow: e = exp(−|x|), then 1/(1+e) or e/(1+e). */
@inline export function sigmoidv(x: v128): v128 {
  const e = expv(f32x4.neg(f32x4.abs(x)));
  const d = f32x4.add(f32x4.splat(1), e);
  const pos = f32x4.div(f32x4.splat(1), d);
  const neg = f32x4.div(e, d);
  const y = v128.bitselect(pos, neg, f32x4.ge(x, f32x4.splat(0)));
  return v128.bitselect(x, y, f32x4.ne(x, x));
}

/** tanh: an odd polynomial below |x| 0.625 (Cephes), (1 − e)/(1 + e) with e = exp(−2|x|) above. */
@inline export function tanhv(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(x, z), p));
  const e = expv(f32x4.mul(ax, f32x4.splat(-2)));
  const big = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  // Copy x's sign onto the large-|x| branch.
  const signed = v128.or(big, v128.and(x, i32x4.splat(0x80000000)));
  const y = v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
  return v128.bitselect(x, y, f32x4.ne(x, x));
}

/**
 * erf in f64: the Maclaurin series below |x| 0.5, Abramowitz & Stegun 7.1.26 above (absolute
 * error < 1.5e-7, far inside f32 tolerances once rounded), ±1 beyond 6.
 */
export function erf64(x: f64): f64 {
  if (isNaN(x)) return x;
  const ax = Math.abs(x);
  let r: f64;
  if (ax < 0.5) {
    const z = x * x;
    // 2/√π · (x − x³/3 + x⁵/10 − x⁷/42 + x⁹/216 − x¹¹/1320)
    return 1.1283791670955126 * x * (1 + z * (-1.0 / 3 + z * (0.1 + z * (-1.0 / 42 + z * (1.0 / 216 - z / 1320)))));
  }
  if (ax > 6) r = 1;
  else {
    const t = 1 / (1 + 0.3275911 * ax);
    const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    r = 1 - poly * Math.exp(-ax * ax);
  }
  return x < 0 ? -r : r;
}
