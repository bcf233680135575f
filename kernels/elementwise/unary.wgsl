// One-input elementwise ops on 32-bit elements (f16 arrives widened to f32, u8 to i32).
// Specialised per op: TI/TO are the element types, OP the expression (see webgpu.ts).

alias TI = f32; // @param TI
alias TO = f32; // @param TO

struct Params {
  n: u32,
  // op arguments as bits (clamp: min, max in TI)
  a: u32,
  b: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<TI>;
@group(0) @binding(2) var<storage, read_write> y: array<TO>;

// erf to ~1.5e-7 absolute (Abramowitz & Stegun 7.1.26).
fn erf_(v: f32) -> f32 {
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let r = 1.0 - poly * exp(-a * a);
  return select(r, -r, v < 0.0);
}

// 1 / (1 + e^-v) without overflow for large |v|.
fn sigmoid_(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

// sin(x + q·π/2) to ~1e-7 on |x| < 1e4: Cody-Waite reduction to [-π/4, π/4] and the
// Cephes polynomials (SwiftShader's builtins are off by ~2e-4).
fn sin_quadrant(x: f32, shift: i32) -> f32 {
  let q = round(x * 0.6366197723675814);
  let r = ((x - q * 1.5703125) - q * 4.8375129699707031e-4) - q * 7.5497899548918821e-8;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  let k = (i32(q) + shift) & 3;
  if (k == 0) {
    return s;
  }
  if (k == 1) {
    return c;
  }
  if (k == 2) {
    return -s;
  }
  return -c;
}

fn op(v: TI) -> TO { return -v; } // @param OP

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  y[i] = op(x[i]);
}
