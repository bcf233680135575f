// Convolutions on the wasm backend, all as GEMMs on the packed micro-kernel in
// kernels/matmul/wasm.as:
//   conv2d            Y[n, g] = W_g (og x cg·kh·kw) · im2col(x[n, g])      (im2col packed on the fly)
//   convTranspose2d   cols = W_gᵀ · X[n, g], then col2im scatter-add into y   (two dispatches per image)
//   conv2dWeightGrad  dW_g = Σ_n G[n, g] · im2colᵀ(x[n, g])                   (accumulated over n)
//
// `p` is an i32 record the TS side fills (kernels/conv/wasm.ts, CONV_FIELDS); `desc` is the
// B descriptor for the im2col packer.
import { colUnits, gemmRect, MR, NR, rowUnits } from '../matmul/wasm.as';

const N_: i32 = 0;
const C_: i32 = 1;
const H_: i32 = 2;
const W_: i32 = 3;
const O_: i32 = 4;
const OH_: i32 = 5;
const OW_: i32 = 6;
const KH_: i32 = 7;
const KW_: i32 = 8;
const SH_: i32 = 9;
const SW_: i32 = 10;
const PT_: i32 = 11;
const PL_: i32 = 12;
const DH_: i32 = 13;
const DW_: i32 = 14;
const G_: i32 = 15;
const SPLIT_ROWS: i32 = 16;

@inline function f(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/** Fill rows [r0, r1), columns [c0, c1) of a row-major C with one value per row (the bias). */
function fillRows(c: usize, ldc: i32, r0: i32, r1: i32, c0: i32, c1: i32, bias: usize, biasIndex0: i32): void {
  for (let i = r0; i < r1; i++) {
    const v = load<f32>(bias + (<usize>(biasIndex0 + i) << 2));
    const row = c + (<usize>(i * ldc + c0) << 2);
    const splat = f32x4.splat(v);
    const n = c1 - c0;
    let j = 0;
    for (; j + 4 <= n; j += 4) v128.store(row + (<usize>j << 2), splat);
    for (; j < n; j++) store<f32>(row + (<usize>j << 2), v);
  }
}

/**
 * conv2d: units run over (image, group, strip) where a strip is MR output channels or NR
 * output pixels (p[SPLIT_ROWS]). bias may be 0 (none).
 */
export function conv2d_f32(x: usize, w: usize, bias: usize, y: usize, p: usize, desc: usize, u0: i32, u1: i32, tid: i32): void {
  const C = f(p, C_);
  const H = f(p, H_);
  const W = f(p, W_);
  const O = f(p, O_);
  const groups = f(p, G_);
  const pixels = f(p, OH_) * f(p, OW_);
  const cg = C / groups;
  const og = O / groups;
  const k = cg * f(p, KH_) * f(p, KW_);
  const splitRows = f(p, SPLIT_ROWS) != 0;
  const per = splitRows ? rowUnits(og) : colUnits(pixels);
  let u = u0;
  while (u < u1) {
    const prod = u / per;
    const lo = u - prod * per;
    const hi = min(u1 - prod * per, per);
    const n = prod / groups;
    const g = prod - n * groups;
    const xOff = (n * C + g * cg) * H * W;
    const a = w + (<usize>(g * og * k) << 2);
    const c = y + (<usize>((n * O + g * og) * pixels) << 2);
    const r0 = splitRows ? lo * MR : 0;
    const r1 = splitRows ? min(hi * MR, og) : og;
    const c0 = splitRows ? 0 : lo * NR;
    const c1 = splitRows ? pixels : min(hi * NR, pixels);
    if (bias != 0) fillRows(c, pixels, r0, r1, c0, c1, bias, g * og);
    gemmRect(a, k, 1, og, desc, xOff, pixels, k, c, pixels, r0, r1, c0, c1, bias != 0);
    u = (prod + 1) * per;
  }
}

/**
 * convTranspose2d, GEMM phase for image n: cols[g] (og·kh·kw x H·W) = W_gᵀ · X[n, g]. W is
 * [C, og, kh, kw], so W_gᵀ[i, c] = w[(g·cg + c)·og·kh·kw + i]: a column-major A. Units run
 * over (group, strip); desc is a B_MATRIX record over x.
 */
export function conv_transpose_gemm_f32(
  w: usize,
  cols: usize,
  n: i32,
  p: usize,
  desc: usize,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  const C = f(p, C_);
  const hw = f(p, H_) * f(p, W_);
  const O = f(p, O_);
  const groups = f(p, G_);
  const cg = C / groups;
  const og = O / groups;
  const rows = og * f(p, KH_) * f(p, KW_);
  const splitRows = f(p, SPLIT_ROWS) != 0;
  const per = splitRows ? rowUnits(rows) : colUnits(hw);
  let u = u0;
  while (u < u1) {
    const g = u / per;
    const lo = u - g * per;
    const hi = min(u1 - g * per, per);
    const a = w + (<usize>(g * cg * rows) << 2);
    const xOff = (n * C + g * cg) * hw;
    const c = cols + (<usize>(g * rows * hw) << 2);
    if (splitRows) gemmRect(a, 1, rows, rows, desc, xOff, hw, cg, c, hw, lo * MR, min(hi * MR, rows), 0, hw, false);
    else gemmRect(a, 1, rows, rows, desc, xOff, hw, cg, c, hw, 0, rows, lo * NR, min(hi * NR, hw), false);
    u = (g + 1) * per;
  }
}

/**
 * convTranspose2d, scatter phase for image n: y[n, o] = bias[o] + Σ cols[o, a, e][ih, iw] at
 * (ih·sh − pt + a·dh, iw·sw − pl + e·dw). Units are output channels, so threads never share a plane.
 */
export function col2im_f32(cols: usize, bias: usize, y: usize, n: i32, p: usize, u0: i32, u1: i32, tid: i32): void {
  const H = f(p, H_);
  const W = f(p, W_);
  const O = f(p, O_);
  const OH = f(p, OH_);
  const OW = f(p, OW_);
  const kh = f(p, KH_);
  const kw = f(p, KW_);
  const sh = f(p, SH_);
  const sw = f(p, SW_);
  const pt = f(p, PT_);
  const pl = f(p, PL_);
  const dh = f(p, DH_);
  const dw = f(p, DW_);
  const hw = H * W;
  for (let o = u0; o < u1; o++) {
    const plane = y + (<usize>((n * O + o) * OH * OW) << 2);
    const b: f32 = bias != 0 ? load<f32>(bias + (<usize>o << 2)) : 0;
    for (let i = 0; i < OH * OW; i++) store<f32>(plane + (<usize>i << 2), b);
    for (let a = 0; a < kh; a++) {
      for (let e = 0; e < kw; e++) {
        const src = cols + (<usize>(((o * kh + a) * kw + e) * hw) << 2);
        for (let ih = 0; ih < H; ih++) {
          const oh = ih * sh - pt + a * dh;
          if (oh < 0 || oh >= OH) continue;
          const row = plane + (<usize>(oh * OW) << 2);
          const srow = src + (<usize>(ih * W) << 2);
          for (let iw = 0; iw < W; iw++) {
            const ow = iw * sw - pl + e * dw;
            if (ow < 0 || ow >= OW) continue;
            const d = row + (<usize>ow << 2);
            store<f32>(d, load<f32>(d) + load<f32>(srow + (<usize>iw << 2)));
          }
        }
      }
    }
  }
}

/**
 * conv2dWeightGrad: dW_g (og x cg·kh·kw) = Σ_n G[n, g] (og x GH·GW) · im2colᵀ(x[n, g]).
 * p[OH_], p[OW_] hold the gradient's extent (GH, GW). Units run over (group, strip).
 */
export function conv_weight_grad_f32(x: usize, g: usize, dw: usize, p: usize, desc: usize, u0: i32, u1: i32, tid: i32): void {
  const N = f(p, N_);
  const C = f(p, C_);
  const hw = f(p, H_) * f(p, W_);
  const O = f(p, O_);
  const gpix = f(p, OH_) * f(p, OW_);
  const groups = f(p, G_);
  const cg = C / groups;
  const og = O / groups;
  const cols = cg * f(p, KH_) * f(p, KW_);
  const splitRows = f(p, SPLIT_ROWS) != 0;
  const per = splitRows ? rowUnits(og) : colUnits(cols);
  let u = u0;
  while (u < u1) {
    const grp = u / per;
    const lo = u - grp * per;
    const hi = min(u1 - grp * per, per);
    const r0 = splitRows ? lo * MR : 0;
    const r1 = splitRows ? min(hi * MR, og) : og;
    const c0 = splitRows ? 0 : lo * NR;
    const c1 = splitRows ? cols : min(hi * NR, cols);
    const c = dw + (<usize>(grp * og * cols) << 2);
    for (let n = 0; n < N; n++) {
      const a = g + (<usize>((n * O + grp * og) * gpix) << 2);
      const xOff = (n * C + grp * cg) * hw;
      gemmRect(a, gpix, 1, og, desc, xOff, cols, gpix, c, cols, r0, r1, c0, c1, n > 0);
    }
    if (N == 0) {
      for (let i = r0; i < r1; i++) memory.fill(c + (<usize>(i * cols + c0) << 2), 0, <usize>(c1 - c0) << 2);
    }
    u = (grp + 1) * per;
  }
}

/**
 * conv2d with one input channel per group (depthwise, any channel multiplier): a direct
 * kernel, since a GEMM with k = kh·kw and m = multiplier wastes the micro-tile. Output row by
 * output row, each tap adds w·x over the run of columns whose input lies inside the image
 * (f32x4 when the stride along the row is 1). Units are (image, output channel) planes.
 */
export function depthwise_f32(x: usize, w: usize, bias: usize, y: usize, p: usize, u0: i32, u1: i32, tid: i32): void {
  const C = f(p, C_);
  const H = f(p, H_);
  const W = f(p, W_);
  const O = f(p, O_);
  const OH = f(p, OH_);
  const OW = f(p, OW_);
  const kh = f(p, KH_);
  const kw = f(p, KW_);
  const sh = f(p, SH_);
  const sw = f(p, SW_);
  const pt = f(p, PT_);
  const pl = f(p, PL_);
  const dh = f(p, DH_);
  const dw = f(p, DW_);
  const mult = O / C;
  for (let u = u0; u < u1; u++) {
    const n = u / O;
    const o = u - n * O;
    const c = o / mult;
    const plane = x + (<usize>((n * C + c) * H * W) << 2);
    const out = y + (<usize>u * <usize>(OH * OW) << 2);
    const taps = w + (<usize>(o * kh * kw) << 2);
    const b: f32 = bias != 0 ? load<f32>(bias + (<usize>o << 2)) : 0;
    for (let oh = 0; oh < OH; oh++) {
      const row = out + (<usize>(oh * OW) << 2);
      const vb = f32x4.splat(b);
      let j = 0;
      for (; j + 4 <= OW; j += 4) v128.store(row + (<usize>j << 2), vb);
      for (; j < OW; j++) store<f32>(row + (<usize>j << 2), b);
      for (let a = 0; a < kh; a++) {
        const ih = oh * sh - pt + a * dh;
        if (ih < 0 || ih >= H) continue;
        const src = plane + (<usize>(ih * W) << 2);
        for (let e = 0; e < kw; e++) {
          const wv = load<f32>(taps + (<usize>(a * kw + e) << 2));
          const off = e * dw - pl;
          // Columns ow with 0 <= ow·sw + off < W.
          let lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
          let hi = W - off <= 0 ? 0 : (W - off - 1) / sw + 1;
          if (hi > OW) hi = OW;
          if (lo >= hi) continue;
          if (sw == 1) {
            const vw = f32x4.splat(wv);
            let q = lo;
            for (; q + 4 <= hi; q += 4) {
              const d = row + (<usize>q << 2);
              v128.store(d, f32x4.add(v128.load(d), f32x4.mul(vw, v128.load(src + (<usize>(q + off) << 2)))));
            }
            for (; q < hi; q++) {
              const d = row + (<usize>q << 2);
              store<f32>(d, load<f32>(d) + wv * load<f32>(src + (<usize>(q + off) << 2)));
            }
          } else {
            for (let q = lo; q < hi; q++) {
              const d = row + (<usize>q << 2);
              store<f32>(d, load<f32>(d) + wv * load<f32>(src + (<usize>(q * sw + off) << 2)));
            }
          }
        }
      }
    }
  }
}
