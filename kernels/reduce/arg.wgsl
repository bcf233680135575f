// argmax / argmin along one axis: the first index of the extreme value (NaN wins, as on
// the host). The axis is walked through its stride; the other axes locate the row.
// `main` gives each row a thread (barrier-free); `wide` gives it a workgroup whose threads
// each scan every 256th element, then pick among their candidates as a tree in workgroup
// memory (a real GPU scanning a few long rows one thread each is almost entirely idle).

alias T = f32; // @param T
fn better(a: T, b: T) -> bool { return a > b; } // @param BETTER

struct Params {
  n: u32,
  krank: u32,
  count: u32,
  stride: u32,
  kshape: array<vec4<u32>, 2>,
  kstrides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;

fn base_of(o: u32) -> u32 {
  var rem = o;
  var base = 0u;
  for (var d = i32(p.krank) - 1; d >= 0; d--) {
    let a = u32(d);
    let dim = p.kshape[a / 4u][a % 4u];
    base += (rem % dim) * p.kstrides[a / 4u][a % 4u];
    rem = rem / dim;
  }
  return base;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 64u;
  if (o >= p.n) {
    return;
  }
  let base = base_of(o);
  var best = 0u;
  var bv = x[base];
  for (var r = 1u; r < p.count; r++) {
    let v = x[base + r * p.stride];
    if (bv == bv && (v != v || better(v, bv))) {
      best = r;
      bv = v;
    }
  }
  y[o] = i32(best);
}

const WG: u32 = 256u;
var<workgroup> best_at: array<u32, 256>;
var<workgroup> best_v: array<T, 256>;

// Whether candidate (i, v) beats (j, w), both the first of their extreme values: a NaN beats
// any number, then the better value, then (NaN or equal) the lower index.
fn beats(i: u32, v: T, j: u32, w: T) -> bool {
  if ((v != v) != (w != w)) {
    return v != v;
  }
  if (v == v && (better(v, w) || better(w, v))) {
    return better(v, w);
  }
  return i < j;
}

@compute @workgroup_size(256)
fn wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  // Uniform across the workgroup, so returning early keeps the barriers uniform too.
  let o = wid.x + wid.y * nwg.x;
  if (o >= p.n) {
    return;
  }
  let base = base_of(o);
  // Only threads that read something take part in the tree (rows shorter than WG).
  let used = min(p.count, WG);
  var best = lid;
  var bv: T;
  if (lid < used) {
    bv = x[base + lid * p.stride];
    for (var r = lid + WG; r < p.count; r += WG) {
      let v = x[base + r * p.stride];
      if (bv == bv && (v != v || better(v, bv))) {
        best = r;
        bv = v;
      }
    }
  }
  best_at[lid] = best;
  best_v[lid] = bv;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s && lid + s < used && beats(best_at[lid + s], best_v[lid + s], best_at[lid], best_v[lid])) {
      best_at[lid] = best_at[lid + s];
      best_v[lid] = best_v[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[o] = i32(best_at[0]);
  }
}
