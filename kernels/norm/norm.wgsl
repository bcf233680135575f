// Row normalisation shared by layerNorm, rmsNorm, groupNorm and instanceNorm: each row of
// `length` contiguous elements gets two-pass statistics, then (x - mean) / sqrt(var + eps)
// times scale plus shift. The scale/shift element for (row r, position j) is
// (r % mod) * mul + (j / div) * jmul — which covers per-column, per-channel-group and
// per-(sample, channel) parameters.
//
// Two entry points: `main`, one thread per row and barrier-free, for short rows (many
// layerNorm rows of a few hundred features); `wide`, one workgroup per row, for long rows:
// an instance norm of a 1024² image has 32 rows of a million elements, which one thread per
// row leaves to 32 threads of a GPU with thousands (it took 96% of a style network's time on
// an H100). Its tree sums also round less than one long serial sum.
// @include backends/webgpu/wgsl/workgroup.wgsl

struct Params {
  rows: u32,
  length: u32,
  // 1: subtract the mean (layer/group/instance), 0: RMS only
  center: u32,
  // bit 0: scale present, bit 1: shift present
  has: u32,
  eps: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
  scale_at: vec4<u32>,
  shift_at: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn param_index(r: u32, j: u32, f: vec4<u32>) -> u32 {
  return (r % f.x) * f.y + (j / f.z) * f.w;
}

// v times the row's scale plus its shift at position j, for those the op has.
fn affine(r: u32, j: u32, v: f32) -> f32 {
  var out = v;
  if ((p.has & 1u) != 0u) {
    out = out * scale[param_index(r, j, p.scale_at)];
  }
  if ((p.has & 2u) != 0u) {
    out = out + shift[param_index(r, j, p.shift_at)];
  }
  return out;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.length;
  let n = f32(p.length);
  var mu = 0.0;
  if (p.center == 1u && p.length > 0u) {
    // Summing offsets from the first element keeps f32 precise for rows far from zero.
    let first = x[base];
    for (var j = 0u; j < p.length; j++) {
      mu += x[base + j] - first;
    }
    mu = first + mu / n;
  }
  var acc = 0.0;
  for (var j = 0u; j < p.length; j++) {
    let d = x[base + j] - mu;
    acc += d * d;
  }
  let inv = 1.0 / sqrt(acc / n + p.eps);
  for (var j = 0u; j < p.length; j++) {
    y[base + j] = affine(r, j, (x[base + j] - mu) * inv);
  }
}


@compute @workgroup_size(256)
fn wide(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  // Uniform across the workgroup, so returning early keeps the barriers uniform too.
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows || p.length == 0u) {
    return;
  }
  let base = r * p.length;
  let n = f32(p.length);
  var mu = 0.0;
  if (p.center == 1u) {
    let first = x[base];
    var s = 0.0;
    for (var j = lid; j < p.length; j += WG) {
      s += x[base + j] - first;
    }
    mu = first + workgroup_fold(lid, s, false) / n;
  }
  var acc = 0.0;
  for (var j = lid; j < p.length; j += WG) {
    let d = x[base + j] - mu;
    acc += d * d;
  }
  let inv = 1.0 / sqrt(workgroup_fold(lid, acc, false) / n + p.eps);
  for (var j = lid; j < p.length; j += WG) {
    y[base + j] = affine(r, j, (x[base + j] - mu) * inv);
  }
}
