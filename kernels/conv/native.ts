/**
 * Native convolution: conv2d, convTranspose2d and conv2dWeightGrad as im2col/col2im
 * around the packed GEMM (native.cc). The geometry array is the attrs flattened:
 * [N, C, H, W, O, kH, kW, OH, OW, stride h, w, padding top, left, dilation h, w, groups];
 * the bottom/right padding only shape the output, which the op already inferred.
 */
import { enabledApple } from '../../backends/native/apple.js';
import { f32, kernelTable, nativeKernel } from '../../backends/native/kernel.js';
import type { Conv2dAttrs, Conv2dWeightGradAttrs, ConvTranspose2dAttrs } from './conv.js';
import { refKernels } from './ref.js';

/** Convolutions with at least this many multiply-adds go to Metal on Macs where it is enabled. */
const METAL_MIN_WORK = 1 << 24;

function tail({ stride, padding, dilation, groups }: Conv2dAttrs): number[] {
  return [stride[0], stride[1], padding[0], padding[2], dilation[0], dilation[1], groups];
}

const conv2d = nativeKernel<Conv2dAttrs>({
  op: 'conv2d',
  attrs: ['stride', 'padding', 'dilation', 'groups'],
  ref: refKernels.conv2d,
  run(addon, [x, w, bias], attrs, [out]) {
    const [n, c, h, wd] = x.shape;
    const [o, , kh, kw] = w.shape;
    const [, , oh, ow] = out.shape;
    const y = new Float32Array(n * o * oh * ow);
    const geometry = [n, c, h, wd, o, kh, kw, oh, ow, ...tail(attrs)];
    const work = n * o * oh * ow * (c / attrs.groups) * kh * kw;
    const apple = work >= METAL_MIN_WORK ? enabledApple(addon) : null;
    if (apple) apple.metalConv2d(f32(x.data), f32(w.data), bias ? f32(bias.data) : null, y, geometry);
    else addon.conv2d(f32(x.data), f32(w.data), bias ? f32(bias.data) : null, y, geometry);
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
    const y = new Float32Array(n * o * oh * ow);
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
    const y = new Float32Array(out.shape.reduce((a, b) => a * b, 1));
    addon.conv2dWeightGrad(f32(x.data), f32(g.data), y, [n, c, h, wd, o, kh, kw, gh, gw, ...tail(attrs)]);
    return [y];
  },
});

export const nativeKernels = kernelTable({ conv2d, convTranspose2d, conv2dWeightGrad });
