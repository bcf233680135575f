/**
 * Native attention: per (batch, head) GEMMs for the scores and the weighted sums with
 * the mask, causality and softmax in between (native.cc). The mask, if any, is the
 * op's last input, broadcast over [B, Hq, T, S] by strides.
 */
import type { F32 } from '../../backends/native/addon.js';
import { f32, kernelTable, type NativeTensor, nativeKernel, outputF32 } from '../../backends/native/kernel.js';
import { broadcastStrides } from '../../core/shape.js';
import type { AttentionAttrs } from './attention.js';
import { refKernels } from './ref.js';

/**
 * The functions kernels/attention/native.cc adds to the addon: dims [B, Hq, Hkv, T, S, D, Dv, keys]
 * (keys: the valid rows of k and v, kvLength); mask strides over [B, Hq, T, keys].
 */
export interface NativeFunctions {
  attention(
    q: F32,
    k: F32,
    v: F32,
    mask: F32 | null,
    y: F32,
    dims: number[],
    maskStrides: number[],
    scale: number,
    causal: boolean,
  ): void;
  attentionBackward(
    q: F32,
    k: F32,
    v: F32,
    o: F32,
    dO: F32,
    mask: F32 | null,
    dq: F32,
    dk: F32,
    dv: F32,
    dims: number[],
    maskStrides: number[],
    scale: number,
    causal: boolean,
  ): void;
}

const NO_MASK = [0, 0, 0, 0];

function geometry(
  q: NativeTensor,
  k: NativeTensor,
  v: NativeTensor,
  mask: NativeTensor | undefined,
  kvLength: number | undefined,
) {
  const [batch, heads, T, D] = q.shape;
  const [, kvHeads, S] = k.shape;
  const Dv = v.shape[3];
  const keys = kvLength ?? S;
  const dims = [batch, heads, kvHeads, T, S, D, Dv, keys];
  const maskStrides = mask ? broadcastStrides(mask.shape, [batch, heads, T, keys]) : NO_MASK;
  return { dims, maskStrides };
}

const scaledDotProductAttention = nativeKernel<AttentionAttrs>({
  op: 'scaledDotProductAttention',
  attrs: ['scale', 'causal', 'kvLength'],
  ref: refKernels.scaledDotProductAttention,
  run(addon, inputs, { scale, causal, kvLength }, [out]) {
    const [q, k, v, mask] = inputs;
    const { dims, maskStrides } = geometry(q, k, v, mask, kvLength);
    const y = outputF32(out.shape.reduce((a, b) => a * b, 1));
    addon.attention(
      f32(q.data),
      f32(k.data),
      f32(v.data),
      mask ? f32(mask.data) : null,
      y,
      dims,
      maskStrides,
      scale,
      causal,
    );
    return [y];
  },
});

const attentionBackward = nativeKernel<AttentionAttrs>({
  op: 'attentionBackward',
  attrs: ['scale', 'causal'],
  ref: refKernels.attentionBackward,
  run(addon, inputs, { scale, causal }) {
    const [q, k, v, o, dO, mask] = inputs;
    const { dims, maskStrides } = geometry(q, k, v, mask, undefined);
    const dq = outputF32(q.data.length);
    const dk = outputF32(k.data.length);
    const dv = outputF32(v.data.length);
    addon.attentionBackward(
      f32(q.data),
      f32(k.data),
      f32(v.data),
      f32(o.data),
      f32(dO.data),
      mask ? f32(mask.data) : null,
      dq,
      dk,
      dv,
      dims,
      maskStrides,
      scale,
      causal,
    );
    return [dq, dk, dv];
  },
});

export const nativeKernels = kernelTable({ scaledDotProductAttention, attentionBackward });
