/**
 * Reference kernels for convolution: direct loops over NCHW, one output element at a
 * time (gather form, as a GPU thread would), accumulating in a JS double.
 */
import { allocOutput, type RefKernel, type RefKernelTable } from '../host.js';
import type { Conv2dOpAttrs, Conv2dWeightGradAttrs, ConvTranspose2dAttrs } from './conv.js';

/**
 * Where a padded coordinate i of an axis of size `size` reads: -1 (a zero) for zero
 * padding outside, the mirror image without the edge for 'reflect', the edge for 'replicate'.
 */
function borderIndex(i: number, size: number, mode: Conv2dOpAttrs['padMode']): number {
  if (i >= 0 && i < size) return i;
  if (mode === 'reflect') return i < 0 ? -i : 2 * (size - 1) - i;
  if (mode === 'replicate') return i < 0 ? 0 : size - 1;
  return -1;
}

/**
 * y[n, o, oh, ow] = b[o] + Σ x[n, c, oh·sh − top + kh·dh, ow·sw − left + kw·dw] · w[o, c − group start, kh, kw],
 * border positions read as padMode says (zeros when absent).
 */
const conv2d: RefKernel<Conv2dOpAttrs> = ([x, w, bias], { stride, padding, dilation, groups, padMode }, [out]) => {
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const [, , oh, ow] = out.shape;
  const og = o / groups;
  const y = allocOutput(out);
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const c0 = Math.floor(oc / og) * cg;
      for (let yh = 0; yh < oh; yh++) {
        for (let yw = 0; yw < ow; yw++) {
          let acc = bias ? bias.data[oc] : 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let a = 0; a < kh; a++) {
              const ih = borderIndex(yh * stride[0] - padding[0] + a * dilation[0], h, padMode);
              if (ih < 0) continue;
              for (let e = 0; e < kw; e++) {
                const iw = borderIndex(yw * stride[1] - padding[2] + e * dilation[1], wd, padMode);
                if (iw < 0) continue;
                acc += x.data[((b * c + c0 + ci) * h + ih) * wd + iw] * w.data[((oc * cg + ci) * kh + a) * kw + e];
              }
            }
          }
          y[i++] = acc;
        }
      }
    }
  }
  return [y];
};

/**
 * y[n, o, oh, ow] = b[o] + Σ x[n, c, ih, iw] · w[c, o − group start, kh, kw] over the (ih, kh) with
 * ih·sh − top + kh·dh = oh (likewise for width): every input pixel that conv2d would have read here.
 */
const convTranspose2d: RefKernel<ConvTranspose2dAttrs> = (
  [x, w, bias],
  { stride, padding, dilation, groups },
  [out],
) => {
  const [n, c, h, wd] = x.shape;
  const [, og, kh, kw] = w.shape;
  const [, o, oh, ow] = out.shape;
  const cg = c / groups;
  const y = allocOutput(out);
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const group = Math.floor(oc / og);
      const oo = oc - group * og;
      for (let yh = 0; yh < oh; yh++) {
        for (let yw = 0; yw < ow; yw++) {
          let acc = bias ? bias.data[oc] : 0;
          for (let ci = 0; ci < cg; ci++) {
            const ic = group * cg + ci;
            for (let a = 0; a < kh; a++) {
              const th = yh + padding[0] - a * dilation[0];
              if (th < 0 || th % stride[0] !== 0 || th / stride[0] >= h) continue;
              const ih = th / stride[0];
              for (let e = 0; e < kw; e++) {
                const tw = yw + padding[2] - e * dilation[1];
                if (tw < 0 || tw % stride[1] !== 0 || tw / stride[1] >= wd) continue;
                const iw = tw / stride[1];
                acc += x.data[((b * c + ic) * h + ih) * wd + iw] * w.data[((ic * og + oo) * kh + a) * kw + e];
              }
            }
          }
          y[i++] = acc;
        }
      }
    }
  }
  return [y];
};

/** dw[o, ci, kh, kw] = Σ_{n, oh, ow} g[n, o, oh, ow] · x[n, group start + ci, oh·sh − top + kh·dh, ow·sw − left + kw·dw] */
const conv2dWeightGrad: RefKernel<Conv2dWeightGradAttrs> = ([x, g], { stride, padding, dilation, groups }, [out]) => {
  const [n, c, h, wd] = x.shape;
  const [, o, oh, ow] = g.shape;
  const [, cg, kh, kw] = out.shape;
  const og = o / groups;
  const y = allocOutput(out);
  let i = 0;
  for (let oc = 0; oc < o; oc++) {
    const c0 = Math.floor(oc / og) * cg;
    for (let ci = 0; ci < cg; ci++) {
      for (let a = 0; a < kh; a++) {
        for (let e = 0; e < kw; e++) {
          let acc = 0;
          for (let b = 0; b < n; b++) {
            for (let yh = 0; yh < oh; yh++) {
              const ih = yh * stride[0] - padding[0] + a * dilation[0];
              if (ih < 0 || ih >= h) continue;
              for (let yw = 0; yw < ow; yw++) {
                const iw = yw * stride[1] - padding[2] + e * dilation[1];
                if (iw < 0 || iw >= wd) continue;
                acc += g.data[((b * o + oc) * oh + yh) * ow + yw] * x.data[((b * c + c0 + ci) * h + ih) * wd + iw];
              }
            }
          }
          y[i++] = acc;
        }
      }
    }
  }
  return [y];
};

export const refKernels: RefKernelTable = { conv2d, convTranspose2d, conv2dWeightGrad };
