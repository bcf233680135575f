/** Native decoder layer: one addon call per layer (kernels/decoder/native.cc). */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, nativeKernel, overwrittenF32 } from '../../backends/native/kernel.js';
import type { DecoderLayerAttrs } from './decoder.js';
import { refKernels } from './ref.js';

/** The function kernels/decoder/native.cc adds to the addon (arguments as its header comment lists them). */
export interface NativeFunctions {
  decoderLayer(
    h: F32,
    inputNorm: F32,
    wq: F32,
    wk: F32,
    wv: F32,
    wo: F32,
    postNorm: F32,
    wGate: F32,
    wUp: F32,
    wDown: F32,
    keys: F32 | null,
    values: F32 | null,
    y: F32,
    newKeys: F32,
    newValues: F32,
    B: number,
    T: number,
    hidden: number,
    intermediate: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    cached: number,
    capacity: number,
    eps: number,
    ropeBase: number,
    ropeScale: number,
    ropeTraditional: boolean,
  ): void;
}

const decoderLayer = nativeKernel<DecoderLayerAttrs>({
  op: 'decoderLayer',
  attrs: ['cached', 'numHeads', 'numKvHeads', 'headDim', 'eps', 'ropeBase', 'ropeScale', 'ropeTraditional'],
  ref: refKernels.decoderLayer,
  run(addon, inputs, a, [out, kOut]) {
    const [h, n1, wq, wk, wv, wo, n2, wg, wu, wd, keys, values] = inputs;
    const [B, T, H] = h.shape;
    const y = overwrittenF32(out.shape.reduce((x, z) => x * z, 1));
    const kvSize = kOut.shape.reduce((x, z) => x * z, 1);
    const newK = overwrittenF32(kvSize);
    const newV = overwrittenF32(kvSize);
    const [w1, w2, w3, w4, w5, w6, w7, w8, w9, w0] = [h, n1, wq, wk, wv, wo, n2, wg, wu, wd].map((t) => f32(t.data));
    addon.decoderLayer(
      w1,
      w2,
      w3,
      w4,
      w5,
      w6,
      w7,
      w8,
      w9,
      w0,
      keys ? f32(keys.data) : null,
      values ? f32(values.data) : null,
      y,
      newK,
      newV,
      B,
      T,
      H,
      wg.shape[0],
      a.numHeads,
      a.numKvHeads,
      a.headDim,
      a.cached,
      keys ? keys.shape[2] : 0,
      a.eps,
      a.ropeBase,
      a.ropeScale,
      a.ropeTraditional,
    );
    return [y, newK, newV];
  },
});

export const nativeKernels = kernelTable({ decoderLayer });
