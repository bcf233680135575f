// Walking a row-major flat index over a shape of up to 8 axes (per-axis values packed in two
// vec4s of a uniform block), shared by the kernels that read through strides or broadcast:
// binary, where, pad, slice_scatter, the strided copy and matmul's batch walk. A kernel file
// pulls this in with `// @include backends/webgpu/wgsl/index_walk.wgsl`; the loader appends it
// after the file's last line, so compiler messages keep the kernel file's own line numbers.

// Entry `a` of a per-axis array.
fn at4(v: array<vec4<u32>, 2>, a: u32) -> u32 {
  return v[a / 4u][a % 4u];
}

// The element offsets of flat index `i` of `shape` (its first `rank` axes) through up to three
// stride lists at once (0 on broadcast axes; pass `array<vec4<u32>, 2>()` for an unused one).
fn strided_offsets(
  i: u32,
  shape: array<vec4<u32>, 2>,
  rank: u32,
  s0: array<vec4<u32>, 2>,
  s1: array<vec4<u32>, 2>,
  s2: array<vec4<u32>, 2>,
) -> vec3<u32> {
  var rem = i;
  var at = vec3<u32>(0u);
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let a = u32(d);
    let dim = at4(shape, a);
    let idx = rem % dim;
    rem = rem / dim;
    at += idx * vec3<u32>(at4(s0, a), at4(s1, a), at4(s2, a));
  }
  return at;
}

// The coordinates of flat index `i` of `shape` (its first `rank` axes), for kernels whose
// per-axis rule is more than a stride (padding, slice placement).
fn unravel(i: u32, shape: array<vec4<u32>, 2>, rank: u32) -> array<u32, 8> {
  var coord: array<u32, 8>;
  var rem = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let a = u32(d);
    let dim = at4(shape, a);
    coord[a] = rem % dim;
    rem = rem / dim;
  }
  return coord;
}
