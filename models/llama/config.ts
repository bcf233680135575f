/**
 * The numbers that define a Llama-family network, read from a Hugging Face config.json (Llama, Qwen2) or a
 * llama2.c checkpoint header. Field names and defaults follow transformers' LlamaConfig / Qwen2Config;
 * `rope_scaling` (or transformers 5's `rope_parameters`) is parsed into {@link RopeScaling}.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import type { Llama2cHeader } from '../../core/io/llama2c.js';
import { parseQuantization, type QuantizationConfig } from './quantization.js';

/** A config.json that does not describe a network this runtime can build; the message names file and field. */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
}

/** How RoPE frequencies are scaled for long contexts (transformers' `rope_type`s). */
export type RopeScaling =
  | { readonly type: 'linear'; readonly factor: number }
  | { readonly type: 'dynamic'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    }
  | {
      readonly type: 'yarn';
      readonly factor: number;
      readonly originalMaxPositions: number;
      /** Scales cos and sin (so q·k by its square); transformers' `attention_factor`, resolved. */
      readonly attentionFactor: number;
      readonly betaFast: number;
      readonly betaSlow: number;
      /** Round the correction range to whole dimensions (transformers' default). */
      readonly truncate: boolean;
    };

export type LlamaArchitecture = 'llama' | 'qwen2';

export interface LlamaConfig {
  readonly architecture: LlamaArchitecture;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Positions the model was trained for: the default KV-cache capacity. */
  readonly maxPositions: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | null;
  /**
   * RoPE rotates adjacent pairs (x[2i], x[2i+1]) as llama2.c and Meta checkpoints store q/k, instead of the
   * half-split pairs (x[i], x[i + d/2]) of Hugging Face checkpoints.
   */
  readonly ropeTraditional: boolean;
  /** q/k/v projections have biases (Qwen2; Llama with attention_bias). */
  readonly attentionBias: boolean;
  /** o_proj has a bias too (Llama's attention_bias covers it; Qwen2's o_proj has none). */
  readonly outputBias: boolean;
  readonly mlpBias: boolean;
  /** The output head is the token embedding; null: decided by whether lm_head.weight exists. */
  readonly tieWordEmbeddings: boolean | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  /** mlx-lm's quantization settings (config.json "quantization"); absent or null: a float model. */
  readonly quantization?: QuantizationConfig | null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Typed field readers that name the file and the field in every error. */
function fields(file: string, obj: Json, prefix = '') {
  const where = (key: string) => `${file}: ${prefix}${key}`;
  const int = (key: string, fallback?: number, min = 1): number => {
    const v = obj[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${where(key)} is missing; it is required for a Llama-family model`);
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new ConfigError(`${where(key)} must be an integer >= ${min}, got ${show(v)}`);
    }
    return v;
  };
  const num = (key: string, fallback?: number, check: (v: number) => boolean = (v) => v > 0): number => {
    const v = obj[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${where(key)} is missing`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) {
      throw new ConfigError(`${where(key)} must be a positive finite number, got ${show(v)}`);
    }
    return v;
  };
  const bool = (key: string, fallback: boolean | null): boolean | null => {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw new ConfigError(`${where(key)} must be true or false, got ${show(v)}`);
    return v;
  };
  const ids = (key: string): number[] => {
    const v = obj[key];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const id of list) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new ConfigError(`${where(key)} must be a token id or a list of them, got ${show(v)}`);
      }
    }
    return list as number[];
  };
  return { int, num, bool, ids };
}

const ARCHITECTURES: Readonly<Record<string, LlamaArchitecture>> = { llama: 'llama', qwen2: 'qwen2' };

/** rope_scaling from config.json, or null for plain RoPE; numbers follow transformers' defaults. */
function parseRopeScaling(
  file: string,
  raw: unknown,
  key: string,
  maxPositions: number,
): { scaling: RopeScaling | null; theta?: number } {
  if (raw === undefined || raw === null) return { scaling: null };
  if (!isObject(raw)) throw new ConfigError(`${file}: ${key} must be an object or null, got ${show(raw)}`);
  const f = fields(file, raw, `${key}.`);
  const theta = raw.rope_theta === undefined ? undefined : f.num('rope_theta');
  const type = String(raw.rope_type ?? raw.type ?? 'default');
  switch (type) {
    case 'default':
      return { scaling: null, theta };
    case 'linear':
      return { scaling: { type: 'linear', factor: f.num('factor') }, theta };
    case 'dynamic':
      return { scaling: { type: 'dynamic', factor: f.num('factor') }, theta };
    case 'llama3': {
      const low = f.num('low_freq_factor');
      const high = f.num('high_freq_factor');
      if (!(high > low)) {
        throw new ConfigError(`${file}: ${key}.high_freq_factor ${high} must exceed low_freq_factor ${low}`);
      }
      return {
        scaling: {
          type: 'llama3',
          factor: f.num('factor'),
          lowFreqFactor: low,
          highFreqFactor: high,
          originalMaxPositions: f.int('original_max_position_embeddings'),
        },
        theta,
      };
    }
    case 'yarn': {
      const original = f.int('original_max_position_embeddings', maxPositions);
      // transformers: a missing factor is the context extension max_position_embeddings / original.
      const factor = f.num('factor', maxPositions / original);
      const mscale = raw.mscale === undefined || raw.mscale === null ? undefined : f.num('mscale');
      const mscaleAll =
        raw.mscale_all_dim === undefined || raw.mscale_all_dim === null ? undefined : f.num('mscale_all_dim');
      const getMscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
      const defaultFactor =
        mscale !== undefined && mscaleAll !== undefined
          ? getMscale(factor, mscale) / getMscale(factor, mscaleAll)
          : getMscale(factor);
      return {
        scaling: {
          type: 'yarn',
          factor,
          originalMaxPositions: original,
          attentionFactor: f.num('attention_factor', defaultFactor),
          betaFast: f.num('beta_fast', 32),
          betaSlow: f.num('beta_slow', 1),
          truncate: f.bool('truncate', true) ?? true,
        },
        theta,
      };
    }
    default:
      throw new ConfigError(
        `${file}: ${key} type ${show(type)} is not supported; supported: default, linear, dynamic, llama3, yarn`,
      );
  }
}

/**
 * The network described by a parsed config.json. `extraEos` adds generation_config.json's eos_token_id.
 * Throws a ConfigError naming `file` and the field for anything missing, mistyped or unsupported.
 */
export function parseHfConfig(json: unknown, file: string, extraEos: readonly number[] = []): LlamaConfig {
  if (!isObject(json)) throw new ConfigError(`${file}: must hold a JSON object`);
  const architecture = ARCHITECTURES[String(json.model_type)];
  if (!architecture) {
    throw new ConfigError(
      `${file}: model_type ${show(json.model_type)} is not supported; this runtime builds ${Object.keys(ARCHITECTURES).join(', ')}`,
    );
  }
  const f = fields(file, json);
  const hiddenSize = f.int('hidden_size');
  const numHeads = f.int('num_attention_heads');
  const numKvHeads = f.int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(
      `${file}: num_attention_heads ${numHeads} must be a multiple of num_key_value_heads ${numKvHeads}`,
    );
  }
  if (json.head_dim === undefined && hiddenSize % numHeads !== 0) {
    throw new ConfigError(`${file}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  }
  const headDim = f.int('head_dim', hiddenSize / numHeads);
  if (headDim % 2 !== 0) throw new ConfigError(`${file}: head_dim ${headDim} must be even for RoPE`);
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`${file}: hidden_act ${show(act)} is not supported; Llama uses "silu"`);
  const maxPositions = f.int('max_position_embeddings', architecture === 'qwen2' ? 32768 : 2048);
  // transformers 5 moved rope_theta and the scaling into rope_parameters.
  const ropeKey = json.rope_parameters !== undefined ? 'rope_parameters' : 'rope_scaling';
  const { scaling, theta } = parseRopeScaling(file, json[ropeKey], ropeKey, maxPositions);
  const attentionBias = architecture === 'qwen2' || f.bool('attention_bias', false) === true;
  return {
    architecture,
    hiddenSize,
    intermediateSize: f.int('intermediate_size'),
    numLayers: f.int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: f.int('vocab_size'),
    maxPositions,
    rmsNormEps: f.num('rms_norm_eps', 1e-6),
    ropeTheta: theta ?? f.num('rope_theta', 10000),
    ropeScaling: scaling,
    ropeTraditional: false,
    attentionBias,
    outputBias: architecture === 'llama' && attentionBias,
    mlpBias: f.bool('mlp_bias', false) === true,
    tieWordEmbeddings: f.bool('tie_word_embeddings', null),
    bosTokenId: json.bos_token_id === undefined || json.bos_token_id === null ? null : f.int('bos_token_id', 0, 0),
    eosTokenIds: [...new Set([...f.ids('eos_token_id'), ...extraEos])],
    quantization: parseQuantization(json, file),
  };
}

/** The eos ids of a parsed generation_config.json (empty when it has none). */
export function generationConfigEos(json: unknown, file: string): number[] {
  if (!isObject(json)) throw new ConfigError(`${file}: must hold a JSON object`);
  return fields(file, json).ids('eos_token_id');
}

/**
 * The network of a llama2.c checkpoint: run.c's conventions are RMSNorm eps 1e-5, RoPE base 10000 on
 * adjacent pairs, no biases; BOS (1) starts a sequence and ends a sample, EOS is 2.
 */
export function configFromLlama2c(h: Llama2cHeader): LlamaConfig {
  return {
    architecture: 'llama',
    hiddenSize: h.dim,
    intermediateSize: h.hiddenDim,
    numLayers: h.nLayers,
    numHeads: h.nHeads,
    numKvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    vocabSize: h.vocabSize,
    maxPositions: h.seqLen,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: null,
    ropeTraditional: true,
    attentionBias: false,
    outputBias: false,
    mlpBias: false,
    tieWordEmbeddings: h.sharedClassifier,
    bosTokenId: 1,
    eosTokenIds: [2, 1],
  };
}
