// Convolutions on the wasm backend, all as GEMMs on the packed micro-kernel in
// kernels/matmul/wasm.as:
//   conv2d            Y[n, g] = W_g (og x cg·kh·kw) · im2col(x[n, g])      (im2col packed on the fly)
//   convTranspose2d   cols = W_gᵀ · X[n, g], then col2im scatter-add into y   (two dispatches per image)
//   conv2dWeightGrad  dW_g = Σ_n G[n, g] · im2colᵀ(x[n, g])                   (accumulated over n)
//
// `p` is an i32 record the TS side fills (kernels/conv/wasm.ts, CONV_FIELDS); `desc` is the
// B descriptor for the im2col packer.
import { threadScratch } from '../../backends/wasm/common.as';
import {
  colUnits,
  edgeTile,
  gemmRect,
  kernel4x8,
  MR,
  NR,
  PACK_END,
  packA,
  packBIm2col,
  rowUnits,
} from '../matmul/wasm.as';

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

@inline function field(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

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

// ---------------------------------------------------------------- conv2d's own blocking
// A conv GEMM is short and wide (og rows, up to a few hundred; OH·OW columns, tens of
// thousands), so matmul's blocking (a KC x NC block of B packed ahead, K cut at 256) measured
// 25% below matmul's speed on 32→32 3x3 at 256²: each packed B value served only og/MR tiles
// after a trip through L2, k = 288 ran as 256 + 32 with C read back, and the bias was a pass
// over C of its own. Here A (the weights) is packed once per call for the whole k, K is cut
// into even passes of at most KMAX, and each NR-pixel B panel is packed into L1 right before
// the og/MR tiles that use it; the bias is where the sums start.

/** Deepest K pass: a KMAX x NR panel (16 KiB) plus an MR-row A panel stay in L1. */
const KMAX: i32 = 512;
/** Most rows per A block (the block is read once per B panel, from L2). */
const MCONV: i32 = 128;
/** Output pixels per column block when K takes several passes (C stays in L2 between them). */
const NCONV: i32 = 256;
// Scratch layout (per thread), all below PACK_END so matmul's edge tile stays free.
const PANEL: usize = 0;
const BIAS: usize = PANEL + <usize>(KMAX * NR * 4);
const OFFS: usize = BIAS + <usize>(MCONV * 4);

/**
 * One im2col panel (rows p0..p0+kc, output pixels j..j+NR). Inside the image at stride 1 the
 * panel is not packed: row p is x at offs[p] from the window's corner, 8 contiguous values,
 * and the micro-kernel reads them in place (packing cost 11% of 32→32 3x3 at 256²), so the
 * corner is returned. Otherwise the panel is packed into dst and 0 returned: inside the image
 * by the same offsets, at the border by the per-element packer.
 */
function packPanel(desc: usize, xOff: i32, pixels: i32, p0: i32, kc: i32, j: i32, offs: usize, dst: usize): usize {
  const H = field(desc, 2);
  const W = field(desc, 3);
  const OW = field(desc, 5);
  const kh = field(desc, 6);
  const kw = field(desc, 7);
  const sh = field(desc, 8);
  const sw = field(desc, 9);
  const oh = j / OW;
  const ow = j - oh * OW;
  const ih = oh * sh - field(desc, 10);
  const iw = ow * sw - field(desc, 11);
  // The last input column the panel reads (stride 2 loads 2·NR values, one past the last used).
  const iwEnd = iw + (kw - 1) * field(desc, 13) + (sw == 2 ? 2 * NR - 1 : (NR - 1) * sw);
  if (j + NR > pixels || ow + NR > OW || ih < 0 || ih + (kh - 1) * field(desc, 12) >= H || iw < 0 || iwEnd >= W) {
    packBIm2col(desc, xOff, pixels, p0, kc, j, NR, dst);
    return 0;
  }
  const base = <usize>field(desc, 1) + (<usize>(xOff + ih * W + iw) << 2);
  if (sw == 1) return base;
  let t = offs + (<usize>p0 << 2);
  const tEnd = t + (<usize>kc << 2);
  let out = dst;
  if (sw == 2) {
    for (; t < tEnd; t += 4) {
      const src = base + (<usize>load<i32>(t) << 2);
      v128.store(out, v128.shuffle<i32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6));
      v128.store(out, v128.shuffle<i32>(v128.load(src, 32), v128.load(src, 48), 0, 2, 4, 6), 16);
      out += 32;
    }
  } else {
    const step = <usize>sw << 2;
    for (; t < tEnd; t += 4) {
      let src = base + (<usize>load<i32>(t) << 2);
      for (let q = 0; q < NR; q++) {
        store<f32>(out, load<f32>(src));
        src += step;
        out += 4;
      }
    }
  }
  return 0;
}

/**
 * Rows [mc) of C (row stride ldcBytes, at column 0) over pixels [j0, j1), for one K pass
 * [p0, p0+kc) with its A block packed at aBlk: panel by panel, each used by every row tile
 * while it is in L1. `init` (0: none) holds the block's bias, padded to whole tiles.
 */
function convPanels(
  aBlk: usize,
  mc: i32,
  kc: i32,
  p0: i32,
  desc: usize,
  xOff: i32,
  pixels: i32,
  j0: i32,
  j1: i32,
  c: usize,
  ldcBytes: usize,
  acc: bool,
  init: usize,
): void {
  const scratch = threadScratch();
  const panel = scratch + PANEL;
  const offs = scratch + OFFS;
  for (let j = j0; j < j1; j += NR) {
    const nr = min(NR, j1 - j);
    const direct = packPanel(desc, xOff, pixels, p0, kc, j, offs, panel);
    const rows = offs + (<usize>p0 << 2);
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = min(MR, mc - ir);
      const ap = aBlk + <usize>(ir * kc * 4);
      const cp = c + <usize>ir * ldcBytes + (<usize>j << 2);
      const bi = init != 0 ? init + <usize>(ir * 4) : 0;
      if (mr == MR && nr == NR) {
        if (direct != 0) kernel4x8(kc, ap, direct, cp, ldcBytes, acc, bi, rows);
        else kernel4x8(kc, ap, panel, cp, ldcBytes, acc, bi, 0);
      } else if (direct != 0) edgeTile(kc, ap, direct, cp, ldcBytes, acc, bi, rows, mr, nr);
      else edgeTile(kc, ap, panel, cp, ldcBytes, acc, bi, 0, mr, nr);
    }
  }
}

/**
 * Y[r0:r1, c0:c1] = bias + W_g · im2col for one (image, group): W_g row-major og x k at a,
 * bias at `bias` (0: none) indexed by row. False when k is too deep for the scratch (the
 * caller then runs the generic GEMM).
 */
function convRect(
  a: usize,
  og: i32,
  k: i32,
  desc: usize,
  xOff: i32,
  pixels: i32,
  c: usize,
  bias: usize,
  r0: i32,
  r1: i32,
  c0: i32,
  c1: i32,
): bool {
  const scratch = threadScratch();
  const aStart = (OFFS + (<usize>k << 2) + 63) & ~(<usize>63);
  if (aStart >= PACK_END) return false;
  const mcMax = min(MCONV, <i32>((PACK_END - aStart) / (<usize>k * <usize>(MR * 4))) * MR);
  if (mcMax < MR) return false;
  const passes = (k + KMAX - 1) / KMAX;
  const kStep = (k + passes - 1) / passes;
  const aPack = scratch + aStart;
  // x offset of im2col row p = (ch, a, e) from the window's top-left corner.
  const H = field(desc, 2);
  const W = field(desc, 3);
  const kh = field(desc, 6);
  const kw = field(desc, 7);
  const dh = field(desc, 12);
  const dw = field(desc, 13);
  let t = scratch + OFFS;
  for (let ch = 0, p = 0; p < k; ch++) {
    for (let ka = 0; ka < kh; ka++) {
      for (let ke = 0; ke < kw; ke++) {
        store<i32>(t, ch * H * W + ka * dh * W + ke * dw);
        t += 4;
        p++;
      }
    }
  }
  const ldcBytes = <usize>pixels << 2;
  const init = scratch + BIAS;
  for (let ic = r0; ic < r1; ic += mcMax) {
    const mc = min(mcMax, r1 - ic);
    const mcPad = (mc + MR - 1) & ~(MR - 1);
    for (let pc = 0; pc < k; pc += kStep) {
      packA(a, k, 1, og, ic, mc, pc, min(kStep, k - pc), aPack + <usize>(pc * mcPad * 4));
    }
    if (bias != 0) {
      for (let i = 0; i < mcPad; i++) {
        store<f32>(init + (<usize>i << 2), ic + i < r1 ? load<f32>(bias + (<usize>(ic + i) << 2)) : 0);
      }
    }
    const cRows = c + <usize>ic * ldcBytes;
    // One pass: no C block to keep warm, so the whole column range in one sweep.
    const nb = passes == 1 ? c1 - c0 : NCONV;
    for (let jc = c0; jc < c1; jc += nb) {
      const jn = min(nb, c1 - jc);
      for (let pc = 0; pc < k; pc += kStep) {
        const aBlk = aPack + <usize>(pc * mcPad * 4);
        const first = pc == 0;
        convPanels(aBlk, mc, min(kStep, k - pc), pc, desc, xOff, pixels, jc, jc + jn, cRows, ldcBytes, !first, first && bias != 0 ? init : 0);
      }
    }
  }
  return true;
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
    const b = bias != 0 ? bias + (<usize>(g * og) << 2) : 0;
    if (!convRect(a, og, k, desc, xOff, pixels, c, b, r0, r1, c0, c1)) {
      if (bias != 0) fillRows(c, pixels, r0, r1, c0, c1, bias, g * og);
      gemmRect(a, k, 1, og, desc, xOff, pixels, k, c, pixels, r0, r1, c0, c1, bias != 0);
    }
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
