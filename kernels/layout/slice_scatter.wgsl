// slice's gradient: zeros of the input shape with g placed at begin + index * step.
// Raw 32-bit elements (zero bits are 0 in every dtype).
// @include backends/webgpu/wgsl/index_walk.wgsl

struct Params {
  n: u32,
  rank: u32,
  pad0: u32,
  pad1: u32,
  shape: array<vec4<u32>, 2>,
  begin: array<vec4<u32>, 2>,
  step: array<vec4<u32>, 2>,
  size: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let coord = unravel(i, p.shape, p.rank);
  var at = 0u;
  var scale = 1u;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let a = u32(d);
    let off = i32(coord[a]) - i32(at4(p.begin, a));
    let step = i32(at4(p.step, a));
    let size = at4(p.size, a);
    if (off < 0 || off % step != 0 || u32(off / step) >= size) {
      inside = false;
    } else {
      at += u32(off / step) * scale;
    }
    scale *= size;
  }
  y[i] = select(0u, g[at], inside);
}
