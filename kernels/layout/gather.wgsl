// out[o, k, j] = x[o, indices[k], j] over raw 32-bit elements. Negative indices count from
// the end; an index outside [-dim, dim) writes 0 (the `check` pass reports it).

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
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;
@group(0) @binding(4) var<storage, read_write> status: array<atomic<u32>, 4>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let j = i % p.inner;
  let k = (i / p.inner) % p.count;
  let o = i / (p.inner * p.count);
  let idx = indices[k];
  let dim = i32(p.dim);
  if (idx < -dim || idx >= dim) {
    y[i] = 0u;
    return;
  }
  let row = u32(select(idx, idx + dim, idx < 0));
  y[i] = x[(o * p.dim + row) * p.inner + j];
}

// One thread scans the indices in order and reports the first one out of range (the
// status buffer; the next read throws it), naming the same index as the host check.
@compute @workgroup_size(1)
fn check() {
  let dim = i32(p.dim);
  for (var k = 0u; k < p.count; k++) {
    let idx = indices[k];
    if (idx < -dim || idx >= dim) {
      atomicStore(&status[1], bitcast<u32>(idx));
      atomicStore(&status[2], p.dim);
      atomicStore(&status[3], p.axis);
      atomicStore(&status[0], p.code);
      return;
    }
  }
}
