// Scaled dot-product attention over q [B, H, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv]
// (H a multiple of Hkv: grouped queries), an optional additive mask broadcast over
// [B, H, T, S] and causal alignment of the T queries with the last T keys.
// Forward: one thread per query row with an online softmax (no score buffer, no
// barriers). Backward: row statistics first, then dq per query row and dk/dv per key row,
// all in gather form. Head sizes up to 256 (the host checks).

struct Params {
  batch: u32,
  heads: u32,
  group: u32,
  t: u32,
  s: u32,
  d: u32,
  dv: u32,
  causal: u32,
  has_mask: u32,
  scale: f32,
  // valid keys: the first `keys` of the s rows per head (kvLength; s in the backward pass)
  keys: u32,
  pad1: u32,
  // mask strides over [B, H, T, keys] (0 on broadcast axes)
  mask_strides: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
// forward: the output; backward: dO
@group(0) @binding(5) var<storage, read> dout: array<f32>;
// backward: per query row (max, sum, rowsum(dO∘o)); its own entry writes it
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(0) @binding(8) var<storage, read_write> y2: array<f32>;

const MAX_HEAD = 256u;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

// The last key row t may see.
fn last_key(t: u32) -> i32 {
  return select(i32(p.keys) - 1, i32(t + p.keys) - i32(p.t), p.causal == 1u);
}

fn kv_row(b: u32, h: u32) -> u32 {
  return b * (p.heads / p.group) + h / p.group;
}

fn score(b: u32, h: u32, t: u32, j: u32) -> f32 {
  let qo = ((b * p.heads + h) * p.t + t) * p.d;
  let ko = (kv_row(b, h) * p.s + j) * p.d;
  var dot = 0.0;
  for (var e = 0u; e < p.d; e++) {
    dot += q[qo + e] * k[ko + e];
  }
  var m = 0.0;
  if (p.has_mask == 1u) {
    let ms = p.mask_strides;
    m = mask[b * ms.x + h * ms.y + t * ms.z + j * ms.w];
  }
  return p.scale * dot + m;
}

fn neg_inf() -> f32 {
  var bits = 0xff800000u;
  return bitcast<f32>(bits);
}

// y[b, h, t, :] = softmax(scores) · v; a row with no admissible key is zero.
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = index(gid, nwg);
  if (row >= p.batch * p.heads * p.t) {
    return;
  }
  let t = row % p.t;
  let h = (row / p.t) % p.heads;
  let b = row / (p.t * p.heads);
  let vo = kv_row(b, h) * p.s * p.dv;
  var acc: array<f32, MAX_HEAD>;
  var m = neg_inf();
  var l = 0.0;
  var nan = false;
  let last = last_key(t);
  for (var j = 0; j <= last; j++) {
    let sc = score(b, h, t, u32(j));
    if (sc != sc) {
      nan = true;
    }
    if (!(sc > neg_inf())) {
      continue;
    }
    var w = 1.0;
    if (sc > m) {
      let c = exp(m - sc);
      l = l * c;
      for (var e = 0u; e < p.dv; e++) {
        acc[e] = acc[e] * c;
      }
      m = sc;
    } else {
      w = exp(sc - m);
    }
    l += w;
    for (var e = 0u; e < p.dv; e++) {
      acc[e] += w * v[vo + u32(j) * p.dv + e];
    }
  }
  let out = row * p.dv;
  for (var e = 0u; e < p.dv; e++) {
    var value = 0.0;
    if (l > 0.0) {
      value = acc[e] / l;
    }
    if (nan) {
      var nan_bits = 0x7fc00000u;
      value = bitcast<f32>(nan_bits);
    }
    y[out + e] = value;
  }
}

// stats[row] = (max, sum of exp(score - max), rowsum(dO ∘ o)); y (bound to o here) unused.
@compute @workgroup_size(64)
fn row_stats(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = index(gid, nwg);
  if (row >= p.batch * p.heads * p.t) {
    return;
  }
  let t = row % p.t;
  let h = (row / p.t) % p.heads;
  let b = row / (p.t * p.heads);
  let last = last_key(t);
  var m = neg_inf();
  for (var j = 0; j <= last; j++) {
    m = max(m, score(b, h, t, u32(j)));
  }
  var l = 0.0;
  if (m > neg_inf()) {
    for (var j = 0; j <= last; j++) {
      l += exp(score(b, h, t, u32(j)) - m);
    }
  }
  var delta = 0.0;
  for (var e = 0u; e < p.dv; e++) {
    delta += dout[row * p.dv + e] * y[row * p.dv + e];
  }
  stats[3u * row] = m;
  stats[3u * row + 1u] = l;
  stats[3u * row + 2u] = delta;
}

// Attention weight of key j for query row (b, h, t), from the row's statistics.
fn weight(b: u32, h: u32, t: u32, j: u32, row: u32) -> f32 {
  let m = stats[3u * row];
  if (!(m > neg_inf()) || i32(j) > last_key(t)) {
    return 0.0;
  }
  return exp(score(b, h, t, j) - m) / stats[3u * row + 1u];
}

// dS for (row, j) given its weight: scale · P · (dO · v_j - delta).
fn dscore(b: u32, h: u32, row: u32, j: u32, w: f32) -> f32 {
  let vo = (kv_row(b, h) * p.s + j) * p.dv;
  var dp = 0.0;
  for (var e = 0u; e < p.dv; e++) {
    dp += dout[row * p.dv + e] * v[vo + e];
  }
  return p.scale * w * (dp - stats[3u * row + 2u]);
}

// dq[b, h, t, :] = Σ_j dS_j k_j; one thread per query row.
@compute @workgroup_size(64)
fn grad_q(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = index(gid, nwg);
  if (row >= p.batch * p.heads * p.t) {
    return;
  }
  let t = row % p.t;
  let h = (row / p.t) % p.heads;
  let b = row / (p.t * p.heads);
  var acc: array<f32, MAX_HEAD>;
  let last = last_key(t);
  for (var j = 0; j <= last; j++) {
    let w = weight(b, h, t, u32(j), row);
    if (w == 0.0) {
      continue;
    }
    let ds = dscore(b, h, row, u32(j), w);
    let ko = (kv_row(b, h) * p.s + u32(j)) * p.d;
    for (var e = 0u; e < p.d; e++) {
      acc[e] += ds * k[ko + e];
    }
  }
  for (var e = 0u; e < p.d; e++) {
    y[row * p.d + e] = acc[e];
  }
}

// dk and dv of key row (b, kvh, j): sums over the group's query heads and their rows.
@compute @workgroup_size(64)
fn grad_kv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let kv_heads = p.heads / p.group;
  let key = index(gid, nwg);
  if (key >= p.batch * kv_heads * p.s) {
    return;
  }
  let j = key % p.s;
  let kvh = (key / p.s) % kv_heads;
  let b = key / (p.s * kv_heads);
  var dk: array<f32, MAX_HEAD>;
  var dv: array<f32, MAX_HEAD>;
  for (var g = 0u; g < p.group; g++) {
    let h = kvh * p.group + g;
    for (var t = 0u; t < p.t; t++) {
      let row = (b * p.heads + h) * p.t + t;
      let w = weight(b, h, t, j, row);
      if (w == 0.0) {
        continue;
      }
      for (var e = 0u; e < p.dv; e++) {
        dv[e] += w * dout[row * p.dv + e];
      }
      let ds = dscore(b, h, row, j, w);
      for (var e = 0u; e < p.d; e++) {
        dk[e] += ds * q[row * p.d + e];
      }
    }
  }
  for (var e = 0u; e < p.d; e++) {
    y[key * p.d + e] = dk[e];
  }
  for (var e = 0u; e < p.dv; e++) {
    y2[key * p.dv + e] = dv[e];
  }
}
