// sliceUpdate in place: x[offset + Σ index·stride] = update[index] for each of the update's
// 32-bit words. f16 and u8 tensors whose rows pair (quadruple) up into whole words are passed as
// word shapes by the kernel, so no two threads ever write one word.
// @include backends/webgpu/wgsl/index_walk.wgsl

struct Params {
  n: u32,
  rank: u32,
  offset: u32,
  pad0: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> update: array<u32>;
@group(0) @binding(2) var<storage, read_write> x: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let none = array<vec4<u32>, 2>();
  x[p.offset + strided_offsets(i, p.shape, p.rank, p.strides, none, none).x] = update[i];
}
