/**
 * WebGPU attention (attention.wgsl): the forward pass is one thread per query row with
 * an online softmax; the backward pass computes row statistics, then dq per query row
 * and dk/dv per key row, all barrier-free gathers. Head sizes above 256 run on the host.
 */
import { type GpuKernel, type GpuKernelTable, NeedsHost } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import { broadcastStrides } from '../../core/shape.js';
import type { AttentionAttrs } from './attention.js';

const ATTENTION = wgsl(new URL('./attention.wgsl', import.meta.url));
const MAX_HEAD = 256;

type Entry = 'forward' | 'row_stats' | 'grad_q' | 'grad_kv';

function uniforms(
  q: readonly number[],
  k: readonly number[],
  v: readonly number[],
  mask: readonly number[] | null,
  { scale, causal, kvLength }: AttentionAttrs,
): Uniforms {
  const [batch, heads, t, d] = q;
  const [, kvHeads, s] = k;
  if (d > MAX_HEAD || v[3] > MAX_HEAD) throw new NeedsHost(`attention head size over ${MAX_HEAD}`);
  const keys = kvLength ?? s;
  const strides = mask ? broadcastStrides(mask, [batch, heads, t, keys]) : [0, 0, 0, 0];
  return new Uniforms()
    .u32(batch, heads, heads / kvHeads, t, s, d, v[3], causal ? 1 : 0, mask ? 1 : 0)
    .f32(scale)
    .u32(keys, 0)
    .u32(...strides);
}

const scaledDotProductAttention: GpuKernel<AttentionAttrs> = (inputs, attrs, [out], gpu) => {
  const [q, k, v, mask] = inputs;
  const u = uniforms(q.shape, k.shape, v.shape, mask?.shape ?? null, attrs);
  const [qv, kv, vv] = [q, k, v].map((t) => gpu.wide(t));
  const mv = mask ? gpu.wide(mask) : null;
  const y = gpu.output(out);
  const [batch, heads, t] = q.shape;
  gpu.dispatch({
    shader: ATTENTION,
    entry: 'forward',
    uniforms: u,
    bindings: [qv.buffer, kv.buffer, vv.buffer, mv?.buffer ?? qv.buffer, null, null, y.buffer, null],
    threads: batch * heads * t,
  });
  return [y.finish()];
};

const attentionBackward: GpuKernel<AttentionAttrs> = (inputs, attrs, [dqInfo, dkInfo, dvInfo], gpu) => {
  const [q, k, v, o, dO, mask] = inputs;
  const u = () => uniforms(q.shape, k.shape, v.shape, mask?.shape ?? null, attrs);
  const [qv, kv, vv, ov, dv0] = [q, k, v, o, dO].map((t) => gpu.wide(t));
  const mv = mask ? gpu.wide(mask) : null;
  const [batch, heads, t] = q.shape;
  const rows = batch * heads * t;
  const stats = gpu.temp(rows * 3 * 4);
  const m = mv?.buffer ?? qv.buffer;
  const run = (entry: Entry, bindings: (GPUBuffer | null)[], threads: number) =>
    gpu.dispatch({ shader: ATTENTION, entry, uniforms: u(), bindings, threads });
  run('row_stats', [qv.buffer, kv.buffer, null, m, dv0.buffer, stats, ov.buffer, null], rows);
  const dq = gpu.output(dqInfo);
  run('grad_q', [qv.buffer, kv.buffer, vv.buffer, m, dv0.buffer, stats, dq.buffer, null], rows);
  const dk = gpu.output(dkInfo);
  const dv = gpu.output(dvInfo);
  const keys = k.shape[0] * k.shape[1] * k.shape[2];
  run('grad_kv', [qv.buffer, kv.buffer, vv.buffer, m, dv0.buffer, stats, dk.buffer, dv.buffer], keys);
  return [dq.finish(), dk.finish(), dv.finish()];
};

export const gpuKernels: GpuKernelTable = { scaledDotProductAttention, attentionBackward };

export function gpuVariants(): ShaderVariant[] {
  const entries: Entry[] = ['forward', 'row_stats', 'grad_q', 'grad_kv'];
  return entries.map((entry) => ({ shader: ATTENTION, entry }));
}
