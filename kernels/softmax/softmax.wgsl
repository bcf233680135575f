// softmax and logSoftmax along one axis of [outer, dim, inner], in two shapes chosen per
// call (webgpu.ts):
// - `softmax`, `log_softmax`: one thread per line (max, then the sum of exp(x - max), then
//   the outputs). Barrier-free, for CPU-emulated adapters and short or numerous lines.
// - `softmax_wide`, `log_softmax_wide`: one workgroup per line, with the max and the sum as
//   trees in workgroup memory. A real GPU given a few long lines (a vocabulary-sized
//   softmax) otherwise leaves all but a handful of its thousands of threads idle.
// @include backends/webgpu/wgsl/workgroup.wgsl

struct Params {
  lines: u32,
  dim: u32,
  inner: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

struct Line {
  start: u32,
  max: f32,
  sum: f32,
}

fn line_start(l: u32) -> u32 {
  let o = l / p.inner;
  let i = l % p.inner;
  return o * p.dim * p.inner + i;
}


fn line(l: u32) -> Line {
  let start = line_start(l);
  var m = x[start];
  for (var j = 1u; j < p.dim; j++) {
    m = larger(m, x[start + j * p.inner]);
  }
  var s = 0.0;
  for (var j = 0u; j < p.dim; j++) {
    s += exp(x[start + j * p.inner] - m);
  }
  return Line(start, m, s);
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let l = index(gid, nwg);
  if (l >= p.lines) {
    return;
  }
  let s = line(l);
  for (var j = 0u; j < p.dim; j++) {
    let at = s.start + j * p.inner;
    y[at] = exp(x[at] - s.max) / s.sum;
  }
}

@compute @workgroup_size(64)
fn log_softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let l = index(gid, nwg);
  if (l >= p.lines) {
    return;
  }
  let s = line(l);
  let log_sum = log(s.sum);
  for (var j = 0u; j < p.dim; j++) {
    let at = s.start + j * p.inner;
    y[at] = x[at] - s.max - log_sum;
  }
}


fn wide_line(l: u32, lid: u32) -> Line {
  let start = line_start(l);
  // -inf: the identity of the max, for threads past the end of a line shorter than WG
  var ninf = 0xff800000u;
  var m = bitcast<f32>(ninf);
  for (var j = lid; j < p.dim; j += WG) {
    m = larger(m, x[start + j * p.inner]);
  }
  m = workgroup_fold(lid, m, true);
  var s = 0.0;
  for (var j = lid; j < p.dim; j += WG) {
    s += exp(x[start + j * p.inner] - m);
  }
  return Line(start, m, workgroup_fold(lid, s, false));
}

@compute @workgroup_size(256)
fn softmax_wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  // Uniform across the workgroup, so returning early keeps the barriers uniform too.
  let l = wid.x + wid.y * nwg.x;
  if (l >= p.lines) {
    return;
  }
  let s = wide_line(l, lid);
  for (var j = lid; j < p.dim; j += WG) {
    let at = s.start + j * p.inner;
    y[at] = exp(x[at] - s.max) / s.sum;
  }
}

@compute @workgroup_size(256)
fn log_softmax_wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let l = wid.x + wid.y * nwg.x;
  if (l >= p.lines) {
    return;
  }
  let s = wide_line(l, lid);
  let log_sum = log(s.sum);
  for (var j = lid; j < p.dim; j += WG) {
    let at = s.start + j * p.inner;
    y[at] = x[at] - s.max - log_sum;
  }
}
