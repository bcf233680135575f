// Rotary position embedding of x [..., T, D]: one thread per row. Row r sits at position
// (offset + r % T) · scale; pair i (adjacent features when traditional, else i and i + dims/2)
// rotates by ±position · base^(-2i/dims). Features past `dims` are copied.

struct Params {
  rows: u32,
  seq: u32,
  d: u32,
  half: u32,
  offset: f32,
  scale: f32,
  // ln(base) / half
  log_step: f32,
  // -1 for the inverse rotation
  sign: f32,
  traditional: u32,
  // 1: pair i turns by position / freqs[i] instead of base^(-2i/dims)
  has_freqs: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> freqs: array<f32>;

// sin(v + k·π/2) to ~1e-7 for |v| < 1e5 (Cody-Waite reduction, Cephes polynomials).
fn sin_quadrant(v: f32, shift: i32) -> f32 {
  let q = round(v * 0.6366197723675814);
  let r = ((v - q * 1.5703125) - q * 4.8375129699707031e-4) - q * 7.5497899548918821e-8;
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

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.d;
  let position = (p.offset + f32(r % p.seq)) * p.scale;
  for (var i = 0u; i < p.half; i++) {
    var angle = p.sign * position * exp(-f32(i) * p.log_step);
    if (p.has_freqs == 1u) {
      angle = p.sign * position / freqs[i];
    }
    let c = sin_quadrant(angle, 1);
    let s = sin_quadrant(angle, 0);
    var a = o + i;
    var b = o + i + p.half;
    if (p.traditional == 1u) {
      a = o + 2u * i;
      b = a + 1u;
    }
    let x0 = x[a];
    let x1 = x[b];
    y[a] = x0 * c - x1 * s;
    y[b] = x0 * s + x1 * c;
  }
  for (var j = 2u * p.half; j < p.d; j++) {
    y[o + j] = x[o + j];
  }
}
