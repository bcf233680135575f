// MLX affine quantization, one thread per group: exactly MLX's CPU algorithm in f32 (see
// kernels/quant/ref.ts). WGSL's `round` is ties-to-even like C's rint, and + − × are correctly
// rounded, but `/` may be off by 2.5 ulp: every division here goes through div_rn, a correctly
// rounded division by integer long division of the mantissas, so the words, scales and biases
// match the CPU bit for bit on any adapter. A non-finite weight is reported through the status
// buffer (the next read throws it) and its group is left as zeros.

struct Params {
  groups: u32,
  group_size: u32,
  bits: u32,
  words_per_group: u32,
  code: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> words: array<u32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> biases: array<f32>;
@group(0) @binding(5) var<storage, read_write> status: array<atomic<u32>, 4>;

// The 24-bit significand (implicit bit set) and unbiased-by-127 exponent of a finite nonzero
// value, subnormals normalised.
fn significand(x: f32) -> vec2<i32> {
  let u = bitcast<u32>(x);
  var e = i32((u >> 23u) & 0xffu);
  var m = u & 0x7fffffu;
  if (e == 0) {
    e = 1;
    while (m < 0x800000u) {
      m = m << 1u;
      e = e - 1;
    }
  } else {
    m = m | 0x800000u;
  }
  return vec2<i32>(i32(m), e);
}

// a / b rounded to nearest even, as IEEE f32 division, for finite a and nonzero finite b.
// Results below the normal range (|a / b| < 2^-126: weights near 1e-38) use the hardware
// division.
fn div_rn(a: f32, b: f32) -> f32 {
  let sign = (bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u;
  if (a == 0.0) {
    return bitcast<f32>(sign);
  }
  let sa = significand(a);
  let sb = significand(b);
  var ma = u32(sa.x);
  let mb = u32(sb.x);
  var e = sa.y - sb.y + 127;
  if (ma < mb) {
    ma = ma << 1u;
    e = e - 1;
  }
  // ma / mb in [1, 2): 25 quotient bits (24 of significand, one guard), the rest as a remainder.
  var q = 0u;
  var r = ma;
  for (var i = 0; i < 25; i++) {
    q = q << 1u;
    if (r >= mb) {
      r = r - mb;
      q = q | 1u;
    }
    r = r << 1u;
  }
  if (e <= 0) {
    return a / b;
  }
  var m = q >> 1u;
  if ((q & 1u) != 0u && (r != 0u || (m & 1u) != 0u)) {
    m = m + 1u;
  }
  if (m == 0x1000000u) {
    m = m >> 1u;
    e = e + 1;
  }
  if (e >= 255) {
    return bitcast<f32>(sign | 0x7f800000u);
  }
  return bitcast<f32>(sign | (u32(e) << 23u) | (m & 0x7fffffu));
}

fn report(index: u32, value: f32) {
  loop {
    let r = atomicCompareExchangeWeak(&status[0], 0u, p.code);
    if (r.exchanged) {
      atomicStore(&status[1], index);
      atomicStore(&status[2], bitcast<u32>(value));
      return;
    }
    if (r.old_value != 0u) {
      return;
    }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * 64u;
  if (g >= p.groups) {
    return;
  }
  let start = g * p.group_size;
  let out = g * p.words_per_group;
  for (var k = 0u; k < p.words_per_group; k++) {
    words[out + k] = 0u;
  }
  var w_min = w[start];
  var w_max = w[start];
  for (var j = 0u; j < p.group_size; j++) {
    let v = w[start + j];
    // NaN fails every comparison; ±Infinity has the all-ones exponent.
    if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) {
      report(start + j, v);
      scales[g] = 0.0;
      biases[g] = 0.0;
      return;
    }
    w_max = max(w_max, v);
    w_min = min(w_min, v);
  }
  let n_bins = f32((1u << p.bits) - 1u);
  let side = abs(w_min) > abs(w_max);
  var scale = max(div_rn(w_max - w_min, n_bins), 1e-7);
  scale = select(-scale, scale, side);
  let edge = select(w_max, w_min, side);
  let q0 = round(div_rn(edge, scale));
  var bias = 0.0;
  if (q0 != 0.0) {
    scale = div_rn(edge, q0);
    bias = edge;
  }
  for (var j = 0u; j < p.group_size; j++) {
    let q = u32(clamp(round(div_rn(w[start + j] - bias, scale)), 0.0, n_bins));
    let bit = j * p.bits;
    let at = out + (bit >> 5u);
    let shift = bit & 31u;
    words[at] = words[at] | (q << shift);
    if (shift + p.bits > 32u) {
      words[at + 1u] = words[at + 1u] | (q >> (32u - shift));
    }
  }
  scales[g] = scale;
  biases[g] = bias;
}
