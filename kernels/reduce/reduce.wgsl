// Reductions over any set of axes: the kept axes locate an output's block, the reduced axes
// are walked through their strides (dimensions merged on the host, so usually rank 1). The
// entry points share the uniform block and the walk:
// - `fold`: one-pass reductions (sum, mean, prod, max, min), specialised by the @param lines.
// - `logsumexp` (max first, then the sum of exp(x - max)) and `variance` (mean first, then
//   squared deviations: stable for large offsets): two passes, f32 only.
// Each comes in two shapes, chosen per call (webgpu.ts): one thread per output, barrier-free
// (CPU-emulated adapters; short or numerous blocks), and `_wide`, one workgroup per output
// with the partial results combined as a tree in workgroup memory. A real GPU reducing a few
// long rows one thread each leaves all but a handful of its thousands of threads idle.
// @include backends/webgpu/wgsl/workgroup.wgsl

alias T = f32; // @param T
alias A = f32; // @param A

struct Params {
  n: u32,
  krank: u32,
  rrank: u32,
  count: u32,
  kshape: array<vec4<u32>, 2>,
  kstrides: array<vec4<u32>, 2>,
  rshape: array<vec4<u32>, 2>,
  rstrides: array<vec4<u32>, 2>,
  // variance: Bessel's correction
  correction: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

fn start(v: T) -> A { return A(v); } // @param START
fn step(acc: A, v: T) -> A { return acc + A(v); } // @param STEP
fn finish(acc: A, count: u32) -> T { return T(acc); } // @param FINISH
fn empty() -> T { return T(0); } // @param EMPTY
fn combine(a: A, b: A) -> A { return a + b; } // @param COMBINE

fn at4(v: array<vec4<u32>, 2>, a: u32) -> u32 {
  return v[a / 4u][a % 4u];
}

fn base_of(o: u32) -> u32 {
  var rem = o;
  var at = 0u;
  for (var d = i32(p.krank) - 1; d >= 0; d--) {
    let a = u32(d);
    let dim = at4(p.kshape, a);
    at += (rem % dim) * at4(p.kstrides, a);
    rem = rem / dim;
  }
  return at;
}

fn offset_of(r: u32) -> u32 {
  // One merged axis (the usual case) needs no division per element.
  if (p.rrank == 1u) {
    return r * p.rstrides[0].x;
  }
  var rem = r;
  var at = 0u;
  for (var d = i32(p.rrank) - 1; d >= 0; d--) {
    let a = u32(d);
    let dim = at4(p.rshape, a);
    at += (rem % dim) * at4(p.rstrides, a);
    rem = rem / dim;
  }
  return at;
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn fold(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.n) {
    return;
  }
  if (p.count == 0u) {
    y[o] = empty();
    return;
  }
  let base = base_of(o);
  var acc = start(x[base]);
  for (var r = 1u; r < p.count; r++) {
    acc = step(acc, x[base + offset_of(r)]);
  }
  y[o] = finish(acc, p.count);
}

// The two-pass entry points run only with T = f32 (the default); the f32(...) and T(...)
// conversions are no-ops there and keep the module valid when `fold` specialises T to i32.

fn load(i: u32) -> f32 {
  return f32(x[i]);
}

@compute @workgroup_size(64)
fn logsumexp(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.n) {
    return;
  }
  if (p.count == 0u) {
    var inf = 0x7f800000u;
    y[o] = T(-bitcast<f32>(inf));
    return;
  }
  let base = base_of(o);
  var m = load(base);
  for (var r = 1u; r < p.count; r++) {
    let v = load(base + offset_of(r));
    if (v > m || v != v) {
      m = v;
    }
  }
  // +-inf or NaN: the result is m itself (as the host computes it)
  if (m != m || abs(m) > 3.4028234e38) {
    y[o] = T(m);
    return;
  }
  var s = 0.0;
  for (var r = 0u; r < p.count; r++) {
    s += exp(load(base + offset_of(r)) - m);
  }
  y[o] = T(m + log(s));
}

@compute @workgroup_size(64)
fn variance(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.n) {
    return;
  }
  let base = base_of(o);
  // Offsets from the first element keep the f32 mean precise far from zero.
  let first = load(base);
  var s = 0.0;
  for (var r = 0u; r < p.count; r++) {
    s += load(base + offset_of(r)) - first;
  }
  let mean = first + s / f32(p.count);
  var q = 0.0;
  for (var r = 0u; r < p.count; r++) {
    let d = load(base + offset_of(r)) - mean;
    q += d * d;
  }
  y[o] = T(q / max(f32(p.count) - p.correction, 0.0));
}

var<workgroup> partial: array<A, 256>;

fn wide_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

@compute @workgroup_size(256)
fn fold_wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  // Uniform across the workgroup, so returning early keeps the barriers uniform too.
  let o = wide_index(wid, nwg);
  if (o >= p.n) {
    return;
  }
  if (p.count == 0u) {
    if (lid == 0u) {
      y[o] = empty();
    }
    return;
  }
  let base = base_of(o);
  // A fold has no identity element in general (max of i32), so only threads that read
  // something take part in the tree.
  let used = min(p.count, WG);
  var acc: A;
  if (lid < used) {
    acc = start(x[base + offset_of(lid)]);
    for (var r = lid + WG; r < p.count; r += WG) {
      acc = step(acc, x[base + offset_of(r)]);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s && lid + s < used) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[o] = finish(partial[0], p.count);
  }
}



@compute @workgroup_size(256)
fn logsumexp_wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = wide_index(wid, nwg);
  if (o >= p.n) {
    return;
  }
  let base = base_of(o);
  // -inf: the identity of the max, and the logsumexp of nothing
  var ninf = 0xff800000u;
  var m = bitcast<f32>(ninf);
  for (var r = lid; r < p.count; r += WG) {
    m = larger(m, load(base + offset_of(r)));
  }
  m = workgroup_fold(lid, m, true);
  var s = 0.0;
  for (var r = lid; r < p.count; r += WG) {
    s += exp(load(base + offset_of(r)) - m);
  }
  s = workgroup_fold(lid, s, false);
  if (lid == 0u) {
    // +-inf or NaN: the result is m itself (as the host computes it). Deciding only here
    // keeps every thread on the same barriers (m came from workgroup memory).
    y[o] = T(select(m + log(s), m, m != m || abs(m) > 3.4028234e38));
  }
}

@compute @workgroup_size(256)
fn variance_wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = wide_index(wid, nwg);
  if (o >= p.n) {
    return;
  }
  let base = base_of(o);
  let first = load(base);
  var s = 0.0;
  for (var r = lid; r < p.count; r += WG) {
    s += load(base + offset_of(r)) - first;
  }
  let mean = first + workgroup_fold(lid, s, false) / f32(p.count);
  var q = 0.0;
  for (var r = lid; r < p.count; r += WG) {
    let d = load(base + offset_of(r)) - mean;
    q += d * d;
  }
  q = workgroup_fold(lid, q, false);
  if (lid == 0u) {
    y[o] = T(q / max(f32(p.count) - p.correction, 0.0));
  }
}
