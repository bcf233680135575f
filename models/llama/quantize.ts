/**
 * Quantizing a Llama network's weights into mlx-lm's layout (`mlx_lm.convert -q`): which modules get which
 * bits (mlx-lm's default predicate, or a mixed recipe), and the stored tensors that result — U32 `.weight`
 * with `.scales`/`.biases` for each quantized module, every other tensor as it was. Browser-safe: the
 * caller reads the source and writes the result (projects/compression/quantize.ts on disk).
 * @module
 */

import { UsageError } from '../../core/errors.js';
import * as T from '../../index.js';
import { QUANT_BITS, QUANT_GROUP_SIZES, type QuantBits, type QuantGroupSize } from '../../index.js';
import type { LlamaConfig } from './config.js';
import type { QuantizationConfig, QuantSpec } from './quantization.js';
import type { HostWeight, StoredWeight, WeightSource } from './weights.js';

/** mlx-lm's `--quant-predicate` recipes: low bits for most modules, high bits for the sensitive ones. */
export const MIXED_RECIPES = {
  mixed_2_6: [2, 6],
  mixed_3_4: [3, 4],
  mixed_3_6: [3, 6],
  mixed_4_6: [4, 6],
} as const satisfies Record<string, readonly [QuantBits, QuantBits]>;

export type MixedRecipe = keyof typeof MIXED_RECIPES;

export interface QuantizePlanOptions {
  readonly bits: number;
  readonly groupSize: number;
  readonly recipe?: MixedRecipe;
}

/** A module mlx-lm would quantize: a Linear or the embedding, with its float matrix [rows, cols]. */
export interface QuantizableModule {
  readonly path: string;
  readonly rows: number;
  readonly cols: number;
  /** Transformer block index; undefined for the embedding and lm_head. */
  readonly layer?: number;
}

export interface QuantizationPlan {
  readonly config: QuantizationConfig;
  /** What each quantized module gets, in file order. */
  readonly modules: readonly (QuantizableModule & { readonly spec: QuantSpec })[];
  /** Modules left in float, with why (mlx-lm skips a module whose input size is not a multiple of the group). */
  readonly skipped: readonly (QuantizableModule & { readonly reason: string })[];
}

/** Every module of the network mlx-lm's predicate looks at, in file order. */
export function quantizableModules(config: LlamaConfig, tied: boolean): QuantizableModule[] {
  const H = config.hiddenSize;
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const I = config.intermediateSize;
  const out: QuantizableModule[] = [{ path: 'model.embed_tokens', rows: config.vocabSize, cols: H }];
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    const shapes: [string, number, number][] = [
      ['self_attn.q_proj', q, H],
      ['self_attn.k_proj', kv, H],
      ['self_attn.v_proj', kv, H],
      ['self_attn.o_proj', H, q],
      ['mlp.gate_proj', I, H],
      ['mlp.up_proj', I, H],
      ['mlp.down_proj', H, I],
    ];
    for (const [name, rows, cols] of shapes) out.push({ path: `${p}.${name}`, rows, cols, layer: i });
  }
  if (!tied) out.push({ path: 'lm_head', rows: config.vocabSize, cols: H });
  return out;
}

/** mlx-lm's `mixed_quant_predicate_builder`: which blocks keep more bits in v_proj and down_proj. */
function useMoreBits(layer: number, numLayers: number): boolean {
  const eighth = Math.floor(numLayers / 8);
  return layer < eighth || layer >= Math.floor((7 * numLayers) / 8) || (layer - eighth) % 3 === 2;
}

function recipeBits(recipe: MixedRecipe, m: QuantizableModule, numLayers: number): QuantBits {
  const [low, high] = MIXED_RECIPES[recipe];
  if (m.path === 'lm_head') return high;
  const sensitive = /\.(v_proj|down_proj)$/.test(m.path);
  return sensitive && m.layer !== undefined && useMoreBits(m.layer, numLayers) ? high : low;
}

/**
 * Which modules get which bits. Bits and group size are checked against what MLX accepts; a model that is
 * already quantized, or in which no module's input size is a multiple of the group size, is a UsageError.
 */
export function planQuantization(config: LlamaConfig, tied: boolean, options: QuantizePlanOptions): QuantizationPlan {
  const { bits, groupSize, recipe } = options;
  if (!(QUANT_BITS as readonly number[]).includes(bits)) {
    throw new UsageError(`--bits ${bits}: MLX quantizes to ${QUANT_BITS.join(', ')} bits`);
  }
  if (!(QUANT_GROUP_SIZES as readonly number[]).includes(groupSize)) {
    throw new UsageError(`--group-size ${groupSize}: MLX's group sizes are ${QUANT_GROUP_SIZES.join(', ')}`);
  }
  if (recipe !== undefined && !(recipe in MIXED_RECIPES)) {
    throw new UsageError(`--recipe ${recipe}: the recipes are ${Object.keys(MIXED_RECIPES).join(', ')}`);
  }
  if (config.quantization) {
    throw new UsageError(
      `the model is already quantized (${config.quantization.bits}-bit, group ${config.quantization.groupSize}); ` +
        'quantize its float original instead',
    );
  }
  const modules: (QuantizableModule & { spec: QuantSpec })[] = [];
  const skipped: (QuantizableModule & { reason: string })[] = [];
  const layers: Record<string, QuantSpec> = {};
  for (const m of quantizableModules(config, tied)) {
    if (m.cols % groupSize !== 0) {
      skipped.push({ ...m, reason: `${m.cols} inputs are not a multiple of the group size ${groupSize}` });
      continue;
    }
    const spec: QuantSpec = {
      bits: recipe ? recipeBits(recipe, m, config.numLayers) : (bits as QuantBits),
      groupSize: groupSize as QuantGroupSize,
    };
    modules.push({ ...m, spec });
    // A recipe writes every module's entry, as mlx-lm's fine-grained config does.
    if (recipe) layers[m.path] = spec;
  }
  if (modules.length === 0) {
    const sizes = [...new Set(skipped.map((m) => m.cols))].join(', ');
    const fits = QUANT_GROUP_SIZES.filter((g) => skipped.some((m) => m.cols % g === 0));
    throw new UsageError(
      `--group-size ${groupSize}: no module can be quantized, their input sizes (${sizes}) are not multiples of it` +
        (fits.length > 0 ? `; use --group-size ${fits.join(' or ')}` : ''),
    );
  }
  return {
    config: { bits: bits as QuantBits, groupSize: groupSize as QuantGroupSize, layers },
    modules,
    skipped,
  };
}

/**
 * Quantizes one float matrix (f32 host values [rows, cols]) to its triplet on the current backend. RTN is
 * `T.quantize`; calibrated methods (models/compression) compute on the host and upload.
 */
export type ModuleQuantizer = (path: string, weight: HostWeight, spec: QuantSpec) => Promise<T.QuantizedWeight>;

export const roundToNearest: ModuleQuantizer = async (_path, weight, spec) =>
  T.tidy(() => T.quantize(T.fromHost(weight.data, weight.shape, 'f32'), spec));

/** A triplet computed on the host, uploaded to the current backend. */
export function uploadQuantized(
  q: { words: Uint32Array; scales: Float32Array; biases: Float32Array },
  rows: number,
  cols: number,
  spec: QuantSpec,
): T.QuantizedWeight {
  const groups = [rows, cols / spec.groupSize];
  return {
    weight: T.fromHost(q.words, [rows, (cols * spec.bits) / 32], 'u32'),
    scales: T.fromHost(q.scales, groups, 'f32'),
    biases: T.fromHost(q.biases, groups, 'f32'),
    bits: spec.bits,
    groupSize: spec.groupSize,
  };
}

async function stored(t: T.Tensor): Promise<StoredWeight> {
  return { dtype: t.dtype, shape: [...t.shape], data: T.fromCompute(await t.data(), t.dtype) };
}

/** The dtype scales are stored in: the float dtype of the module's weight in the source (f32 stays f32). */
function scaleDType(w: StoredWeight): T.DType {
  return w.dtype === 'f16' || w.dtype === 'bf16' ? w.dtype : 'f32';
}

/**
 * Every tensor of the quantized model, by name: each planned module's `.weight`/`.scales`/`.biases`, every
 * other tensor as stored (a tied model's stray `lm_head.weight` is dropped, as mlx-lm drops it).
 * `onModule` is told after each module (progress, cancellation).
 */
export async function quantizeTensors(
  source: WeightSource,
  plan: QuantizationPlan,
  tied: boolean,
  quantizer: ModuleQuantizer = roundToNearest,
  onModule: (path: string) => void = () => {},
): Promise<Map<string, StoredWeight>> {
  if (!source.readStored) throw new UsageError(`${source.name}: the source cannot give its tensors as stored`);
  const byWeight = new Map(plan.modules.map((m) => [`${m.path}.weight`, m]));
  const out = new Map<string, StoredWeight>();
  for (const name of source.names()) {
    if (tied && name.startsWith('lm_head.')) continue;
    const m = byWeight.get(name);
    if (!m) {
      out.set(name, await source.readStored(name));
      continue;
    }
    const original = await source.readStored(name);
    const w = await source.read(name);
    const dtype = scaleDType(original);
    const r = await quantizer(m.path, w, m.spec);
    const cast = (t: T.Tensor) => (t.dtype === dtype ? t : T.cast(t, dtype));
    const q = [r.weight, cast(r.scales), cast(r.biases)];
    if (q[1] !== r.scales) r.scales.dispose();
    if (q[2] !== r.biases) r.biases.dispose();
    try {
      out.set(`${m.path}.weight`, await stored(q[0]));
      out.set(`${m.path}.scales`, await stored(q[1]));
      out.set(`${m.path}.biases`, await stored(q[2]));
    } finally {
      for (const t of q) t.dispose();
    }
    onModule(m.path);
  }
  return out;
}
