// gather's gradient: y[o, r, j] = sum of g[o, k, j] over every k with indices[k] == r.
// One thread per output element, so repeated indices need no atomics. Out-of-range
// indices are skipped here and reported by gather.wgsl's `check` pass.

alias T = f32; // @param T

struct Params {
  n: u32,
  dim: u32,
  count: u32,
  inner: u32,
  code: u32,
  axis: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<T>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let j = i % p.inner;
  let r = i32((i / p.inner) % p.dim);
  let o = i / (p.inner * p.dim);
  let dim = i32(p.dim);
  var acc = T(0);
  for (var k = 0u; k < p.count; k++) {
    let idx = indices[k];
    if (idx < -dim || idx >= dim) {
      continue;
    }
    if (select(idx, idx + dim, idx < 0) == r) {
      acc += g[(o * p.count + k) * p.inner + j];
    }
  }
  y[i] = acc;
}
