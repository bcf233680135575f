// One-pass reductions (sum, mean, prod, max, min) over any set of axes. One thread per
// output: the kept axes locate the block, the reduced axes are walked through their
// strides (dimensions merged on the host, so usually rank 1). Barrier-free.

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

fn start(v: T) -> A { return A(v); } // @param START
fn step(acc: A, v: T) -> A { return acc + A(v); } // @param STEP
fn finish(acc: A, count: u32) -> T { return T(acc); } // @param FINISH
fn empty() -> T { return T(0); } // @param EMPTY

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

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 64u;
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
