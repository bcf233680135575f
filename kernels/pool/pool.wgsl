// 2-D pooling over NCHW planes, all in gather form (one thread per output element, or per
// input element for the gradients, which revisit the few windows that cover it), so no
// atomics and no barriers. Window order and tie rules follow ref.ts: the first maximum
// wins, a NaN beats any number, padding never wins.

struct Params {
  planes: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  count_include_pad: u32,
  sh: i32,
  sw: i32,
  top: i32,
  left: i32,
  dh: i32,
  dw: i32,
  total: u32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

// Flat input index of the window's maximum, or -1 when the window is all padding.
fn window_argmax(plane: u32, yh: u32, yw: u32) -> i32 {
  var best = -1;
  var bv = 0.0;
  for (var a = 0u; a < p.kh; a++) {
    let ih = i32(yh) * p.sh - p.top + i32(a) * p.dh;
    if (ih < 0 || ih >= i32(p.h)) {
      continue;
    }
    for (var e = 0u; e < p.kw; e++) {
      let iw = i32(yw) * p.sw - p.left + i32(e) * p.dw;
      if (iw < 0 || iw >= i32(p.w)) {
        continue;
      }
      let s = i32((plane * p.h + u32(ih)) * p.w + u32(iw));
      let xv = x[s];
      if (best < 0 || (bv == bv && (xv > bv || xv != xv))) {
        best = s;
        bv = xv;
      }
    }
  }
  return best;
}

// Real (non-padding) elements of a window, and their sum.
fn window_sum(plane: u32, yh: u32, yw: u32) -> vec2<f32> {
  var count = 0.0;
  var acc = 0.0;
  for (var a = 0u; a < p.kh; a++) {
    let ih = i32(yh) * p.sh - p.top + i32(a);
    if (ih < 0 || ih >= i32(p.h)) {
      continue;
    }
    for (var e = 0u; e < p.kw; e++) {
      let iw = i32(yw) * p.sw - p.left + i32(e);
      if (iw < 0 || iw >= i32(p.w)) {
        continue;
      }
      count += 1.0;
      acc += x[(plane * p.h + u32(ih)) * p.w + u32(iw)];
    }
  }
  return vec2<f32>(acc, count);
}

fn divisor(count: f32) -> f32 {
  return select(count, f32(p.kh * p.kw), p.count_include_pad == 1u);
}

@compute @workgroup_size(64)
fn avg_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.total) {
    return;
  }
  let yw = o % p.ow;
  let yh = (o / p.ow) % p.oh;
  let plane = o / (p.ow * p.oh);
  let s = window_sum(plane, yh, yw);
  y[o] = s.x / divisor(s.y);
}

@compute @workgroup_size(64)
fn max_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.total) {
    return;
  }
  let best = window_argmax(o / (p.ow * p.oh), (o / p.ow) % p.oh, o % p.ow);
  if (best < 0) {
    var inf = 0xff800000u;
    y[o] = bitcast<f32>(inf);
  } else {
    y[o] = x[best];
  }
}

// y[o] = v at the position of x's window maximum (0 for an all-padding window).
@compute @workgroup_size(64)
fn max_pool_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = index(gid, nwg);
  if (o >= p.total) {
    return;
  }
  let best = window_argmax(o / (p.ow * p.oh), (o / p.ow) % p.oh, o % p.ow);
  if (best < 0) {
    y[o] = 0.0;
  } else {
    y[o] = v[best];
  }
}

// The output windows (yh, yw) whose tap (a, e) reads input row ih / column iw.
fn covers(ih: i32, a: u32, stride: i32, pad: i32, dil: i32, out_dim: u32) -> i32 {
  let t = ih + pad - i32(a) * dil;
  if (t < 0 || t % stride != 0 || t / stride >= i32(out_dim)) {
    return -1;
  }
  return t / stride;
}

// x is the input (for the argmax), v the output gradient; one thread per input element.
@compute @workgroup_size(64)
fn max_pool_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.total) {
    return;
  }
  let iw = i32(i % p.w);
  let ih = i32((i / p.w) % p.h);
  let plane = i / (p.w * p.h);
  var acc = 0.0;
  for (var a = 0u; a < p.kh; a++) {
    let yh = covers(ih, a, p.sh, p.top, p.dh, p.oh);
    if (yh < 0) {
      continue;
    }
    for (var e = 0u; e < p.kw; e++) {
      let yw = covers(iw, e, p.sw, p.left, p.dw, p.ow);
      if (yw < 0) {
        continue;
      }
      if (window_argmax(plane, u32(yh), u32(yw)) == i32(i)) {
        acc += v[(plane * p.oh + u32(yh)) * p.ow + u32(yw)];
      }
    }
  }
  y[i] = acc;
}

// Here x is the output gradient [planes, OH, OW]; y the input gradient [planes, H, W].
@compute @workgroup_size(64)
fn avg_pool_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.total) {
    return;
  }
  let iw = i32(i % p.w);
  let ih = i32((i / p.w) % p.h);
  let plane = i / (p.w * p.h);
  var acc = 0.0;
  for (var a = 0u; a < p.kh; a++) {
    let yh = covers(ih, a, p.sh, p.top, 1, p.oh);
    if (yh < 0) {
      continue;
    }
    // real rows of that window
    var rows = 0.0;
    for (var r = 0u; r < p.kh; r++) {
      let h2 = yh * p.sh - p.top + i32(r);
      rows += select(0.0, 1.0, h2 >= 0 && h2 < i32(p.h));
    }
    for (var e = 0u; e < p.kw; e++) {
      let yw = covers(iw, e, p.sw, p.left, 1, p.ow);
      if (yw < 0) {
        continue;
      }
      var cols = 0.0;
      for (var c = 0u; c < p.kw; c++) {
        let w2 = yw * p.sw - p.left + i32(c);
        cols += select(0.0, 1.0, w2 >= 0 && w2 < i32(p.w));
      }
      acc += x[(plane * p.oh + u32(yh)) * p.ow + u32(yw)] / divisor(rows * cols);
    }
  }
  y[i] = acc;
}
