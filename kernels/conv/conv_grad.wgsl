// The other two convolution kernels, one output element per thread (barrier-free):
// convTranspose2d (the input gradient of conv2d, in gather form) and conv2dWeightGrad.

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
  total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

// x [N, C, H, W], v = weight [C, O/groups, kH, kW], y [N, O, OH, OW]:
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
        acc += x[((b * p.c + ic) * p.h + ih) * p.w + iw] * v[((ic * p.og + oo) * p.kh + a) * p.kw + e];
      }
    }
  }
  y[t] = acc;
}

// x [N, C, H, W], v = g [N, O, OH, OW], y = dw [O, C/groups, kH, kW].
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
        acc += v[((b * p.o + oc) * p.oh + yh) * p.ow + yw] * x[((b * p.c + c0 + ci) * p.h + u32(ih)) * p.w + u32(iw)];
      }
    }
  }
  y[t] = acc;
}
