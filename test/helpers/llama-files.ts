/**
 * Synthetic Llama checkpoints for tests: random weights under Hugging Face names, written as llama2.c files
 * (v0/v1/v2, following karpathy/llama2.c export.py) or as Hugging Face folders (config.json + safetensors,
 * one file or shards with an index).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, type SafetensorsTensor } from '../../core/io/safetensors.js';
import { f16ArrayToF32, f32ToF16Bits, Rng } from '../../index.js';
import type { RefTensor } from './llama-reference.js';

export interface TinyShape {
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
  /** q/k/v biases (Qwen2). */
  readonly qkvBias?: boolean;
  /** A separate lm_head. */
  readonly untied?: boolean;
}

export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** Random weights (normal, scaled so activations stay O(1)); norms near 1. */
export function randomWeights(s: TinyShape, seed = 1): Weights {
  const rng = new Rng(seed);
  const d = s.hidden / s.heads;
  const w: Weights = new Map();
  const add = (name: string, shape: number[], scale: number, center = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    w.set(name, { shape, data: Float32Array.from({ length: n }, () => center + scale * rng.normal()) });
  };
  add('model.embed_tokens.weight', [s.vocab, s.hidden], 1);
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [s.hidden], 0.1, 1);
    add(`${p}.self_attn.q_proj.weight`, [s.heads * d, s.hidden], 0.3);
    add(`${p}.self_attn.k_proj.weight`, [s.kvHeads * d, s.hidden], 0.3);
    add(`${p}.self_attn.v_proj.weight`, [s.kvHeads * d, s.hidden], 0.3);
    if (s.qkvBias) {
      add(`${p}.self_attn.q_proj.bias`, [s.heads * d], 0.2);
      add(`${p}.self_attn.k_proj.bias`, [s.kvHeads * d], 0.2);
      add(`${p}.self_attn.v_proj.bias`, [s.kvHeads * d], 0.2);
    }
    add(`${p}.self_attn.o_proj.weight`, [s.hidden, s.heads * d], 0.3);
    add(`${p}.post_attention_layernorm.weight`, [s.hidden], 0.1, 1);
    add(`${p}.mlp.gate_proj.weight`, [s.intermediate, s.hidden], 0.3);
    add(`${p}.mlp.up_proj.weight`, [s.intermediate, s.hidden], 0.3);
    add(`${p}.mlp.down_proj.weight`, [s.hidden, s.intermediate], 0.3);
  }
  add('model.norm.weight', [s.hidden], 0.1, 1);
  if (s.untied) add('lm_head.weight', [s.vocab, s.hidden], 0.3);
  return w;
}

// ---------------------------------------------------------------------------------------------------------
// llama2.c (export.py: legacy_export, version1_export, version2_export)

class Writer {
  readonly parts: Uint8Array[] = [];
  length = 0;
  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  ints(...v: number[]): void {
    this.bytes(new Uint8Array(Int32Array.from(v).buffer));
  }
  floats(v: ArrayLike<number>): void {
    this.bytes(new Uint8Array(Float32Array.from(v).buffer));
  }
  pad(to: number): void {
    this.bytes(new Uint8Array(to - this.length));
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** torch.round: halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** export.py quantize_q80: int8 values and float32 scales per group, and the values they dequantize to. */
export function quantizeQ80(
  w: Float32Array,
  groupSize: number,
): { q: Int8Array; scales: Float32Array; dequantized: Float32Array } {
  const groups = w.length / groupSize;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(groups);
  const dequantized = new Float32Array(w.length);
  for (let g = 0; g < groups; g++) {
    let max = 0;
    for (let i = 0; i < groupSize; i++) max = Math.max(max, Math.abs(w[g * groupSize + i]));
    scales[g] = Math.fround(max / 127);
    for (let i = 0; i < groupSize; i++) {
      const at = g * groupSize + i;
      q[at] = roundHalfEven(Math.fround(w[at] / scales[g]));
      dequantized[at] = Math.fround(q[at] * scales[g]);
    }
  }
  return { q, scales, dequantized };
}

export interface Llama2cFile {
  readonly bytes: Uint8Array;
  /** The weights a reader must return (v2: dequantized), under Hugging Face names. */
  readonly expected: Weights;
}

/**
 * A llama2.c checkpoint of `weights` (tied unless lm_head.weight exists). `seqLen` only sizes v0's RoPE
 * tables. v2 uses `groupSize` (which must divide dim).
 */
export function writeLlama2c(
  s: TinyShape,
  weights: Weights,
  version: 0 | 1 | 2,
  seqLen = 32,
  groupSize = 16,
): Llama2cFile {
  const shared = !weights.has('lm_head.weight');
  const L = s.layers;
  const stack = (suffix: string) =>
    Array.from({ length: L }, (_, l) => weights.get(`model.layers.${l}.${suffix}`)!.data);
  const norms = { att: stack('input_layernorm.weight'), ffn: stack('post_attention_layernorm.weight') };
  const mats = [
    stack('self_attn.q_proj.weight'),
    stack('self_attn.k_proj.weight'),
    stack('self_attn.v_proj.weight'),
    stack('self_attn.o_proj.weight'),
    stack('mlp.gate_proj.weight'),
    stack('mlp.down_proj.weight'),
    stack('mlp.up_proj.weight'),
  ];
  const embed = weights.get('model.embed_tokens.weight')!.data;
  const final = weights.get('model.norm.weight')!.data;
  const head = weights.get('lm_head.weight')?.data;
  const hiddenDim = s.intermediate;
  const params = [s.hidden, hiddenDim, L, s.heads, s.kvHeads, s.vocab, seqLen];
  const w = new Writer();
  const expected: Weights = new Map([...weights].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  if (version === 0) {
    w.ints(...params.map((v, i) => (i === 5 && !shared ? -v : v)));
    w.floats(embed);
    for (const x of norms.att) w.floats(x);
    for (const m of mats.slice(0, 4)) for (const x of m) w.floats(x);
    for (const x of norms.ffn) w.floats(x);
    for (const m of mats.slice(4)) for (const x of m) w.floats(x);
    w.floats(final);
    const half = s.hidden / s.heads / 2;
    w.floats(new Float32Array(seqLen * half).fill(0.5)); // freqs_cos, never read
    w.floats(new Float32Array(seqLen * half).fill(0.25)); // freqs_sin
    if (head) w.floats(head);
    return { bytes: w.done(), expected };
  }
  w.ints(0x616b3432, version, ...params);
  w.bytes(Uint8Array.of(shared ? 1 : 0));
  if (version === 2) w.ints(groupSize);
  w.pad(256);
  for (const x of norms.att) w.floats(x);
  for (const x of norms.ffn) w.floats(x);
  w.floats(final);
  if (version === 1) {
    w.floats(embed);
    for (const m of mats) for (const x of m) w.floats(x);
    if (head) w.floats(head);
    return { bytes: w.done(), expected };
  }
  const names = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'down_proj', 'up_proj'];
  const quantized = (data: Float32Array) => {
    const { q, scales, dequantized } = quantizeQ80(data, groupSize);
    w.bytes(new Uint8Array(q.buffer));
    w.floats(scales);
    return dequantized;
  };
  expected.get('model.embed_tokens.weight')!.data = quantized(embed);
  mats.forEach((m, i) => {
    m.forEach((x, l) => {
      const attn = i < 4;
      expected.get(`model.layers.${l}.${attn ? 'self_attn' : 'mlp'}.${names[i]}.weight`)!.data = quantized(x);
    });
  });
  if (head) expected.get('lm_head.weight')!.data = quantized(head);
  return { bytes: w.done(), expected };
}

// ---------------------------------------------------------------------------------------------------------
// Hugging Face folders

export type StoredDType = 'F32' | 'F16' | 'BF16';

/** The stored tensor, and the float values a reader widens it back to. */
function stored(
  data: Float32Array,
  shape: number[],
  dtype: StoredDType,
): { tensor: SafetensorsTensor; values: Float32Array } {
  if (dtype === 'F32') return { tensor: { dtype, shape, data }, values: data };
  if (dtype === 'F16') {
    const bits = Uint16Array.from(data, (v) => f32ToF16Bits(v));
    return { tensor: { dtype, shape, data: bits }, values: f16ArrayToF32(bits) };
  }
  const u32 = new Uint32Array(data.buffer.slice(0));
  const bits = Uint16Array.from(u32, (u) => u >>> 16); // truncation: any bf16 pattern is valid
  const values = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
  return { tensor: { dtype, shape, data: bits }, values };
}

export interface HfFolderOptions {
  readonly architecture?: 'llama' | 'qwen2';
  readonly dtype?: StoredDType;
  /** Split the tensors over this many shard files with an index (default 1: model.safetensors). */
  readonly shards?: number;
  /** Extra config.json fields (rope_scaling, tie_word_embeddings, ...). */
  readonly config?: Record<string, unknown>;
}

/** Writes config.json and the weights into `dir`; returns the float values the model should load. */
export function writeHfFolder(dir: string, s: TinyShape, weights: Weights, options: HfFolderOptions = {}): Weights {
  mkdirSync(dir, { recursive: true });
  const { architecture = 'llama', dtype = 'F32', shards = 1 } = options;
  const config = {
    architectures: [architecture === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM'],
    model_type: architecture,
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    vocab_size: s.vocab,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: !s.untied,
    bos_token_id: 1,
    eos_token_id: 2,
    ...options.config,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const loaded: Weights = new Map();
  const tensors: [string, SafetensorsTensor][] = [];
  for (const [name, { shape, data }] of weights) {
    const { tensor, values } = stored(data, shape, dtype);
    tensors.push([name, tensor]);
    loaded.set(name, { shape, data: values });
  }
  if (shards === 1) {
    writeFileSync(
      join(dir, 'model.safetensors'),
      Buffer.concat(encodeSafetensors(Object.fromEntries(tensors), { format: 'pt' })),
    );
    return loaded;
  }
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < shards; i++) {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = tensors.filter((_, j) => j % shards === i);
    for (const [name] of part) weightMap[name] = file;
    writeFileSync(join(dir, file), Buffer.concat(encodeSafetensors(Object.fromEntries(part), { format: 'pt' })));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return loaded;
}

/** Weights as the reference forward pass takes them. */
export function refWeights(w: Weights): Map<string, RefTensor> {
  return new Map([...w].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
}
