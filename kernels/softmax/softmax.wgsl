// softmax and logSoftmax along one axis of [outer, dim, inner]: one thread per line
// (max, then the sum of exp(x - max), then the outputs). Barrier-free.

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

fn line(l: u32) -> Line {
  let o = l / p.inner;
  let i = l % p.inner;
  let start = o * p.dim * p.inner + i;
  var m = x[start];
  for (var j = 1u; j < p.dim; j++) {
    let v = x[start + j * p.inner];
    if (v > m || v != v) {
      m = v;
    }
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
