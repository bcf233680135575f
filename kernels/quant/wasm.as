// MLX affine quantization for the wasm backend (kernels/quant/ref.ts is the definition).
// Codes of a row start at bit 0 of its first word; the 8 codes from an index divisible by 8
// fill exactly `bits` bytes, LSB first. Every decoder reads such a block with loads of exactly
// those bytes. At 8 bits the bytes are zero-extended to lanes; otherwise the block splits into
// its low 32 bits (codes 0-3) and the 32 bits from code 4 on, and four codes become floats at
// once: the word splatted to four lanes, each lane masked to its code in place (code k sits at
// bit k·bits, below bit 24 for every width under 8, so a signed conversion is exact and cheap:
// V8 has no single x64 instruction for the unsigned one), then scaled by 2^-k·bits (exact).
import { gemmRect } from '../matmul/wasm.as';

/** The bits bytes of the block of 8 codes at p, little-endian (no byte past the block is read). */
@inline function loadBlock(p: usize, bits: i32): u64 {
  if (bits == 2) return <u64>load<u16>(p);
  if (bits == 3) return <u64>load<u16>(p) | (<u64>load<u8>(p, 2) << 16);
  if (bits == 4) return <u64>load<u32>(p);
  if (bits == 5) return <u64>load<u32>(p) | (<u64>load<u8>(p, 4) << 32);
  if (bits == 6) return <u64>load<u32>(p) | (<u64>load<u16>(p, 4) << 32);
  return load<u64>(p);
}

/** Code i (any index) of the row of words at `row`: its bits may straddle two words. */
@inline function codeAt(row: usize, i: i32, bits: i32): u32 {
  const bit = i * bits;
  const word = row + (<usize>(bit >>> 5) << 2);
  const shift = <u32>(bit & 31);
  let v = load<u32>(word) >>> shift;
  if (shift + <u32>bits > 32) v |= load<u32>(word, 4) << (32 - shift);
  return v & ((<u32>1 << bits) - 1);
}

/** Per-lane masks and scales of a bit width: code k of four at bit k·bits. */
@inline function laneMask(bits: i32): v128 {
  const m = (<u32>1 << bits) - 1;
  let v = i32x4.splat(<i32>m);
  v = i32x4.replace_lane(v, 1, <i32>(m << bits));
  v = i32x4.replace_lane(v, 2, <i32>(m << (2 * bits)));
  return i32x4.replace_lane(v, 3, <i32>(m << (3 * bits)));
}

@inline function laneScale(bits: i32): v128 {
  const s = <f32>1 / <f32>(1 << bits);
  let v = f32x4.splat(1);
  v = f32x4.replace_lane(v, 1, s);
  v = f32x4.replace_lane(v, 2, s * s);
  return f32x4.replace_lane(v, 3, s * s * s);
}

/** Four codes of the 32-bit word w (as above) as floats; bits < 8. */
@inline function four(w: u32, mask: v128, scale: v128): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(v128.and(i32x4.splat(w), mask)), scale);
}

/** Codes 0-3 (lo) or 4-7 of the block at p as floats: four() below 8 bits, bytes zero-extended at 8. */
@inline function decodeLo(p: usize, block: u64, bits: i32, mask: v128, scale: v128): v128 {
  if (bits == 8) return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load64_zero(p))));
  return four(<u32>block, mask, scale);
}

@inline function decodeHi(p: usize, block: u64, bits: i32, mask: v128, scale: v128): v128 {
  if (bits == 8) return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p, 4))));
  return four(<u32>(block >> (<u64>(4 * bits))), mask, scale);
}

// ---------------------------------------------------------------- quantize

/**
 * Groups [u0, u1) of w (f32, finite: the caller checks) quantized exactly as MLX's CPU code,
 * in f32 with rint (nearest, ties to even). Each group owns whole words, zeroed here first.
 */
export function quant_quantize(
  w: usize,
  words: usize,
  scales: usize,
  biases: usize,
  groupSize: i32,
  bits: i32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  const nBins = <f32>((1 << bits) - 1);
  const wordsPerGroup = (groupSize * bits) >> 5;
  for (let g = u0; g < u1; g++) {
    const src = w + (<usize>g * <usize>groupSize << 2);
    const out = words + (<usize>g * <usize>wordsPerGroup << 2);
    memory.fill(out, 0, <usize>wordsPerGroup << 2);
    let wMin = <f32>Infinity;
    let wMax = <f32>-Infinity;
    for (let j = 0; j < groupSize; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      wMax = max(wMax, v);
      wMin = min(wMin, v);
    }
    const side = abs(wMin) > abs(wMax);
    let scale = max((wMax - wMin) / nBins, <f32>1e-7);
    scale = side ? scale : -scale;
    const edge = side ? wMin : wMax;
    const q0 = nearest(edge / scale);
    let bias: f32 = 0;
    if (q0 != 0) {
      scale = edge / q0;
      bias = edge;
    }
    for (let j = 0; j < groupSize; j++) {
      const q = <u32>min(max(nearest((load<f32>(src + (<usize>j << 2)) - bias) / scale), <f32>0), nBins);
      const bit = j * bits;
      const at = out + (<usize>(bit >>> 5) << 2);
      const shift = <u32>(bit & 31);
      store<u32>(at, load<u32>(at) | (q << shift));
      if (shift + <u32>bits > 32) store<u32>(at, load<u32>(at, 4) | (q >>> (32 - shift)), 4);
    }
    store<f32>(scales + (<usize>g << 2), scale);
    store<f32>(biases + (<usize>g << 2), bias);
  }
}

// ---------------------------------------------------------------- dequantize

/** Elements [j0, j0 + len) of packed row r (rows of `cols` codes) dequantized into out. */
function dequantRange(
  words: usize,
  scales: usize,
  biases: usize,
  cols: i32,
  groupSize: i32,
  bits: i32,
  r: i32,
  j0: i32,
  len: i32,
  out: usize,
): void {
  const row = words + (<usize>r * <usize>((cols * bits) >> 5) << 2);
  const groups = cols / groupSize;
  const s = scales + (<usize>(r * groups) << 2);
  const b = biases + (<usize>(r * groups) << 2);
  const mask = laneMask(bits);
  const scale = laneScale(bits);
  const end = j0 + len;
  let j = j0;
  for (; j < end && (j & 7) != 0; j++) {
    const g = <usize>(j / groupSize) << 2;
    store<f32>(out + (<usize>(j - j0) << 2), <f32>codeAt(row, j, bits) * load<f32>(s + g) + load<f32>(b + g));
  }
  for (; j + 8 <= end; j += 8) {
    const g = <usize>(j / groupSize) << 2;
    const sc = f32x4.splat(load<f32>(s + g));
    const bi = f32x4.splat(load<f32>(b + g));
    const p = row + <usize>((j >> 3) * bits);
    const block = bits == 8 ? 0 : loadBlock(p, bits);
    const o = out + (<usize>(j - j0) << 2);
    v128.store(o, f32x4.add(f32x4.mul(decodeLo(p, block, bits, mask, scale), sc), bi));
    v128.store(o, f32x4.add(f32x4.mul(decodeHi(p, block, bits, mask, scale), sc), bi), 16);
  }
  for (; j < end; j++) {
    const g = <usize>(j / groupSize) << 2;
    store<f32>(out + (<usize>(j - j0) << 2), <f32>codeAt(row, j, bits) * load<f32>(s + g) + load<f32>(b + g));
  }
}

/** Rows [u0, u1) of a packed weight dequantized into y (rows of `cols`). */
export function quant_dequantize(
  words: usize,
  scales: usize,
  biases: usize,
  y: usize,
  cols: i32,
  groupSize: i32,
  bits: i32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  for (let r = u0; r < u1; r++) {
    dequantRange(words, scales, biases, cols, groupSize, bits, r, 0, cols, y + (<usize>r * <usize>cols << 2));
  }
}

/** Rows ids[t] for t in [u0, u1) (checked and made non-negative by the caller) into y. */
export function quant_embedding(
  words: usize,
  scales: usize,
  biases: usize,
  ids: usize,
  y: usize,
  dims: i32,
  groupSize: i32,
  bits: i32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  for (let t = u0; t < u1; t++) {
    const r = load<i32>(ids + (<usize>t << 2));
    dequantRange(words, scales, biases, dims, groupSize, bits, r, 0, dims, y + (<usize>t * <usize>dims << 2));
  }
}

// ---------------------------------------------------------------- matrix-vector (decode)

/** The decode loop for one bit width (inlined once per width, so `bits` folds to a constant). */
@inline function matvecRows(
  x: usize,
  words: usize,
  scales: usize,
  biases: usize,
  sums: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
  groupSize: i32,
  bits: i32,
  u0: i32,
  u1: i32,
): void {
  const groups = k / groupSize;
  const rowBytes = <usize>((k * bits) >> 3);
  const mask = laneMask(bits);
  const scale = laneScale(bits);
  const kBytes = <usize>k << 2;
  for (let r = u0; r < u1; r++) {
    const row = words + <usize>r * rowBytes;
    const s = scales + (<usize>(r * groups) << 2);
    const b = biases + (<usize>(r * groups) << 2);
    for (let i = 0; i < m; i++) {
      const xi = x + <usize>i * kBytes;
      let total = f32x4.splat(0);
      let biasTerm: f32 = 0;
      for (let g = 0; g < groups; g++) {
        let a0 = f32x4.splat(0);
        let a1 = f32x4.splat(0);
        const j0 = g * groupSize;
        for (let j = j0; j < j0 + groupSize; j += 8) {
          const p = row + <usize>((j >> 3) * bits);
          const block = bits == 8 ? 0 : loadBlock(p, bits);
          const xp = xi + (<usize>j << 2);
          a0 = f32x4.add(a0, f32x4.mul(decodeLo(p, block, bits, mask, scale), v128.load(xp)));
          a1 = f32x4.add(a1, f32x4.mul(decodeHi(p, block, bits, mask, scale), v128.load(xp, 16)));
        }
        total = f32x4.add(total, f32x4.mul(f32x4.add(a0, a1), f32x4.splat(load<f32>(s + (<usize>g << 2)))));
        biasTerm += load<f32>(b + (<usize>g << 2)) * load<f32>(sums + (<usize>(i * groups + g) << 2));
      }
      const sum =
        f32x4.extract_lane(total, 0) + f32x4.extract_lane(total, 1) + f32x4.extract_lane(total, 2) + f32x4.extract_lane(total, 3);
      store<f32>(y + (<usize>(i * n + r) << 2), sum + biasTerm);
    }
  }
}

/**
 * y[i, r] = x[i] · W[r] for weight rows r in [u0, u1) and the m (≤ 4) rows of x: per group
 * Σ scale·(q·x) + bias·Σx, the group sums of x precomputed in `sums` [m, groups]. The packed
 * words are read once per call, at their packed size.
 */
export function quant_matvec(
  x: usize,
  words: usize,
  scales: usize,
  biases: usize,
  sums: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
  groupSize: i32,
  bits: i32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  if (bits == 2) matvecRows(x, words, scales, biases, sums, y, m, n, k, groupSize, 2, u0, u1);
  else if (bits == 3) matvecRows(x, words, scales, biases, sums, y, m, n, k, groupSize, 3, u0, u1);
  else if (bits == 4) matvecRows(x, words, scales, biases, sums, y, m, n, k, groupSize, 4, u0, u1);
  else if (bits == 5) matvecRows(x, words, scales, biases, sums, y, m, n, k, groupSize, 5, u0, u1);
  else if (bits == 6) matvecRows(x, words, scales, biases, sums, y, m, n, k, groupSize, 6, u0, u1);
  else matvecRows(x, words, scales, biases, sums, y, m, n, k, groupSize, 8, u0, u1);
}

// ---------------------------------------------------------------- matrix-matrix (prefill)

/**
 * Units are chunks of `chunk` output columns of y [m, n]. A thread dequantizes the weight for
 * its chunk into its own block of `tmp` (tid·chunk·k floats): with the transpose, rows
 * [c0, c1) of W [n, k]; without, columns [c0, c1) of W [k, n] (every row's slice). Then the
 * wasm GEMM multiplies x by it through the thread's B descriptor `desc + tid·16` (B_MATRIX,
 * pointer at its tmp block, strides for the layout). Only `chunk` rows or columns of the weight
 * exist as floats at a time, per thread.
 */
export function quant_gemm(
  x: usize,
  words: usize,
  scales: usize,
  biases: usize,
  y: usize,
  m: i32,
  n: i32,
  k: i32,
  groupSize: i32,
  bits: i32,
  transpose: bool,
  tmp: usize,
  descs: usize,
  chunk: i32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  const block = tmp + <usize>tid * <usize>chunk * (<usize>k << 2);
  const desc = descs + (<usize>tid << 4);
  for (let u = u0; u < u1; u++) {
    const c0 = u * chunk;
    const cols = min(chunk, n - c0);
    if (transpose) {
      for (let c = 0; c < cols; c++) {
        dequantRange(words, scales, biases, k, groupSize, bits, c0 + c, 0, k, block + (<usize>c * <usize>k << 2));
      }
    } else {
      for (let p = 0; p < k; p++) {
        dequantRange(words, scales, biases, n, groupSize, bits, p, c0, cols, block + (<usize>p * <usize>chunk << 2));
      }
    }
    gemmRect(x, k, 1, m, desc, 0, cols, k, y + (<usize>c0 << 2), n, 0, m, 0, cols, false);
  }
}
