/**
 * Native convolution (native.cc): conv2d as Winograd F(4×4, 3×3), a direct kernel or an
 * implicit GEMM by layer shape; convTranspose2d and conv2dWeightGrad as im2col/col2im around
 * the packed GEMM. The geometry array is the attrs flattened:
 * [N, C, H, W, O, kH, kW, OH, OW, stride h, w, padding top, left, dilation h, w, groups],
 * plus conv2d's pad mode (1 reflect, 2 replicate) as a 17th entry when the op has one; the
 * bottom/right padding only shape the output, which the op already inferred.
 */
import type { F32 } from '../../backends/native/addon.js';
import { enabledApple } from '../../backends/native/apple.js';
import { f32, kernelTable, nativeKernel, outputF32, overwrittenF32 } from '../../backends/native/kernel.js';
import type { Conv2dAttrs, Conv2dOpAttrs, Conv2dWeightGradAttrs, ConvTranspose2dAttrs } from './conv.js';
import { refKernels } from './ref.js';

/** The functions kernels/conv/native.cc adds to the addon: geometry [N, C, H, W, O, kH, kW, OH, OW, sh, sw, pt, pl, dh, dw, groups]. */
export interface NativeFunctions {
  conv2d(x: F32, w: F32, bias: F32 | null, y: F32, geometry: number[]): void;
  convTranspose2d(x: F32, w: F32, bias: F32 | null, y: F32, geometry: number[]): void;
  /** geometry as conv2d's with OH, OW the gradient's (possibly smaller) extent. */
  conv2dWeightGrad(x: F32, g: F32, y: F32, geometry: number[]): void;
  conv2dAsync(x: F32, w: F32, bias: F32 | null, y: F32, geometry: number[]): Promise<F32>;
}

/** Convolutions with at least this many multiply-adds go to Metal on Macs where it is enabled. */
const METAL_MIN_WORK = 1 << 24;

function tail({ stride, padding, dilation, groups }: Conv2dAttrs): number[] {
  return [stride[0], stride[1], padding[0], padding[2], dilation[0], dilation[1], groups];
}

/** The geometry's 17th entry: how the padding reads x (native.cc PadMode). */
const PAD_MODE_CODES = { reflect: 1, replicate: 2 } as const;

function padModeCode(mode: Conv2dOpAttrs['padMode']): number {
  if (mode === undefined) return 0;
  if (mode === 'reflect' || mode === 'replicate') return PAD_MODE_CODES[mode];
  throw new Error(`native conv2d: unsupported padMode '${String(mode)}' (reflect, replicate)`);
}

const conv2d = nativeKernel<Conv2dOpAttrs>({
  op: 'conv2d',
  attrs: ['stride', 'padding', 'dilation', 'groups', 'padMode'],
  ref: refKernels.conv2d,
  run(addon, [x, w, bias], attrs, [out]) {
    const [n, c, h, wd] = x.shape;
    const [o, , kh, kw] = w.shape;
    const [, , oh, ow] = out.shape;
    const y = overwrittenF32(n * o * oh * ow);
    const mode = padModeCode(attrs.padMode);
    const geometry = [n, c, h, wd, o, kh, kw, oh, ow, ...tail(attrs)];
    const work = n * o * oh * ow * (c / attrs.groups) * kh * kw;
    // The Metal kernel reads zeros outside x: bordered convolutions stay on the CPU.
    const apple = work >= METAL_MIN_WORK && mode === 0 ? enabledApple(addon) : null;
    if (apple) apple.metalConv2d(f32(x.data), f32(w.data), bias ? f32(bias.data) : null, y, geometry);
    else addon.conv2d(f32(x.data), f32(w.data), bias ? f32(bias.data) : null, y, mode ? [...geometry, mode] : geometry);
    return [y];
  },
});

const convTranspose2d = nativeKernel<ConvTranspose2dAttrs>({
  op: 'convTranspose2d',
  attrs: ['stride', 'padding', 'dilation', 'groups', 'outputPadding'],
  ref: refKernels.convTranspose2d,
  run(addon, [x, w, bias], attrs, [out]) {
    const [n, c, h, wd] = x.shape;
    const [, , kh, kw] = w.shape;
    const [, o, oh, ow] = out.shape;
    const y = outputF32(n * o * oh * ow);
    addon.convTranspose2d(f32(x.data), f32(w.data), bias ? f32(bias.data) : null, y, [
      n,
      c,
      h,
      wd,
      o,
      kh,
      kw,
      oh,
      ow,
      ...tail(attrs),
    ]);
    return [y];
  },
});

const conv2dWeightGrad = nativeKernel<Conv2dWeightGradAttrs>({
  op: 'conv2dWeightGrad',
  attrs: ['stride', 'padding', 'dilation', 'groups', 'kernel'],
  ref: refKernels.conv2dWeightGrad,
  run(addon, [x, g], attrs, [out]) {
    const [n, c, h, wd] = x.shape;
    const [, o, gh, gw] = g.shape;
    const [kh, kw] = attrs.kernel;
    const y = outputF32(out.shape.reduce((a, b) => a * b, 1));
    addon.conv2dWeightGrad(f32(x.data), f32(g.data), y, [n, c, h, wd, o, kh, kw, gh, gw, ...tail(attrs)]);
    return [y];
  },
});

export const nativeKernels = kernelTable({ conv2d, convTranspose2d, conv2dWeightGrad });
