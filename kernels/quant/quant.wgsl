// Reading MLX-packed weights: dequantize (a thread per element), quantized embedding (a
// thread per output element) and the quantized matmul in the two kernel variants the WebGPU
// backend picks per adapter (KernelVariant): `blocked`, a thread per output with no barriers
// (CPU-emulated adapters), and `tiled`, a workgroup per output whose threads split the row and
// tree-fold it (real GPUs, rows of 256+). A row of the packed weight holds
// `cols` codes, LSB first from bit 0 of its first word; a code may straddle two words.

struct Params {
  // outputs of the dispatch
  n: u32,
  // codes per packed row, and words per packed row
  cols: u32,
  words_per_row: u32,
  group_size: u32,
  bits: u32,
  // matmul: rows of x, contraction length, output columns, 1 for x · Wᵀ
  m: u32,
  k: u32,
  out_cols: u32,
  transpose: u32,
  // embedding: table rows and the status code for an id out of range
  vocab: u32,
  code: u32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> biases: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> ids: array<i32>;
@group(0) @binding(7) var<storage, read_write> status: array<atomic<u32>, 4>;

// Element (row, col) of the dequantized weight: q·scale + bias of its group.
fn weight(row: u32, col: u32) -> f32 {
  let bit = col * p.bits;
  let at = row * p.words_per_row + (bit >> 5u);
  let shift = bit & 31u;
  var v = words[at] >> shift;
  if (shift + p.bits > 32u) {
    v = v | (words[at + 1u] << (32u - shift));
  }
  let q = f32(v & ((1u << p.bits) - 1u));
  let g = row * (p.cols / p.group_size) + col / p.group_size;
  return q * scales[g] + biases[g];
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn dequantize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) {
    return;
  }
  y[i] = weight(i / p.cols, i % p.cols);
}

@compute @workgroup_size(64)
fn embedding(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) {
    return;
  }
  let id = ids[i / p.cols];
  let vocab = i32(p.vocab);
  if (id < -vocab || id >= vocab) {
    y[i] = 0.0;
    loop {
      let r = atomicCompareExchangeWeak(&status[0], 0u, p.code);
      if (r.exchanged) {
        atomicStore(&status[1], bitcast<u32>(id));
        atomicStore(&status[2], p.vocab);
        break;
      }
      if (r.old_value != 0u) {
        break;
      }
    }
    return;
  }
  y[i] = weight(u32(select(id, id + vocab, id < 0)), i % p.cols);
}

// Term t of output (i, c): x[i, t] times W[c, t] (transpose) or W[t, c].
fn term(i: u32, c: u32, t: u32) -> f32 {
  if (p.transpose == 1u) {
    return x[i * p.k + t] * weight(c, t);
  }
  return x[i * p.k + t] * weight(t, c);
}

@compute @workgroup_size(64)
fn blocked(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.n) {
    return;
  }
  let i = o / p.out_cols;
  let c = o % p.out_cols;
  var acc = 0.0;
  for (var t = 0u; t < p.k; t++) {
    acc = acc + term(i, c, t);
  }
  y[o] = acc;
}

@compute @workgroup_size(256)
fn tiled(
  @builtin(local_invocation_id) lid3: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let o = wid.x + wid.y * nwg.x;
  let lid = lid3.x;
  // Every thread reaches the fold's barriers: an output past the end only reads nothing.
  let live = o < p.n;
  let i = select(0u, o / p.out_cols, live);
  let c = select(0u, o % p.out_cols, live);
  var acc = 0.0;
  if (live) {
    for (var t = lid; t < p.k; t += WG) {
      acc = acc + term(i, c, t);
    }
  }
  let total = workgroup_fold(lid, acc, false);
  if (live && lid == 0u) {
    y[o] = total;
  }
}

// @include backends/webgpu/wgsl/workgroup.wgsl
