// The f32 GEMM every product on the wasm backend runs on (matmul here, conv2d and its
// gradients in kernels/conv/wasm.as): BLIS-style blocking with packed panels and a 4x8
// register-blocked f32x4 micro-kernel (8 accumulators + 2 B vectors + 1 broadcast A = 11 of
// the 16 vector registers V8 uses on x64; a 6x8 tile spills and measured 2.5x slower).
//
//   for jc in columns step NC        B block (KC x NC) packed per thread into scratch
//     for pc in K step KC
//       pack B[pc:pc+KC, jc:jc+NC]    as NR-column panels, zero padded
//       for ic in rows step MC
//         pack A[ic:ic+MC, pc:pc+KC]  as MR-row panels, zero padded
//         for each NR panel, for each MR panel: micro-kernel (C += A·B on a 4x8 tile)
//
// A thread computes a rectangle of C (a range of rows or of column panels) and packs what
// it reads itself, so one dispatch covers a whole product with no barrier between phases.
// B is described by a small i32 record (see B_* below) so convolutions pack their im2col
// matrix straight from the image instead of materialising it.
import { scratchTables, threadScratch } from '../../backends/wasm/common.as';

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 1024;

// Scratch layout (per thread): packed A, packed B, one edge tile; small tables sit at the end
// (scratchTables() in common.as, sized so the three fit before them).
const A_PACK: usize = 0;
const B_PACK: usize = A_PACK + <usize>(MC * KC * 4);
const TILE: usize = B_PACK + <usize>(KC * NC * 4);
/** Where the packing buffers end: conv2d lays its own blocks out in [0, PACK_END) of the scratch. */
export const PACK_END: usize = TILE;

// ---------------------------------------------------------------- B descriptors (i32 records)
// Every record starts [mode, ptr]; offsets below are in i32 fields.
/** B[p, j] = ptr[p·rs + j·cs] */
export const B_MATRIX: i32 = 0;
/**
 * im2col of one image group for conv2d: rows p = (c, a, e) over [C, kh, kw], columns
 * j = output pixel (oh, ow) over [OH, OW]; B[p, j] = x[c, oh·sh − pt + a·dh, ow·sw − pl + e·dw] or 0.
 * Fields: mode, ptr, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw.
 */
export const B_IM2COL: i32 = 1;
/**
 * The transposed im2col for the weight gradient: rows p = pixel (ph, pw) over [GH, GW], columns
 * j = (c, a, e). Same fields as B_IM2COL with OH/OW replaced by GH/GW (the gradient's extent).
 */
export const B_IM2COL_T: i32 = 2;

@inline function field(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

// ---------------------------------------------------------------- micro-kernel

/**
 * C[0:4, 0:8] (+)= Apanel · Bpanel over kc: Apanel is kc x 4 (p-major), Bpanel kc x 8.
 * `init` (0: none) points at 4 row values the sums start from: conv2d's bias, added here
 * instead of in a pass over C before the product. `bRows` (0: none) makes B unpacked: row p
 * is 8 contiguous floats at b + 4·bRows[p] (conv2d's in-image panels, read in place).
 * Callers pass literal zeros for what they do not use, so the inlined copy keeps one loop.
 */
@inline export function kernel4x8(
  kc: i32,
  a: usize,
  b: usize,
  c: usize,
  ldc: usize,
  accumulate: bool,
  init: usize,
  bRows: usize,
): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  if (init != 0) {
    c00 = v128.load32_splat(init);
    c01 = c00;
    c10 = v128.load32_splat(init, 4);
    c11 = c10;
    c20 = v128.load32_splat(init, 8);
    c21 = c20;
    c30 = v128.load32_splat(init, 12);
    c31 = c30;
  }
  if (bRows == 0) {
    for (let p = 0; p < kc; p++) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      let av = v128.load32_splat(a);
      c00 = f32x4.add(c00, f32x4.mul(av, b0));
      c01 = f32x4.add(c01, f32x4.mul(av, b1));
      av = v128.load32_splat(a, 4);
      c10 = f32x4.add(c10, f32x4.mul(av, b0));
      c11 = f32x4.add(c11, f32x4.mul(av, b1));
      av = v128.load32_splat(a, 8);
      c20 = f32x4.add(c20, f32x4.mul(av, b0));
      c21 = f32x4.add(c21, f32x4.mul(av, b1));
      av = v128.load32_splat(a, 12);
      c30 = f32x4.add(c30, f32x4.mul(av, b0));
      c31 = f32x4.add(c31, f32x4.mul(av, b1));
      a += 16;
      b += 32;
    }
  } else {
    for (let p = 0; p < kc; p++) {
      const src = b + (<usize>load<i32>(bRows) << 2);
      const b0 = v128.load(src);
      const b1 = v128.load(src, 16);
      let av = v128.load32_splat(a);
      c00 = f32x4.add(c00, f32x4.mul(av, b0));
      c01 = f32x4.add(c01, f32x4.mul(av, b1));
      av = v128.load32_splat(a, 4);
      c10 = f32x4.add(c10, f32x4.mul(av, b0));
      c11 = f32x4.add(c11, f32x4.mul(av, b1));
      av = v128.load32_splat(a, 8);
      c20 = f32x4.add(c20, f32x4.mul(av, b0));
      c21 = f32x4.add(c21, f32x4.mul(av, b1));
      av = v128.load32_splat(a, 12);
      c30 = f32x4.add(c30, f32x4.mul(av, b0));
      c31 = f32x4.add(c31, f32x4.mul(av, b1));
      a += 16;
      bRows += 4;
    }
  }
  const c1 = c + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c));
    c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c1));
    c11 = f32x4.add(c11, v128.load(c1, 16));
    c20 = f32x4.add(c20, v128.load(c2));
    c21 = f32x4.add(c21, v128.load(c2, 16));
    c30 = f32x4.add(c30, v128.load(c3));
    c31 = f32x4.add(c31, v128.load(c3, 16));
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}

/** A partial tile (rows < 4 or columns < 8): compute the full tile aside, then add the valid part. */
export function edgeTile(
  kc: i32,
  a: usize,
  b: usize,
  c: usize,
  ldc: usize,
  accumulate: bool,
  init: usize,
  bRows: usize,
  mr: i32,
  nr: i32,
): void {
  const tile = threadScratch() + TILE;
  kernel4x8(kc, a, b, tile, <usize>(NR * 4), false, init, bRows);
  for (let i = 0; i < mr; i++) {
    const row = c + <usize>i * ldc;
    const src = tile + <usize>(i * NR * 4);
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      const dst = row + (<usize>j << 2);
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

// ---------------------------------------------------------------- packing

/** 4x4 transpose of rows r0..r3 (lanes are columns). */
@inline function transposeStore(dst: usize, dstStride: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<i64>(t0, t2, 0, 2));
  v128.store(dst + dstStride, v128.shuffle<i64>(t0, t2, 1, 3));
  v128.store(dst + 2 * dstStride, v128.shuffle<i64>(t1, t3, 0, 2));
  v128.store(dst + 3 * dstStride, v128.shuffle<i64>(t1, t3, 1, 3));
}

/**
 * Pack rows [i0, i0+mc) x columns [p0, p0+kc) of A (A[i, p] = a[i·rs + p·cs]) into MR-row
 * panels: panel q holds kc groups of MR values (rows past m are zeros).
 */
export function packA(a: usize, rs: i32, cs: i32, m: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, m - (i0 + ir));
    let out = dst + <usize>(ir * kc * 4);
    const base = a + (<usize>((i0 + ir) * rs + p0 * cs) << 2);
    if (rows == MR && cs == 1) {
      // Row-major A: four rows side by side, transposed 4x4 at a time.
      const r1 = base + (<usize>rs << 2);
      const r2 = r1 + (<usize>rs << 2);
      const r3 = r2 + (<usize>rs << 2);
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p << 2;
        transposeStore(out, 16, v128.load(base + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o));
        out += 64;
      }
      for (; p < kc; p++) {
        const o = <usize>p << 2;
        store<f32>(out, load<f32>(base + o));
        store<f32>(out, load<f32>(r1 + o), 4);
        store<f32>(out, load<f32>(r2 + o), 8);
        store<f32>(out, load<f32>(r3 + o), 12);
        out += 16;
      }
    } else if (rows == MR && rs == 1) {
      // Column-major A (transposed operand): the four rows of one column are adjacent.
      for (let p = 0; p < kc; p++) {
        v128.store(out, v128.load(base + (<usize>(p * cs) << 2)));
        out += 16;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          store<f32>(out, r < rows ? load<f32>(base + (<usize>(r * rs + p * cs) << 2)) : 0);
          out += 4;
        }
      }
    }
  }
}

/** Pack B[p0:p0+kc, j0:j0+nc] of a strided matrix into NR-column panels (columns past n are zeros). */
function packBMatrix(desc: usize, bOff: i32, n: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const rs = field(desc, 2);
  const cs = field(desc, 3);
  const b = <usize>field(desc, 1) + (<usize>bOff << 2);
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, n - (j0 + jr));
    let out = dst + <usize>(jr * kc * 4);
    const base = b + (<usize>(p0 * rs + (j0 + jr) * cs) << 2);
    if (cols == NR && cs == 1) {
      for (let p = 0; p < kc; p++) {
        const src = base + (<usize>(p * rs) << 2);
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        out += 32;
      }
    } else if (cols == NR && rs == 1) {
      // Transposed B: each column is contiguous along p; transpose 4x4 blocks.
      const stride = <usize>cs << 2;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = base + (<usize>p << 2);
        transposeStore(out, 32, v128.load(s), v128.load(s + stride), v128.load(s + 2 * stride), v128.load(s + 3 * stride));
        const s4 = s + 4 * stride;
        transposeStore(
          out + 16,
          32,
          v128.load(s4),
          v128.load(s4 + stride),
          v128.load(s4 + 2 * stride),
          v128.load(s4 + 3 * stride),
        );
        out += 128;
      }
      for (; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(out, load<f32>(base + (<usize>(p + j * cs) << 2)));
          out += 4;
        }
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(out, j < cols ? load<f32>(base + (<usize>(p * rs + j * cs) << 2)) : 0);
          out += 4;
        }
      }
    }
  }
}

/** im2col rows p = (c, a, e), columns = output pixels, packed into NR-column panels. */
export function packBIm2col(desc: usize, bOff: i32, n: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const x = <usize>field(desc, 1) + (<usize>bOff << 2);
  const H = field(desc, 2);
  const W = field(desc, 3);
  const OW = field(desc, 5);
  const kh = field(desc, 6);
  const kw = field(desc, 7);
  const sh = field(desc, 8);
  const sw = field(desc, 9);
  const pt = field(desc, 10);
  const pl = field(desc, 11);
  const dh = field(desc, 12);
  const dw = field(desc, 13);
  const khw = kh * kw;
  for (let jr = 0; jr < nc; jr += NR) {
    const jStart = j0 + jr;
    const cols = min(NR, n - jStart);
    const oh0 = jStart / OW;
    const ow0 = jStart - oh0 * OW;
    // All NR columns on one output row, stride 1: the window row is contiguous in x.
    const oneRow = cols == NR && ow0 + NR <= OW && sw == 1;
    let out = dst + <usize>(jr * kc * 4);
    // Decode p0 into (c, a, e) once, then step incrementally.
    let c = p0 / khw;
    let rem = p0 - c * khw;
    let a = rem / kw;
    let e = rem - a * kw;
    for (let p = 0; p < kc; p++) {
      const hOff = a * dh - pt;
      const wOff = e * dw - pl;
      const plane = x + (<usize>(c * H * W) << 2);
      if (oneRow) {
        const ih = oh0 * sh + hOff;
        const iw = ow0 + wOff;
        if (ih >= 0 && ih < H && iw >= 0 && iw + NR <= W) {
          const src = plane + (<usize>(ih * W + iw) << 2);
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
          out += 32;
        } else {
          for (let j = 0; j < NR; j++) {
            const iwj = iw + j;
            store<f32>(
              out,
              ih >= 0 && ih < H && iwj >= 0 && iwj < W ? load<f32>(plane + (<usize>(ih * W + iwj) << 2)) : 0,
            );
            out += 4;
          }
        }
      } else {
        let oh = oh0;
        let ow = ow0;
        for (let j = 0; j < NR; j++) {
          let v: f32 = 0;
          if (j < cols) {
            const ih = oh * sh + hOff;
            const iw = ow * sw + wOff;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = load<f32>(plane + (<usize>(ih * W + iw) << 2));
            if (++ow == OW) {
              ow = 0;
              oh++;
            }
          }
          store<f32>(out, v);
          out += 4;
        }
      }
      if (++e == kw) {
        e = 0;
        if (++a == kh) {
          a = 0;
          c++;
        }
      }
    }
  }
}

/** x values of four consecutive pixels (stride 1) for table column j, zeros outside the image. */
@inline function pixelRun(x: usize, table: usize, j: i32, H: i32, W: i32, hBase: i32, pw: i32): v128 {
  const t = table + (<usize>(j * 3) << 2);
  const planeOff = load<i32>(t);
  const ih = hBase + load<i32>(t, 4);
  const iw = pw + load<i32>(t, 8);
  if (planeOff < 0 || ih < 0 || ih >= H) return f32x4.splat(0);
  const row = x + (<usize>(planeOff + ih * W) << 2);
  if (iw >= 0 && iw + 4 <= W) return v128.load(row + (<usize>iw << 2));
  let v = f32x4.splat(0);
  if (iw >= 0 && iw < W) v = f32x4.replace_lane(v, 0, load<f32>(row + (<usize>iw << 2)));
  if (iw + 1 >= 0 && iw + 1 < W) v = f32x4.replace_lane(v, 1, load<f32>(row + (<usize>(iw + 1) << 2)));
  if (iw + 2 >= 0 && iw + 2 < W) v = f32x4.replace_lane(v, 2, load<f32>(row + (<usize>(iw + 2) << 2)));
  if (iw + 3 >= 0 && iw + 3 < W) v = f32x4.replace_lane(v, 3, load<f32>(row + (<usize>(iw + 3) << 2)));
  return v;
}

/** Transposed im2col (weight gradient): rows p = gradient pixels, columns (c, a, e). */
function packBIm2colT(desc: usize, bOff: i32, n: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const x = <usize>field(desc, 1) + (<usize>bOff << 2);
  const H = field(desc, 2);
  const W = field(desc, 3);
  const GW = field(desc, 5);
  const kh = field(desc, 6);
  const kw = field(desc, 7);
  const sh = field(desc, 8);
  const sw = field(desc, 9);
  const pt = field(desc, 10);
  const pl = field(desc, 11);
  const dh = field(desc, 12);
  const dw = field(desc, 13);
  const khw = kh * kw;
  // Per-column tables (channel plane, row offset, column offset) in this thread's scratch.
  const table = scratchTables();
  for (let jr = 0; jr < nc; jr += NR) {
    const jStart = j0 + jr;
    const cols = min(NR, n - jStart);
    for (let j = 0; j < NR; j++) {
      const col = jStart + j;
      const c = col / khw;
      const rem = col - c * khw;
      const a = rem / kw;
      const e = rem - a * kw;
      store<i32>(table + (<usize>(j * 3) << 2), j < cols ? c * H * W : -1);
      store<i32>(table + (<usize>(j * 3 + 1) << 2), a * dh - pt);
      store<i32>(table + (<usize>(j * 3 + 2) << 2), e * dw - pl);
    }
    let out = dst + <usize>(jr * kc * 4);
    let ph = p0 / GW;
    let pw = p0 - ph * GW;
    for (let p = 0; p < kc; p++) {
      const hBase = ph * sh;
      if (sw == 1 && pw + 4 <= GW && p + 4 <= kc) {
        // Four pixels on one gradient row: each column reads a contiguous run of x; two 4x4
        // transposes interleave the eight runs into panel rows.
        transposeStore(
          out,
          32,
          pixelRun(x, table, 0, H, W, hBase, pw),
          pixelRun(x, table, 1, H, W, hBase, pw),
          pixelRun(x, table, 2, H, W, hBase, pw),
          pixelRun(x, table, 3, H, W, hBase, pw),
        );
        transposeStore(
          out + 16,
          32,
          pixelRun(x, table, 4, H, W, hBase, pw),
          pixelRun(x, table, 5, H, W, hBase, pw),
          pixelRun(x, table, 6, H, W, hBase, pw),
          pixelRun(x, table, 7, H, W, hBase, pw),
        );
        out += 128;
        p += 3;
        pw += 4;
        if (pw == GW) {
          pw = 0;
          ph++;
        }
        continue;
      }
      const wBase = pw * sw;
      for (let j = 0; j < NR; j++) {
        const t = table + (<usize>(j * 3) << 2);
        const planeOff = load<i32>(t);
        const ih = hBase + load<i32>(t, 4);
        const iw = wBase + load<i32>(t, 8);
        store<f32>(
          out,
          planeOff >= 0 && ih >= 0 && ih < H && iw >= 0 && iw < W
            ? load<f32>(x + (<usize>(planeOff + ih * W + iw) << 2))
            : 0,
        );
        out += 4;
      }
      if (++pw == GW) {
        pw = 0;
        ph++;
      }
    }
  }
}

function packB(desc: usize, bOff: i32, n: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const mode = field(desc, 0);
  if (mode == B_MATRIX) packBMatrix(desc, bOff, n, p0, kc, j0, nc, dst);
  else if (mode == B_IM2COL) packBIm2col(desc, bOff, n, p0, kc, j0, nc, dst);
  else packBIm2colT(desc, bOff, n, p0, kc, j0, nc, dst);
}

// ---------------------------------------------------------------- the blocked product

/**
 * One packed block: C[0:mc, 0:nc] (+)= Apack · Bpack, tile by tile (B panel outer, so it stays
 * in L1 while the A panels stream from L2). The micro-kernel is inlined here (measured 20%
 * faster than a call per tile); this function stays a real one, called once per block, so V8
 * tiers it up to optimised code during the first large product instead of after it.
 */
function macroKernel(aPack: usize, bPack: usize, mc: i32, nc: i32, kc: i32, c: usize, ldcBytes: usize, acc: bool): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const bp = bPack + <usize>(jr * kc * 4);
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = min(MR, mc - ir);
      const ap = aPack + <usize>(ir * kc * 4);
      const cp = c + <usize>ir * ldcBytes + (<usize>jr << 2);
      if (mr == MR && nr == NR) kernel4x8(kc, ap, bp, cp, ldcBytes, acc, 0, 0);
      else edgeTile(kc, ap, bp, cp, ldcBytes, acc, 0, 0, mr, nr);
    }
  }
}

/**
 * C[r0:r1, c0:c1] (+)= A[r0:r1, :] · B[:, c0:c1] for an m x k by k x n product.
 * A[i, p] = a[i·ars + p·acs]; B per its descriptor (offset by bOff elements); C row-major
 * with row stride ldc. `accumulate` adds to C instead of overwriting it.
 */
export function gemmRect(
  a: usize,
  ars: i32,
  acs: i32,
  m: i32,
  desc: usize,
  bOff: i32,
  n: i32,
  k: i32,
  c: usize,
  ldc: i32,
  r0: i32,
  r1: i32,
  c0: i32,
  c1: i32,
  accumulate: bool,
): void {
  if (r1 <= r0 || c1 <= c0) return;
  const ldcBytes = <usize>ldc << 2;
  const scratch = threadScratch();
  const aPack = scratch + A_PACK;
  const bPack = scratch + B_PACK;
  if (k == 0) {
    if (!accumulate) {
      for (let i = r0; i < r1; i++) memory.fill(c + <usize>i * ldcBytes + (<usize>c0 << 2), 0, <usize>(c1 - c0) << 2);
    }
    return;
  }
  for (let jc = c0; jc < c1; jc += NC) {
    const ncb = min(NC, c1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kcb = min(KC, k - pc);
      const acc = accumulate || pc > 0;
      packB(desc, bOff, n, pc, kcb, jc, ncb, bPack);
      for (let ic = r0; ic < r1; ic += MC) {
        const mcb = min(MC, r1 - ic);
        packA(a, ars, acs, m, ic, mcb, pc, kcb, aPack);
        macroKernel(aPack, bPack, mcb, ncb, kcb, c + <usize>ic * ldcBytes + (<usize>jc << 2), ldcBytes, acc);
      }
    }
  }
}

/**
 * Work split shared by every GEMM-based kernel. A product is cut into units along rows (MR
 * rows each) when it has enough of them, else along columns (NR columns each); `units` per
 * product, times the batch count, is what the thread pool divides.
 */
@inline export function rowUnits(m: i32): i32 {
  return (m + MR - 1) / MR;
}

@inline export function colUnits(n: i32): i32 {
  return (n + NR - 1) / NR;
}


// ---------------------------------------------------------------- matmul

/**
 * Batched f32 matmul: for each batch t, C_t = op(A)[aOff_t] · op(B)[bOff_t] into c + t·m·n.
 * `offsets` holds (aOff, bOff) element offsets per batch (0 means one product at offset 0).
 * splitRows: units are MR-row strips (else NR-column strips); units [u0, u1) over all batches.
 */
export function matmul_f32(
  a: usize,
  ars: i32,
  acs: i32,
  desc: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  offsets: usize,
  splitRows: bool,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  const per = splitRows ? rowUnits(m) : colUnits(n);
  let u = u0;
  while (u < u1) {
    const t = u / per;
    const lo = u - t * per;
    const hi = min(u1 - t * per, per);
    const aOff = offsets == 0 ? 0 : load<i32>(offsets + (<usize>(t * 2) << 2));
    const bOff = offsets == 0 ? 0 : load<i32>(offsets + (<usize>(t * 2 + 1) << 2));
    const ct = c + (<usize>t * <usize>m * <usize>n << 2);
    const at = a + (<usize>aOff << 2);
    if (splitRows) gemmRect(at, ars, acs, m, desc, bOff, n, k, ct, n, lo * MR, min(hi * MR, m), 0, n, false);
    else gemmRect(at, ars, acs, m, desc, bOff, n, k, ct, n, 0, m, lo * NR, min(hi * NR, n), false);
    u = (t + 1) * per;
  }
}

/** i32 matmul (exact wrapping products, as WGSL): plain loops, one output row per unit. */
export function matmul_i32(
  a: usize,
  ars: i32,
  acs: i32,
  b: usize,
  brs: i32,
  bcs: i32,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  offsets: usize,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  for (let u = u0; u < u1; u++) {
    const t = u / max(m, 1);
    const i = u - t * m;
    const aOff = offsets == 0 ? 0 : load<i32>(offsets + (<usize>(t * 2) << 2));
    const bOff = offsets == 0 ? 0 : load<i32>(offsets + (<usize>(t * 2 + 1) << 2));
    const row = c + ((<usize>t * <usize>m * <usize>n + <usize>i * <usize>n) << 2);
    for (let j = 0; j < n; j++) {
      let acc: i32 = 0;
      for (let p = 0; p < k; p++) {
        acc +=
          load<i32>(a + (<usize>(aOff + i * ars + p * acs) << 2)) * load<i32>(b + (<usize>(bOff + p * brs + j * bcs) << 2));
      }
      store<i32>(row + (<usize>j << 2), acc);
    }
  }
}

