// conv2d as an implicit GEMM tiled through workgroup memory, for real GPUs: per group,
// C[oc, col] = Σ_k W[oc, k] · X̂[k, col] with k = (ci, kh, kw) and col = (n, oh, ow); X̂ is
// gathered from x on the fly (zero outside the image). A 16×16 workgroup computes a
// 64×64 block, each thread 4×4; z is the group.

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
  blocks_o: u32,
  blocks_w: u32,
  total: u32,
  // Border mode of conv2d's padding: 0 zeros, 1 reflect, 2 replicate.
  pad_mode: u32, // border of conv2d's padding: 0 zeros, 1 reflect, 2 replicate
  pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
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

const TM = 64u;
const TN = 64u;
const TK = 16u;

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
fn main(
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
