// crossEntropy over the last axis of logits [R, C] with i32 targets [R], and its gradient.
// A target outside [0, C) that is not ignore_index contributes nothing; the single-thread
// `check` pass stores it in the status buffer (thrown by the next read).
// `forward` and `backward` give each row a thread (barrier-free, for CPU-emulated adapters
// and few classes); `forward_wide` and `backward_wide` give each row a workgroup, with its
// max and sums as trees in workgroup memory: a vocabulary of tens of thousands of classes
// over a few hundred rows would otherwise leave a real GPU almost entirely idle.
// @include backends/webgpu/wgsl/workgroup.wgsl

struct Params {
  rows: u32,
  classes: u32,
  has_ignore: u32,
  ignore: i32,
  eps: f32,
  code: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> status: array<atomic<u32>, 4>;

// The row's class, or -1 when ignored or invalid (the `check` pass reports invalid ones).
fn target_class(r: u32) -> i32 {
  let t = targets[r];
  if ((p.has_ignore == 1u && t == p.ignore) || t < 0 || t >= i32(p.classes)) {
    return -1;
  }
  return t;
}

// One thread scans the targets in order and reports the first invalid one, so the message
// names the same target as the host's check.
@compute @workgroup_size(1)
fn check() {
  for (var r = 0u; r < p.rows; r++) {
    let t = targets[r];
    if (!(p.has_ignore == 1u && t == p.ignore) && (t < 0 || t >= i32(p.classes))) {
      atomicStore(&status[1], bitcast<u32>(t));
      atomicStore(&status[2], r);
      atomicStore(&status[3], p.classes);
      atomicStore(&status[0], p.code);
      return;
    }
  }
}

fn log_sum_exp(base: u32) -> f32 {
  var m = logits[base];
  for (var c = 1u; c < p.classes; c++) {
    m = max(m, logits[base + c]);
  }
  var s = 0.0;
  for (var c = 0u; c < p.classes; c++) {
    s += exp(logits[base + c] - m);
  }
  return m + log(s);
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = index(gid, nwg);
  if (r >= p.rows) {
    return;
  }
  let t = target_class(r);
  if (t < 0) {
    y[r] = 0.0;
    return;
  }
  let base = r * p.classes;
  let lse = log_sum_exp(base);
  var smoothing = 0.0;
  if (p.eps > 0.0) {
    var mean = 0.0;
    for (var c = 0u; c < p.classes; c++) {
      mean += logits[base + c];
    }
    smoothing = p.eps * (lse - mean / f32(p.classes));
  }
  y[r] = (1.0 - p.eps) * (lse - logits[base + u32(t)]) + smoothing;
}

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = index(gid, nwg);
  if (r >= p.rows) {
    return;
  }
  let base = r * p.classes;
  let t = target_class(r);
  if (t < 0) {
    for (var c = 0u; c < p.classes; c++) {
      y[base + c] = 0.0;
    }
    return;
  }
  let lse = log_sum_exp(base);
  let uniform_q = p.eps / f32(p.classes);
  for (var c = 0u; c < p.classes; c++) {
    let q = select(0.0, 1.0 - p.eps, i32(c) == t) + uniform_q;
    y[base + c] = g[r] * (exp(logits[base + c] - lse) - q);
  }
}


fn wide_log_sum_exp(base: u32, lid: u32) -> f32 {
  // -inf: the identity of the max, for threads past the end of a row shorter than WG
  var ninf = 0xff800000u;
  var m = bitcast<f32>(ninf);
  for (var c = lid; c < p.classes; c += WG) {
    m = max(m, logits[base + c]);
  }
  m = workgroup_fold(lid, m, true);
  var s = 0.0;
  for (var c = lid; c < p.classes; c += WG) {
    s += exp(logits[base + c] - m);
  }
  return m + log(workgroup_fold(lid, s, false));
}

@compute @workgroup_size(256)
fn forward_wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  // The row and its target are the same for the whole workgroup, so returning early keeps
  // the barriers uniform.
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let t = target_class(r);
  if (t < 0) {
    if (lid == 0u) {
      y[r] = 0.0;
    }
    return;
  }
  let base = r * p.classes;
  let lse = wide_log_sum_exp(base, lid);
  var smoothing = 0.0;
  if (p.eps > 0.0) {
    var sum = 0.0;
    for (var c = lid; c < p.classes; c += WG) {
      sum += logits[base + c];
    }
    smoothing = p.eps * (lse - workgroup_fold(lid, sum, false) / f32(p.classes));
  }
  if (lid == 0u) {
    y[r] = (1.0 - p.eps) * (lse - logits[base + u32(t)]) + smoothing;
  }
}

@compute @workgroup_size(256)
fn backward_wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.classes;
  let t = target_class(r);
  if (t < 0) {
    for (var c = lid; c < p.classes; c += WG) {
      y[base + c] = 0.0;
    }
    return;
  }
  let lse = wide_log_sum_exp(base, lid);
  let uniform_q = p.eps / f32(p.classes);
  for (var c = lid; c < p.classes; c += WG) {
    let q = select(0.0, 1.0 - p.eps, i32(c) == t) + uniform_q;
    y[base + c] = g[r] * (exp(logits[base + c] - lse) - q);
  }
}
