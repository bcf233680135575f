/**
 * wasm attention (kernels/attention/wasm.as): the forward pass one query row per unit, the
 * backward one (batch, key/value head) per unit so dk and dv never meet across threads.
 * f32 (f16 widened); the optional mask is additive in q's dtype.
 */
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import type { WasmRuntime } from '../../backends/wasm/runtime.js';
import { broadcastStrides } from '../../core/shape.js';
import type { AttentionAttrs } from './attention.js';
import { refKernels } from './ref.js';

/**
 * [batch, heads, kvHeads, T, S, D, Dv, causal, hasMask, mask strides over [B, Hq, T, keys], keys]
 * (keys: the valid rows of k and v, kvLength).
 */
function layoutRecord(
  rt: WasmRuntime,
  q: WasmTensor,
  k: WasmTensor,
  v: WasmTensor,
  mask: WasmTensor | undefined,
  causal: boolean,
  kvLength: number | undefined,
): number {
  const [batch, heads, T, D] = q.shape;
  const [, kvHeads, S] = k.shape;
  const Dv = v.shape[3];
  const keys = kvLength ?? S;
  const strides = mask ? broadcastStrides(mask.shape, [batch, heads, T, keys]) : [0, 0, 0, 0];
  return rt.record([batch, heads, kvHeads, T, S, D, Dv, causal ? 1 : 0, mask ? 1 : 0, ...strides, keys]);
}

const scaledDotProductAttention = wasmKernel<AttentionAttrs>({
  op: 'scaledDotProductAttention',
  ref: refKernels.scaledDotProductAttention,
  run(rt, [q, k, v, mask], { scale, causal, kvLength }, [y]) {
    if (y.size === 0) return;
    const D = q.shape[3];
    const keys = kvLength ?? k.shape[2];
    const Dv = v.shape[3];
    const p = layoutRecord(rt, q, k, v, mask, causal, kvLength);
    try {
      rt.run(
        'attention_f32',
        [q.ptr, k.ptr, v.ptr, mask?.ptr ?? 0, y.ptr, p, scale],
        y.size / Dv,
        keys * (D + Dv + 4) + 20,
      );
    } finally {
      rt.free(p);
    }
  },
});

const attentionBackward = wasmKernel<AttentionAttrs>({
  op: 'attentionBackward',
  ref: refKernels.attentionBackward,
  run(rt, [q, k, v, o, dO, mask], { scale, causal }, [dq, dk, dv]) {
    const [batch, heads, T, D] = q.shape;
    const [, kvHeads, S] = k.shape;
    const Dv = v.shape[3];
    if (batch * kvHeads === 0) return;
    const p = layoutRecord(rt, q, k, v, mask, causal, undefined);
    try {
      rt.run(
        'attention_backward_f32',
        [q.ptr, k.ptr, v.ptr, o.ptr, dO.ptr, mask?.ptr ?? 0, dq.ptr, dk.ptr, dv.ptr, p, scale],
        batch * kvHeads,
        (heads / kvHeads) * T * S * (3 * D + 3 * Dv + 8) + 20,
      );
    } finally {
      rt.free(p);
    }
  },
});

export const wasmKernels = kernelTable({ scaledDotProductAttention, attentionBackward });
