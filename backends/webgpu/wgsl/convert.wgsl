// Packing and unpacking of the 16- and 8-bit storage dtypes. Kernels compute on 32-bit
// elements: f16 and bf16 widen to f32 (or to their raw bits, for pure data movement), u8
// and i8 to i32. Conversions are done on the bits, round-to-nearest-even, exactly as
// core/dtype.ts does on the host, so GPU and host halves agree bit for bit without the
// shader-f16 feature.

struct Params {
  // elements (unpack) or output words (pack)
  n: u32,
  // elements in the packed array (pack: the last word may be partial)
  count: u32,
  // 16-bit: 0 raw bits (zero-extended), 1 f16 <-> f32 values, 2 bf16 <-> f32 values;
  // 8-bit: 0 zero-extended (u8), 1 sign-extended (i8)
  mode: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

fn f16_to_f32(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    // subnormal (or zero): m * 2^-24, exact in f32
    let v = f32(m) * 5.9604644775390625e-8;
    return select(v, -v, sign != 0u);
  }
  if (e == 31u) {
    return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
  }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let e = i32((x >> 23u) & 0xffu);
  var mant = x & 0x7fffffu;
  if (e == 255) {
    return sign | 0x7c00u | select(0u, 0x200u, mant != 0u);
  }
  let h = e - 127 + 15;
  if (h >= 31) {
    return sign | 0x7c00u;
  }
  if (h <= 0) {
    if (h < -10) {
      return sign;
    }
    mant = mant | 0x800000u;
    let shift = u32(14 - h);
    var half = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u) != 0u)) {
      half = half + 1u;
    }
    return sign | half;
  }
  var half = (u32(h) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u) != 0u)) {
    half = half + 1u;
  }
  return sign | half;
}

fn f32_to_bf16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu) != 0u) {
    return ((x >> 16u) | 0x40u) & 0xffffu;
  }
  return ((x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u) & 0xffffu;
}

fn widen16(h: u32) -> u32 {
  switch p.mode {
    case 1u: {
      return bitcast<u32>(f16_to_f32(h));
    }
    case 2u: {
      return h << 16u;
    }
    default: {
      return h;
    }
  }
}

fn narrow16(v: u32) -> u32 {
  switch p.mode {
    case 1u: {
      return f32_to_f16(bitcast<f32>(v));
    }
    case 2u: {
      return f32_to_bf16(bitcast<f32>(v));
    }
    default: {
      return v & 0xffffu;
    }
  }
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn unpack16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) {
    return;
  }
  let h = (src[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;
  dst[i] = widen16(h);
}

@compute @workgroup_size(64)
fn pack16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = index(gid, nwg);
  if (w >= p.n) {
    return;
  }
  var word = 0u;
  for (var k = 0u; k < 2u; k++) {
    let i = w * 2u + k;
    if (i < p.count) {
      word = word | (narrow16(src[i]) << (k * 16u));
    }
  }
  dst[w] = word;
}

@compute @workgroup_size(64)
fn unpack8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) {
    return;
  }
  let b = (src[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
  dst[i] = select(b, bitcast<u32>((bitcast<i32>(b << 24u)) >> 24u), p.mode == 1u);
}

@compute @workgroup_size(64)
fn pack8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = index(gid, nwg);
  if (w >= p.n) {
    return;
  }
  var word = 0u;
  for (var k = 0u; k < 4u; k++) {
    let i = w * 4u + k;
    if (i < p.count) {
      word = word | ((src[i] & 0xffu) << (k * 8u));
    }
  }
  dst[w] = word;
}
