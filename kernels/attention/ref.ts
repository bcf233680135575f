/**
 * Reference kernels for attention: one query row at a time, scores → stable softmax
 * (subtract the row maximum) → weighted sums, accumulated in doubles.
 */
import { broadcastStrides } from '../../core/shape.js';
import { allocOutput, type HostData, type HostTensor, type RefKernel, type RefKernelTable } from '../host.js';
import type { AttentionAttrs } from './attention.js';

interface Layout {
  readonly heads: number;
  readonly group: number;
  readonly T: number;
  /** Rows of k and v per head. */
  readonly S: number;
  /** Valid keys: the first `keys` rows (kvLength). */
  readonly keys: number;
  readonly D: number;
  readonly Dv: number;
  readonly batch: number;
  /** Mask strides over [B, Hq, T, keys] (0 on broadcast axes), or null without a mask. */
  readonly maskStrides: readonly number[] | null;
}

function layoutOf(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  mask: HostTensor | undefined,
  kvLength: number | undefined,
): Layout {
  const [batch, heads, T, D] = q.shape;
  const [, kvHeads, S] = k.shape;
  const Dv = v.shape[3];
  const keys = kvLength ?? S;
  return {
    batch,
    heads,
    group: heads / kvHeads,
    T,
    S,
    keys,
    D,
    Dv,
    maskStrides: mask ? broadcastStrides(mask.shape, [batch, heads, T, keys]) : null,
  };
}

/**
 * The softmax weights of query row (b, h, t) into p[0..last], where `last` is the final
 * key the row may see. Returns -1 when no key is admissible (every score -Infinity):
 * such a row's output and gradients are zero.
 */
function rowWeights(
  L: Layout,
  q: HostData,
  k: HostData,
  mask: HostData | null,
  { scale, causal }: AttentionAttrs,
  b: number,
  h: number,
  t: number,
  p: Float64Array,
): number {
  const last = causal ? t + L.keys - L.T : L.keys - 1;
  const kvh = Math.floor(h / L.group);
  const qo = ((b * L.heads + h) * L.T + t) * L.D;
  const ko = (b * (L.heads / L.group) + kvh) * L.S * L.D;
  const ms = L.maskStrides;
  const mo = ms ? b * ms[0] + h * ms[1] + t * ms[2] : 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j <= last; j++) {
    let dot = 0;
    for (let d = 0; d < L.D; d++) dot += q[qo + d] * k[ko + j * L.D + d];
    const s = scale * dot + (mask && ms ? mask[mo + j * ms[3]] : 0);
    p[j] = s;
    // NaN is sticky so it reaches the output instead of being skipped.
    if (s > max || Number.isNaN(s)) max = Number.isNaN(max) ? max : s;
  }
  if (max === Number.NEGATIVE_INFINITY) return -1;
  let total = 0;
  for (let j = 0; j <= last; j++) {
    p[j] = Math.exp(p[j] - max);
    total += p[j];
  }
  for (let j = 0; j <= last; j++) p[j] /= total;
  return last;
}

function maskOf(inputs: readonly HostTensor[], count: number): HostTensor | undefined {
  return inputs.length > count ? inputs[count] : undefined;
}

const scaledDotProductAttention: RefKernel<AttentionAttrs> = (inputs, attrs, [out]) => {
  const [q, k, v] = inputs;
  const mask = maskOf(inputs, 3);
  const L = layoutOf(q, k, v, mask, attrs.kvLength);
  const y = allocOutput(out);
  const p = new Float64Array(L.S);
  const acc = new Float64Array(L.Dv);
  const kvHeads = L.heads / L.group;
  for (let b = 0; b < L.batch; b++) {
    for (let h = 0; h < L.heads; h++) {
      const vo = (b * kvHeads + Math.floor(h / L.group)) * L.S * L.Dv;
      for (let t = 0; t < L.T; t++) {
        const last = rowWeights(L, q.data, k.data, mask?.data ?? null, attrs, b, h, t, p);
        acc.fill(0);
        for (let j = 0; j <= last; j++) {
          for (let e = 0; e < L.Dv; e++) acc[e] += p[j] * v.data[vo + j * L.Dv + e];
        }
        y.set(acc, ((b * L.heads + h) * L.T + t) * L.Dv);
      }
    }
  }
  return [y];
};

const attentionBackward: RefKernel<AttentionAttrs> = (inputs, attrs, [dqInfo, dkInfo, dvInfo]) => {
  const [q, k, v, o, dO] = inputs;
  const mask = maskOf(inputs, 5);
  const L = layoutOf(q, k, v, mask, attrs.kvLength);
  const dq = new Float64Array(q.data.length);
  const dk = new Float64Array(k.data.length);
  const dv = new Float64Array(v.data.length);
  const p = new Float64Array(L.S);
  const kvHeads = L.heads / L.group;
  const { scale } = attrs;
  for (let b = 0; b < L.batch; b++) {
    for (let h = 0; h < L.heads; h++) {
      const kvh = b * kvHeads + Math.floor(h / L.group);
      const ko = kvh * L.S * L.D;
      const vo = kvh * L.S * L.Dv;
      for (let t = 0; t < L.T; t++) {
        const last = rowWeights(L, q.data, k.data, mask?.data ?? null, attrs, b, h, t, p);
        const qo = ((b * L.heads + h) * L.T + t) * L.D;
        const oo = ((b * L.heads + h) * L.T + t) * L.Dv;
        let delta = 0;
        if (last >= 0) for (let e = 0; e < L.Dv; e++) delta += dO.data[oo + e] * o.data[oo + e];
        for (let j = 0; j <= last; j++) {
          let dp = 0;
          for (let e = 0; e < L.Dv; e++) {
            dp += dO.data[oo + e] * v.data[vo + j * L.Dv + e];
            dv[vo + j * L.Dv + e] += p[j] * dO.data[oo + e];
          }
          const ds = scale * p[j] * (dp - delta);
          for (let d = 0; d < L.D; d++) {
            dq[qo + d] += ds * k.data[ko + j * L.D + d];
            dk[ko + j * L.D + d] += ds * q.data[qo + d];
          }
        }
      }
    }
  }
  const outputs = [allocOutput(dqInfo), allocOutput(dkInfo), allocOutput(dvInfo)];
  outputs[0].set(dq);
  outputs[1].set(dk);
  outputs[2].set(dv);
  return outputs;
};

export const refKernels: RefKernelTable = { scaledDotProductAttention, attentionBackward };
