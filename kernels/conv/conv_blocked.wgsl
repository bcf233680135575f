// conv2d (NCHW, groups, stride, dilation, zero padding), barrier-free and register-
// blocked for CPU-emulated adapters: each thread computes 4 output channels (of one group)
// × 4 neighbouring output columns, so each input value feeds 4 channels and each weight 4
// pixels, with no workgroup memory.

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

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
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
