// Convolution kernels (NCHW, groups, stride, dilation). Every entry point reads the same
// uniform block and bindings, so they live in one module and the layout is written once:
// - conv2d `tiled`, for real GPUs: an implicit GEMM through workgroup memory. Per group,
//   C[oc, col] = Σ_k W[oc, k] · X̂[k, col] with k = (ci, kh, kw) and col = (n, oh, ow); X̂ is
//   gathered from x on the fly. A 16×16 workgroup computes a 64×64 block, each thread 4×4;
//   z is the group.
// - conv2d `blocked`, barrier-free and register-blocked for CPU-emulated adapters: each
//   thread computes 4 output channels (of one group) × 4 neighbouring output columns, so
//   each input value feeds 4 channels and each weight 4 pixels, with no workgroup memory.
// - `transpose` (convTranspose2d, the input gradient of conv2d in gather form) and
//   `weight_grad` (conv2dWeightGrad): one output element per thread, barrier-free.

struct Params {
  n: u32,
  c: u32,
  h: u32,
  w: u32,
  o: u32,
  cg: u32,
  kh: u32,
  kw: u32,
  oh: u32,
  ow: u32,
  groups: u32,
  og: u32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  top: i32,
  left: i32,
  has_bias: u32,
  // conv2d `blocked` only: 4-channel and 4-column blocks per row
  blocks_o: u32,
  blocks_w: u32,
  // threads doing work in the 1-D entry points
  total: u32,
  // Border mode of conv2d's padding: 0 zeros, 1 reflect, 2 replicate. The gradient kernels
  // pad with zeros only.
  pad_mode: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// The weight, except in `weight_grad`, which binds the output gradient g here.
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Where padded coordinate i of an axis of `size` reads (p.pad_mode): 0 zeros (−1 outside),
// 1 reflect (mirror without the edge), 2 replicate (the edge).
fn border(i: i32, size: i32) -> i32 {
  if (i >= 0 && i < size) {
    return i;
  }
  if (p.pad_mode == 1u) {
    return select(2 * (size - 1) - i, -i, i < 0);
  }
  if (p.pad_mode == 2u) {
    return select(size - 1, 0, i < 0);
  }
  return -1;
}

// The thread's index in a 1-D grid of 64-thread workgroups (x first, overflow in y).
fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

const TM = 64u;
const TN = 64u;
const TK = 16u;

// Only `tiled` touches these, so the other pipelines reserve no workgroup memory.
var<workgroup> tile_w: array<f32, 1024>; // TM × TK
var<workgroup> tile_x: array<f32, 1024>; // TK × TN

fn gather_x(g: u32, k: u32, col: u32) -> f32 {
  let e = k % p.kw;
  let a = (k / p.kw) % p.kh;
  let ci = k / (p.kw * p.kh);
  let yw = col % p.ow;
  let yh = (col / p.ow) % p.oh;
  let b = col / (p.ow * p.oh);
  let ih = border(i32(yh) * p.sh - p.top + i32(a) * p.dh, i32(p.h));
  let iw = border(i32(yw) * p.sw - p.left + i32(e) * p.dw, i32(p.w));
  if (ih < 0 || iw < 0) {
    return 0.0;
  }
  return x[((b * p.c + g * p.cg + ci) * p.h + u32(ih)) * p.w + u32(iw)];
}

@compute @workgroup_size(16, 16)
fn tiled(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let g = wid.z;
  let kdim = p.cg * p.kh * p.kw;
  let cols = p.n * p.oh * p.ow;
  let block_row = wid.y * TM;
  let block_col = wid.x * TN;
  var acc: array<vec4<f32>, 4>;
  let steps = (kdim + TK - 1u) / TK;
  for (var s = 0u; s < steps; s++) {
    let k0 = s * TK;
    for (var e = 0u; e < 4u; e++) {
      let flat = li + e * 256u;
      let r = flat / TK;
      let kk = k0 + flat % TK;
      var vw = 0.0;
      if (block_row + r < p.og && kk < kdim) {
        vw = wt[(g * p.og + block_row + r) * kdim + kk];
      }
      tile_w[flat] = vw;
      let kx = k0 + flat / TN;
      let col = block_col + flat % TN;
      var vx = 0.0;
      if (kx < kdim && col < cols) {
        vx = gather_x(g, kx, col);
      }
      tile_x[flat] = vx;
    }
    workgroupBarrier();
    for (var q = 0u; q < TK; q++) {
      let wv = vec4<f32>(
        tile_w[(lid.y * 4u + 0u) * TK + q],
        tile_w[(lid.y * 4u + 1u) * TK + q],
        tile_w[(lid.y * 4u + 2u) * TK + q],
        tile_w[(lid.y * 4u + 3u) * TK + q],
      );
      let xv = vec4<f32>(
        tile_x[q * TN + lid.x * 4u + 0u],
        tile_x[q * TN + lid.x * 4u + 1u],
        tile_x[q * TN + lid.x * 4u + 2u],
        tile_x[q * TN + lid.x * 4u + 3u],
      );
      acc[0] += wv.x * xv;
      acc[1] += wv.y * xv;
      acc[2] += wv.z * xv;
      acc[3] += wv.w * xv;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let row = block_row + lid.y * 4u + r;
    if (row < p.og) {
      let oc = g * p.og + row;
      var bv = 0.0;
      if (p.has_bias == 1u) {
        bv = bias[oc];
      }
      for (var t = 0u; t < 4u; t++) {
        let col = block_col + lid.x * 4u + t;
        if (col < cols) {
          let yw = col % p.ow;
          let yh = (col / p.ow) % p.oh;
          let b = col / (p.ow * p.oh);
          y[((b * p.o + oc) * p.oh + yh) * p.ow + yw] = acc[r][t] + bv;
        }
      }
    }
  }
}

@compute @workgroup_size(64)
fn blocked(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = index(gid, nwg);
  if (t >= p.total) {
    return;
  }
  let bw = t % p.blocks_w;
  let t1 = t / p.blocks_w;
  let yh = t1 % p.oh;
  let t2 = t1 / p.oh;
  let bo = t2 % p.blocks_o;
  let t3 = t2 / p.blocks_o;
  let g = t3 % p.groups;
  let b = t3 / p.groups;
  let first_o = bo * 4u;
  let ow0 = bw * 4u;
  // Channel rows of the block, clamped inside the group (extra rows are computed, not stored).
  var wrow: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) {
    wrow[j] = (g * p.og + min(first_o + j, p.og - 1u)) * p.cg;
  }
  var acc: array<vec4<f32>, 4>;
  let ih0 = i32(yh) * p.sh - p.top;
  for (var ci = 0u; ci < p.cg; ci++) {
    let plane = (b * p.c + g * p.cg + ci) * p.h;
    for (var a = 0u; a < p.kh; a++) {
      let ih = border(ih0 + i32(a) * p.dh, i32(p.h));
      if (ih < 0) {
        continue;
      }
      let row = (plane + u32(ih)) * p.w;
      for (var e = 0u; e < p.kw; e++) {
        var xv = vec4<f32>(0.0);
        for (var q = 0u; q < 4u; q++) {
          let iw = border(i32(ow0 + q) * p.sw - p.left + i32(e) * p.dw, i32(p.w));
          if (ow0 + q < p.ow && iw >= 0) {
            xv[q] = x[row + u32(iw)];
          }
        }
        let k = (ci * p.kh + a) * p.kw + e;
        let kk = p.kh * p.kw;
        acc[0] += wt[wrow[0] * kk + k] * xv;
        acc[1] += wt[wrow[1] * kk + k] * xv;
        acc[2] += wt[wrow[2] * kk + k] * xv;
        acc[3] += wt[wrow[3] * kk + k] * xv;
      }
    }
  }
  for (var j = 0u; j < 4u; j++) {
    if (first_o + j >= p.og) {
      break;
    }
    let oc = g * p.og + first_o + j;
    var bv = 0.0;
    if (p.has_bias == 1u) {
      bv = bias[oc];
    }
    for (var q = 0u; q < 4u; q++) {
      if (ow0 + q < p.ow) {
        y[((b * p.o + oc) * p.oh + yh) * p.ow + ow0 + q] = acc[j][q] + bv;
      }
    }
  }
}

// x [N, C, H, W], wt = weight [C, O/groups, kH, kW], y [N, O, OH, OW]:
// y[n, o, yh, yw] = b[o] + Σ x[n, c, ih, iw] · w[c, o - group start, a, e] over ih·sh - top + a·dh = yh.
@compute @workgroup_size(64)
fn transpose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = index(gid, nwg);
  if (t >= p.total) {
    return;
  }
  let yw = t % p.ow;
  let yh = (t / p.ow) % p.oh;
  let oc = (t / (p.ow * p.oh)) % p.o;
  let b = t / (p.ow * p.oh * p.o);
  let group = oc / p.og;
  let oo = oc % p.og;
  var acc = 0.0;
  if (p.has_bias == 1u) {
    acc = bias[oc];
  }
  for (var ci = 0u; ci < p.cg; ci++) {
    let ic = group * p.cg + ci;
    for (var a = 0u; a < p.kh; a++) {
      let th = i32(yh) + p.top - i32(a) * p.dh;
      if (th < 0 || th % p.sh != 0 || th / p.sh >= i32(p.h)) {
        continue;
      }
      let ih = u32(th / p.sh);
      for (var e = 0u; e < p.kw; e++) {
        let tw = i32(yw) + p.left - i32(e) * p.dw;
        if (tw < 0 || tw % p.sw != 0 || tw / p.sw >= i32(p.w)) {
          continue;
        }
        let iw = u32(tw / p.sw);
        acc += x[((b * p.c + ic) * p.h + ih) * p.w + iw] * wt[((ic * p.og + oo) * p.kh + a) * p.kw + e];
      }
    }
  }
  y[t] = acc;
}

// x [N, C, H, W], wt = g [N, O, OH, OW], y = dw [O, C/groups, kH, kW].
@compute @workgroup_size(64)
fn weight_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = index(gid, nwg);
  if (t >= p.total) {
    return;
  }
  let e = t % p.kw;
  let a = (t / p.kw) % p.kh;
  let ci = (t / (p.kw * p.kh)) % p.cg;
  let oc = t / (p.kw * p.kh * p.cg);
  let c0 = (oc / p.og) * p.cg;
  var acc = 0.0;
  for (var b = 0u; b < p.n; b++) {
    for (var yh = 0u; yh < p.oh; yh++) {
      let ih = i32(yh) * p.sh - p.top + i32(a) * p.dh;
      if (ih < 0 || ih >= i32(p.h)) {
        continue;
      }
      for (var yw = 0u; yw < p.ow; yw++) {
        let iw = i32(yw) * p.sw - p.left + i32(e) * p.dw;
        if (iw < 0 || iw >= i32(p.w)) {
          continue;
        }
        acc += wt[((b * p.o + oc) * p.oh + yh) * p.ow + yw] * x[((b * p.c + c0 + ci) * p.h + u32(ih)) * p.w + u32(iw)];
      }
    }
  }
  y[t] = acc;
}
