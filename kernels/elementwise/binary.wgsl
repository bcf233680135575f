// Two-input elementwise ops with NumPy broadcasting: each operand is read through its
// own strides (0 on broadcast axes) over the merged output shape.
// @include backends/webgpu/wgsl/index_walk.wgsl

alias T = f32; // @param T
alias TO = f32; // @param TO

struct Params {
  n: u32,
  rank: u32,
  pad0: u32,
  pad1: u32,
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<TO>;

// Special values through a var: a constant inf or NaN is a shader-creation error.
fn special(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

// a^b with the host's conventions for a <= 0 (integer exponents keep their sign).
fn pow_(x: f32, e: f32) -> f32 {
  if (e == 0.0) {
    return 1.0;
  }
  if (x == 0.0) {
    return select(0.0, special(0x7f800000u), e < 0.0);
  }
  if (x < 0.0) {
    if (e != floor(e)) {
      return special(0x7fc00000u);
    }
    let r = pow(-x, e);
    return select(r, -r, abs(e) % 2.0 == 1.0);
  }
  return pow(x, e);
}

fn op(u: T, v: T) -> TO { return u + v; } // @param OP

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let at = strided_offsets(i, p.shape, p.rank, p.sa, p.sb, array<vec4<u32>, 2>());
  y[i] = op(a[at.x], b[at.y]);
}
