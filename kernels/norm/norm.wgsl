// Row normalisation shared by layerNorm, rmsNorm, groupNorm and instanceNorm: each row of
// `length` contiguous elements gets two-pass statistics, then (x - mean) / sqrt(var + eps)
// times scale plus shift. The scale/shift element for (row r, position j) is
// (r % mod) * mul + (j / div) * jmul — which covers per-column, per-channel-group and
// per-(sample, channel) parameters. One thread per row; barrier-free.

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
    var v = (x[base + j] - mu) * inv;
    if ((p.has & 1u) != 0u) {
      v = v * scale[param_index(r, j, p.scale_at)];
    }
    if ((p.has & 2u) != 0u) {
      v = v + shift[param_index(r, j, p.shift_at)];
    }
    y[base + j] = v;
  }
}
