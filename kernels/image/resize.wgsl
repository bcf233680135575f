// Separable resize of NCHW planes (nearest or bilinear): the host builds one tap table
// per axis. Forward: each output pixel mixes at most 2×2 inputs. Gradient, in gather
// form: each input pixel sums the outputs that read it, from per-axis inverse tap lists
// (CSR: offsets, then (output index, weight) pairs). Zero-weight taps are never read.
//
// Both run on a 3-D grid (x: column, y: row, z: plane) rather than a flat index: splitting
// a flat index into plane, row and column took three u32 divisions per pixel, and left a
// ×2 nearest upsampling ~10× short of memory bandwidth on an H100. Each axis loops by the
// grid's size, so a grid capped at the per-dimension workgroup limit still covers any
// shape (planes beyond 65535 are the likely case); the row's and column's taps are read
// once per thread, not per plane.

struct Params {
  planes: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  pad3: u32,
  // where each table starts in `taps`
  cols_at: u32,
  row_csr_at: u32,
  col_csr_at: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> taps: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WG_X: u32 = 32u;
const WG_Y: u32 = 8u;

@compute @workgroup_size(32, 8)
fn resize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var yh = gid.y; yh < p.oh; yh += nwg.y * WG_Y) {
    // (i0, i1, w1) per output row, then per output column
    let r0 = u32(taps[3u * yh]);
    let r1 = u32(taps[3u * yh + 1u]);
    let rw = taps[3u * yh + 2u];
    for (var yw = gid.x; yw < p.ow; yw += nwg.x * WG_X) {
      let c0 = u32(taps[p.cols_at + 3u * yw]);
      let c1 = u32(taps[p.cols_at + 3u * yw + 1u]);
      let cw = taps[p.cols_at + 3u * yw + 2u];
      let w00 = (1.0 - rw) * (1.0 - cw);
      let w01 = (1.0 - rw) * cw;
      let w10 = rw * (1.0 - cw);
      let w11 = rw * cw;
      for (var plane = gid.z; plane < p.planes; plane += nwg.z) {
        let base = plane * p.h;
        var acc = 0.0;
        if (w00 != 0.0) {
          acc += w00 * x[(base + r0) * p.w + c0];
        }
        if (w01 != 0.0) {
          acc += w01 * x[(base + r0) * p.w + c1];
        }
        if (w10 != 0.0) {
          acc += w10 * x[(base + r1) * p.w + c0];
        }
        if (w11 != 0.0) {
          acc += w11 * x[(base + r1) * p.w + c1];
        }
        y[(plane * p.oh + yh) * p.ow + yw] = acc;
      }
    }
  }
}

// x is the output gradient [planes, OH, OW]; y the input gradient [planes, H, W].
@compute @workgroup_size(32, 8)
fn resize_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var ih = gid.y; ih < p.h; ih += nwg.y * WG_Y) {
    let row_from = u32(taps[p.row_csr_at + ih]);
    let row_to = u32(taps[p.row_csr_at + ih + 1u]);
    for (var iw = gid.x; iw < p.w; iw += nwg.x * WG_X) {
      let col_from = u32(taps[p.col_csr_at + iw]);
      let col_to = u32(taps[p.col_csr_at + iw + 1u]);
      for (var plane = gid.z; plane < p.planes; plane += nwg.z) {
        var acc = 0.0;
        for (var r = row_from; r < row_to; r += 2u) {
          let yh = u32(taps[r]);
          let wr = taps[r + 1u];
          for (var c = col_from; c < col_to; c += 2u) {
            acc += wr * taps[c + 1u] * x[(plane * p.oh + yh) * p.ow + u32(taps[c])];
          }
        }
        y[(plane * p.h + ih) * p.w + iw] = acc;
      }
    }
  }
}
