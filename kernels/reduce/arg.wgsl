// argmax / argmin along one axis: the first index of the extreme value (NaN wins, as on
// the host). The axis is walked through its stride; the other axes locate the row.

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

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 64u;
  if (o >= p.n) {
    return;
  }
  var rem = o;
  var base = 0u;
  for (var d = i32(p.krank) - 1; d >= 0; d--) {
    let a = u32(d);
    let dim = p.kshape[a / 4u][a % 4u];
    base += (rem % dim) * p.kstrides[a / 4u][a % 4u];
    rem = rem / dim;
  }
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
