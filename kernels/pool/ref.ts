/**
 * Reference kernels for pooling. One window walk serves every kernel, so the forward
 * passes, their gradients and the argmax tie rule cannot drift apart.
 */
import { allocOutput, type HostTensor, type RefKernel, type RefKernelTable } from '../host.js';
import type { AvgPool2dAttrs, AvgPool2dGradAttrs, MaxPool2dAttrs } from './pool.js';

interface Window {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation?: readonly number[];
}

/**
 * For each pooled position (in row-major output order) the flat input indices of the
 * window's real elements, in row-major window order; padding is skipped.
 */
function forEachWindow(
  inShape: readonly number[],
  outShape: readonly number[],
  { kernel, stride, padding, dilation = [1, 1] }: Window,
  visit: (outIndex: number, sources: readonly number[]) => void,
): void {
  const [n, c, h, w] = inShape;
  const [, , oh, ow] = outShape;
  const sources: number[] = [];
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let yh = 0; yh < oh; yh++) {
      for (let yw = 0; yw < ow; yw++) {
        sources.length = 0;
        for (let a = 0; a < kernel[0]; a++) {
          const ih = yh * stride[0] - padding[0] + a * dilation[0];
          if (ih < 0 || ih >= h) continue;
          for (let e = 0; e < kernel[1]; e++) {
            const iw = yw * stride[1] - padding[2] + e * dilation[1];
            if (iw < 0 || iw >= w) continue;
            sources.push((plane * h + ih) * w + iw);
          }
        }
        visit(o++, sources);
      }
    }
  }
}

/** The first maximum among the sources; a NaN beats any number. -1 when the window is all padding. */
function argmax(x: HostTensor, sources: readonly number[]): number {
  let best = -1;
  for (const s of sources) {
    const v = x.data[s];
    if (best < 0) best = s;
    else {
      const b = x.data[best];
      if (!Number.isNaN(b) && (v > b || Number.isNaN(v))) best = s;
    }
  }
  return best;
}

function divisor({ kernel, countIncludePad }: AvgPool2dAttrs, sources: readonly number[]): number {
  return countIncludePad ? kernel[0] * kernel[1] : sources.length;
}

const avgPool2d: RefKernel<AvgPool2dAttrs> = ([x], attrs, [out]) => {
  const y = allocOutput(out);
  forEachWindow(x.shape, out.shape, attrs, (o, sources) => {
    let acc = 0;
    for (const s of sources) acc += x.data[s];
    y[o] = acc / divisor(attrs, sources);
  });
  return [y];
};

const avgPool2dGrad: RefKernel<AvgPool2dGradAttrs> = ([g], attrs, [out]) => {
  // Windows overlap: accumulate in doubles, then store once.
  const acc = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
  forEachWindow(attrs.inputShape, g.shape, attrs, (o, sources) => {
    const share = g.data[o] / divisor(attrs, sources);
    for (const s of sources) acc[s] += share;
  });
  const y = allocOutput(out);
  y.set(acc);
  return [y];
};

const maxPool2d: RefKernel<MaxPool2dAttrs> = ([x], attrs, [out]) => {
  const y = allocOutput(out);
  forEachWindow(x.shape, out.shape, attrs, (o, sources) => {
    const best = argmax(x, sources);
    y[o] = best < 0 ? Number.NEGATIVE_INFINITY : x.data[best];
  });
  return [y];
};

const maxPool2dGrad: RefKernel<MaxPool2dAttrs> = ([x, g], attrs, [out]) => {
  const acc = new Float64Array(x.data.length);
  forEachWindow(x.shape, g.shape, attrs, (o, sources) => {
    const best = argmax(x, sources);
    if (best >= 0) acc[best] += g.data[o];
  });
  const y = allocOutput(out);
  y.set(acc);
  return [y];
};

const maxPool2dSelect: RefKernel<MaxPool2dAttrs> = ([x, v], attrs, [out]) => {
  const y = allocOutput(out);
  forEachWindow(x.shape, out.shape, attrs, (o, sources) => {
    const best = argmax(x, sources);
    y[o] = best < 0 ? 0 : v.data[best];
  });
  return [y];
};

export const refKernels: RefKernelTable = { avgPool2d, avgPool2dGrad, maxPool2d, maxPool2dGrad, maxPool2dSelect };
