// Materialise a strided view (shape, strides and offset in elements) as a row-major copy.
// Works on 32-bit elements; 16- and 8-bit dtypes are widened to raw bits around it.
// @include backends/webgpu/wgsl/index_walk.wgsl

struct Params {
  n: u32,
  rank: u32,
  offset: u32,
  pad: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let none = array<vec4<u32>, 2>();
  dst[i] = src[p.offset + strided_offsets(i, p.shape, p.rank, p.strides, none, none).x];
}
