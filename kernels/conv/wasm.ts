/**
 * wasm convolutions, all on the packed GEMM of kernels/matmul/wasm.as (see kernels/conv/wasm.as):
 * conv2d packs its im2col matrix straight from the image (never materialised), the weight
 * gradient packs the transposed im2col, and the transposed convolution runs a GEMM into a
 * column buffer followed by a col2im scatter, one image at a time.
 */
import { viewOf } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import { NS_PER_FLOP, type WasmRuntime } from '../../backends/wasm/runtime.js';
import { B_IM2COL, B_IM2COL_T, B_MATRIX, MR, NR, splitByRows } from '../matmul/wasm.js';
import type { Conv2dAttrs, Conv2dOpAttrs, Conv2dWeightGradAttrs, ConvTranspose2dAttrs } from './conv.js';
import { refKernels } from './ref.js';

/** The i32 record conv kernels read (field order of CONV_* in wasm.as). */
function convRecord(
  rt: WasmRuntime,
  x: readonly number[],
  o: number,
  out: readonly number[],
  kernel: readonly number[],
  attrs: Conv2dAttrs,
  splitRows: boolean,
): number {
  const [n, c, h, w] = x;
  const { stride, padding, dilation, groups } = attrs;
  return rt.record([
    n,
    c,
    h,
    w,
    o,
    out[0],
    out[1],
    kernel[0],
    kernel[1],
    stride[0],
    stride[1],
    padding[0],
    padding[2],
    dilation[0],
    dilation[1],
    groups,
    splitRows ? 1 : 0,
  ]);
}

/** The im2col B descriptor: mode, x, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw. */
function im2colDesc(
  rt: WasmRuntime,
  mode: number,
  x: WasmTensor,
  out: readonly number[],
  kernel: readonly number[],
  attrs: Conv2dAttrs,
): number {
  const { stride, padding, dilation } = attrs;
  return rt.record([
    mode,
    x.ptr,
    x.shape[2],
    x.shape[3],
    out[0],
    out[1],
    kernel[0],
    kernel[1],
    stride[0],
    stride[1],
    padding[0],
    padding[2],
    dilation[0],
    dilation[1],
  ]);
}

function withRecords(rt: WasmRuntime, records: number[], body: () => void): void {
  try {
    body();
  } finally {
    for (const r of records) rt.free(r);
  }
}

/** conv2d of x with the weight at wPtr (shape [O, C/groups, kh, kw]) into y. */
function runConv2d(
  rt: WasmRuntime,
  x: WasmTensor,
  wPtr: number,
  wShape: readonly number[],
  bias: number,
  y: WasmTensor,
  attrs: Conv2dAttrs,
): void {
  if (y.size === 0) return;
  const [n] = x.shape;
  const [o, cg, kh, kw] = wShape;
  const [, , oh, ow] = y.shape;
  if (cg === 1) {
    // One input channel per group: the direct depthwise kernel.
    const p = convRecord(rt, x.shape, o, [oh, ow], [kh, kw], attrs, false);
    withRecords(rt, [p], () => {
      rt.run('depthwise_f32', [x.ptr, wPtr, bias, y.ptr, p], n * o, (oh * ow * kh * kw) / 4);
    });
    return;
  }
  const og = o / attrs.groups;
  const pixels = oh * ow;
  const k = cg * kh * kw;
  const rows = splitByRows(og, pixels);
  const per = rows ? Math.ceil(og / MR) : Math.ceil(pixels / NR);
  const p = convRecord(rt, x.shape, o, [oh, ow], [kh, kw], attrs, rows);
  const desc = im2colDesc(rt, B_IM2COL, x, [oh, ow], [kh, kw], attrs);
  withRecords(rt, [p, desc], () => {
    const cost = 2 * k * (rows ? MR * pixels : NR * og) * NS_PER_FLOP;
    rt.run('conv2d_f32', [x.ptr, wPtr, bias, y.ptr, p, desc], n * attrs.groups * per, cost);
  });
}

/** Mode codes of layout's pad_rows (kernels/layout/wasm.ts PAD_MODES): reflect 1, edge 2. */
const PAD_ROWS_MODE = { reflect: 1, replicate: 2 } as const;

/**
 * x padded by `padding` [top, bottom, left, right] in `mode` into a new wasm buffer, with
 * layout's pad_rows kernel (record: rank, mode, fill bits, shape, befores, afters).
 */
function padInput(
  rt: WasmRuntime,
  x: WasmTensor,
  padding: readonly number[],
  mode: 'reflect' | 'replicate',
): WasmTensor {
  const [n, c, h, w] = x.shape;
  const shape = [n, c, h + padding[0] + padding[1], w + padding[2] + padding[3]];
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  const ptr = rt.alloc(size * 4);
  if (size > 0) {
    const meta = rt.record([
      4,
      PAD_ROWS_MODE[mode],
      0,
      ...x.shape,
      0,
      0,
      padding[0],
      padding[2],
      0,
      0,
      padding[1],
      padding[3],
    ]);
    try {
      rt.run('pad_rows', [x.ptr, ptr, 4, meta], size / shape[3], shape[3] + 20);
    } catch (err) {
      rt.free(ptr);
      throw err;
    } finally {
      rt.free(meta);
    }
  }
  return { ptr, shape, dtype: 'f32', size };
}

const conv2d = wasmKernel<Conv2dOpAttrs>({
  op: 'conv2d',
  ref: refKernels.conv2d,
  run(rt, [x, w, bias], attrs, [y]) {
    const { padMode, ...zeroPadded } = attrs;
    if (padMode === undefined) {
      runConv2d(rt, x, w.ptr, w.shape, bias ? bias.ptr : 0, y, zeroPadded);
      return;
    }
    if (padMode !== 'reflect' && padMode !== 'replicate') {
      throw new Error(`wasm conv2d: unsupported padMode '${String(padMode)}' (reflect, replicate)`);
    }
    // The wasm im2col packer reads zeros outside x: pad a copy first, then convolve unpadded.
    const padded = padInput(rt, x, attrs.padding, padMode);
    try {
      runConv2d(rt, padded, w.ptr, w.shape, bias ? bias.ptr : 0, y, { ...zeroPadded, padding: [0, 0, 0, 0] });
    } finally {
      rt.free(padded.ptr);
    }
  },
});

/**
 * A stride-1 transposed convolution is a convolution with the kernel flipped, input and output
 * channels swapped within each group, and padding d·(k − 1) − p (plus outputPadding at the
 * bottom/right): the padding it needs when none of those is negative, else null.
 */
export function transposedAsConv(
  kernel: readonly number[],
  attrs: ConvTranspose2dAttrs,
): [number, number, number, number] | null {
  const { stride, padding, dilation, outputPadding } = attrs;
  if (stride[0] !== 1 || stride[1] !== 1) return null;
  const eh = dilation[0] * (kernel[0] - 1);
  const ew = dilation[1] * (kernel[1] - 1);
  const pads: [number, number, number, number] = [
    eh - padding[0],
    eh - padding[1] + outputPadding[0],
    ew - padding[2],
    ew - padding[3] + outputPadding[1],
  ];
  return pads.every((v) => v >= 0) ? pads : null;
}

/** w [C, og, kh, kw] → w' [O, C/groups, kh, kw] with w'[g·og + o, c, a, e] = w[g·cg + c, o, kh−1−a, kw−1−e]. */
function flipForConv(rt: WasmRuntime, w: WasmTensor, groups: number): number {
  const [c, og, kh, kw] = w.shape;
  const cg = c / groups;
  const out = rt.alloc(w.size * 4);
  const src = viewOf(rt, 'f32', w.ptr, w.size);
  const dst = viewOf(rt, 'f32', out, w.size);
  const khw = kh * kw;
  for (let g = 0; g < groups; g++) {
    for (let ci = 0; ci < cg; ci++) {
      for (let oi = 0; oi < og; oi++) {
        const from = ((g * cg + ci) * og + oi) * khw;
        const to = ((g * og + oi) * cg + ci) * khw;
        for (let t = 0; t < khw; t++) dst[to + t] = src[from + khw - 1 - t];
      }
    }
  }
  return out;
}

const convTranspose2d = wasmKernel<ConvTranspose2dAttrs>({
  op: 'convTranspose2d',
  ref: refKernels.convTranspose2d,
  run(rt, [x, w, bias], attrs, [y]) {
    if (y.size === 0) return;
    const [n, c, h, wd] = x.shape;
    const [, og, kh, kw] = w.shape;
    const [, o, oh, ow] = y.shape;
    const { groups } = attrs;
    const asConv = transposedAsConv([kh, kw], attrs);
    if (asConv) {
      const flipped = flipForConv(rt, w, groups);
      try {
        const convAttrs = { stride: attrs.stride, padding: asConv, dilation: attrs.dilation, groups };
        runConv2d(rt, x, flipped, [o, c / groups, kh, kw], bias ? bias.ptr : 0, y, convAttrs);
      } finally {
        rt.free(flipped);
      }
      return;
    }
    const rowsPerGroup = og * kh * kw;
    const hw = h * wd;
    const splitRows = splitByRows(rowsPerGroup, hw);
    const per = splitRows ? Math.ceil(rowsPerGroup / MR) : Math.ceil(hw / NR);
    const p = convRecord(rt, x.shape, o, [oh, ow], [kh, kw], attrs, splitRows);
    const desc = rt.record([B_MATRIX, x.ptr, hw, 1]);
    const cols = rt.alloc(groups * rowsPerGroup * hw * 4);
    try {
      for (let b = 0; b < n; b++) {
        if (hw > 0) {
          rt.run(
            'conv_transpose_gemm_f32',
            [w.ptr, cols, b, p, desc],
            groups * per,
            2 * (c / groups) * (splitRows ? MR * hw : NR * rowsPerGroup) * NS_PER_FLOP,
          );
        }
        rt.run('col2im_f32', [cols, bias ? bias.ptr : 0, y.ptr, b, p], o, oh * ow + kh * kw * hw);
      }
    } finally {
      rt.free(cols);
      rt.free(desc);
      rt.free(p);
    }
  },
});

const conv2dWeightGrad = wasmKernel<Conv2dWeightGradAttrs>({
  op: 'conv2dWeightGrad',
  ref: refKernels.conv2dWeightGrad,
  run(rt, [x, g], attrs, [dw]) {
    if (dw.size === 0) return;
    const [n, c] = x.shape;
    const [, o, gh, gw] = g.shape;
    const [, cg, kh, kw] = dw.shape;
    const og = o / attrs.groups;
    const cols = cg * kh * kw;
    const rows = splitByRows(og, cols);
    const per = rows ? Math.ceil(og / MR) : Math.ceil(cols / NR);
    const p = convRecord(rt, [n, c, x.shape[2], x.shape[3]], o, [gh, gw], [kh, kw], attrs, rows);
    const desc = im2colDesc(rt, B_IM2COL_T, x, [gh, gw], [kh, kw], attrs);
    withRecords(rt, [p, desc], () => {
      const cost = 2 * n * gh * gw * (rows ? MR * cols : NR * og) * 2 * NS_PER_FLOP;
      rt.run('conv_weight_grad_f32', [x.ptr, g.ptr, dw.ptr, p, desc], attrs.groups * per, cost);
    });
  },
});

export const wasmKernels = kernelTable({ conv2d, convTranspose2d, conv2dWeightGrad });
