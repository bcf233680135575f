// Constant, reflect (NumPy 'reflect', the edge not repeated) and edge padding, and the
// gradient of reflect/edge padding. `pad` moves raw 32-bit elements (the constant comes
// as the dtype's bits); `pad_grad` sums values of type T.
// @include backends/webgpu/wgsl/index_walk.wgsl

alias T = f32; // @param T

struct Params {
  n: u32,
  rank: u32,
  // 0 constant, 1 reflect, 2 edge
  mode: u32,
  value: u32,
  in_shape: array<vec4<u32>, 2>,
  out_shape: array<vec4<u32>, 2>,
  before: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

// Source index along one axis for padded position `pos`, or -1 for the constant.
fn pad_source(pos: i32, before: i32, dim: i32) -> i32 {
  var i = pos - before;
  if (i >= 0 && i < dim) {
    return i;
  }
  if (p.mode == 0u) {
    return -1;
  }
  if (p.mode == 2u) {
    return select(dim - 1, 0, i < 0);
  }
  if (dim == 1) {
    return 0;
  }
  let period = 2 * (dim - 1);
  i = ((i % period) + period) % period;
  return select(period - i, i, i < dim);
}

@compute @workgroup_size(64)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let coord = unravel(i, p.out_shape, p.rank);
  var at = 0u;
  var scale = 1u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let a = u32(d);
    let s = pad_source(i32(coord[a]), i32(at4(p.before, a)), i32(at4(p.in_shape, a)));
    if (s < 0) {
      dst[i] = bitcast<T>(p.value);
      return;
    }
    at += u32(s) * scale;
    scale *= at4(p.in_shape, a);
  }
  dst[i] = src[at];
}

// The next padded position >= start along axis a whose source is c, or -1.
fn next_match(a: u32, start: i32, c: i32) -> i32 {
  let out_dim = i32(at4(p.out_shape, a));
  let before = i32(at4(p.before, a));
  let dim = i32(at4(p.in_shape, a));
  for (var q = start; q < out_dim; q++) {
    if (pad_source(q, before, dim) == c) {
      return q;
    }
  }
  return -1;
}

// One thread per input element: the sum of the gradient at every position that copied it.
@compute @workgroup_size(64)
fn pad_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let rank = p.rank;
  let coord = unravel(i, p.in_shape, rank);
  var pos: array<i32, 8>;
  for (var a = 0u; a < rank; a++) {
    pos[a] = next_match(a, 0, i32(coord[a]));
    if (pos[a] < 0) {
      dst[i] = T(0);
      return;
    }
  }
  var acc = T(0);
  loop {
    var at = 0u;
    for (var a = 0u; a < rank; a++) {
      at = at * at4(p.out_shape, a) + u32(pos[a]);
    }
    acc += src[at];
    // odometer: advance the last axis to its next match, carrying into earlier axes
    var d = i32(rank) - 1;
    loop {
      if (d < 0) {
        break;
      }
      let a = u32(d);
      let next = next_match(a, pos[a] + 1, i32(coord[a]));
      if (next >= 0) {
        pos[a] = next;
        break;
      }
      pos[a] = next_match(a, 0, i32(coord[a]));
      d--;
    }
    if (d < 0) {
      break;
    }
  }
  dst[i] = acc;
}
