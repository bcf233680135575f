/**
 * The config.json of each Stable Diffusion component, read the way diffusers / transformers read them, with
 * every architecture choice this code does not implement refused by name (an SDXL or a ControlNet config fails
 * here, saying which key, rather than producing noise).
 *
 * The `attention_head_dim` quirk: in UNet2DConditionModel configs of SD 1.x/2.x, `attention_head_dim` is
 * really the number of heads (diffusers: `num_attention_heads = num_attention_heads or attention_head_dim`),
 * per down block as a list (SD 2.x: [5, 10, 20, 20], i.e. 64-channel heads) or one int for all (SD 1.x: 8).
 * The up blocks use the list reversed and the mid block its last entry.
 * @module
 */
import { UsageError } from '../../core/errors.js';

type Json = Record<string, unknown>;

function object(json: unknown, file: string): Json {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`${file}: expected a JSON object`);
  return json as Json;
}

function int(c: Json, file: string, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new UsageError(`${file}: ${key} ${JSON.stringify(c[key])} must be a positive integer`);
  }
  return v;
}

function number(c: Json, file: string, key: string, fallback: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UsageError(`${file}: ${key} must be a number`);
  return v;
}

function ints(c: Json, file: string, key: string, fallback?: number[]): number[] {
  const v = c[key] ?? fallback;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x > 0)) {
    throw new UsageError(`${file}: ${key} ${JSON.stringify(c[key])} must be a list of positive integers`);
  }
  return v as number[];
}

/** An int or a per-block list, as a per-block list. */
function perBlock(c: Json, file: string, key: string, blocks: number, fallback?: number): number[] {
  const v = c[key] ?? fallback;
  if (typeof v === 'number') return new Array(blocks).fill(int({ [key]: v }, file, key));
  const list = ints(c, file, key);
  if (list.length !== blocks) {
    throw new UsageError(`${file}: ${key} has ${list.length} entries for ${blocks} blocks`);
  }
  return list;
}

function strings(c: Json, file: string, key: string): string[] {
  const v = c[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new UsageError(`${file}: ${key} must be a list of block type names`);
  }
  return v as string[];
}

/** Keys whose non-default values select architectures this code does not implement. */
function refuse(c: Json, file: string, rules: readonly [string, (v: unknown) => boolean, string][]): void {
  for (const [key, ok, what] of rules) {
    if (c[key] !== undefined && !ok(c[key])) {
      throw new UsageError(`${file}: ${key} ${JSON.stringify(c[key])} (${what}) is not supported`);
    }
  }
}

const isNull = (v: unknown) => v === null;
const isFalse = (v: unknown) => v === false || v === null;

export interface UNetConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly blockOutChannels: readonly number[];
  readonly layersPerBlock: readonly number[];
  /** true for CrossAttnDownBlock2D, false for DownBlock2D. */
  readonly downCrossAttention: readonly boolean[];
  /** In up-block order (deepest first). */
  readonly upCrossAttention: readonly boolean[];
  readonly midCrossAttention: boolean;
  /** Heads per down block (the attention_head_dim quirk resolved). */
  readonly heads: readonly number[];
  readonly transformerLayers: readonly number[];
  readonly crossAttentionDim: number;
  readonly groups: number;
  readonly eps: number;
  readonly linearProjection: boolean;
  readonly flipSinToCos: boolean;
  readonly freqShift: number;
  readonly downsamplePadding: number;
  readonly sampleSize: number;
}

export function parseUNetConfig(json: unknown, file: string): UNetConfig {
  const c = object(json, file);
  refuse(c, file, [
    ['addition_embed_type', isNull, 'SDXL-style added conditioning'],
    ['class_embed_type', isNull, 'class conditioning'],
    ['encoder_hid_dim', isNull, 'a text projection'],
    ['time_cond_proj_dim', isNull, 'LCM guidance embedding'],
    ['dual_cross_attention', isFalse, 'dual cross attention'],
    ['only_cross_attention', isFalse, 'cross-attention-only blocks'],
    ['center_input_sample', isFalse, 'input centering'],
    ['resnet_time_scale_shift', (v) => v === 'default', 'scale-shift time conditioning'],
    ['time_embedding_type', (v) => v === 'positional', 'Fourier time embedding'],
    ['act_fn', (v) => v === 'silu', 'activation'],
    ['conv_in_kernel', (v) => v === 3, 'input kernel'],
    ['conv_out_kernel', (v) => v === 3, 'output kernel'],
    ['mid_block_scale_factor', (v) => v === 1, 'mid block scale'],
    ['resnet_out_scale_factor', (v) => v === 1, 'resnet output scale'],
    ['timestep_post_act', isNull, 'time embedding post-activation'],
    ['time_embedding_act_fn', isNull, 'time embedding activation'],
    ['time_embedding_dim', isNull, 'a custom time embedding size'],
    ['mid_block_type', (v) => v === 'UNetMidBlock2DCrossAttn' || v === 'UNetMidBlock2D', 'mid block'],
    ['attention_type', (v) => v === 'default', 'gated attention'],
    ['reverse_transformer_layers_per_block', isNull, 'per-block up transformer depths'],
  ]);
  const boc = ints(c, file, 'block_out_channels');
  const n = boc.length;
  const down = strings(c, file, 'down_block_types');
  const up = strings(c, file, 'up_block_types');
  if (down.length !== n || up.length !== n) {
    throw new UsageError(`${file}: ${n} block_out_channels but ${down.length} down and ${up.length} up block types`);
  }
  const kind = (t: string, plain: string, cross: string) => {
    if (t === plain) return false;
    if (t === cross) return true;
    throw new UsageError(`${file}: block type ${t} is not supported (${plain} or ${cross})`);
  };
  const heads =
    c.num_attention_heads !== undefined && c.num_attention_heads !== null
      ? perBlock(c, file, 'num_attention_heads', n)
      : perBlock(c, file, 'attention_head_dim', n, 8);
  const crossDim = c.cross_attention_dim;
  if (typeof crossDim !== 'number' || !Number.isInteger(crossDim) || crossDim < 1) {
    throw new UsageError(`${file}: cross_attention_dim ${JSON.stringify(crossDim)} must be one positive integer`);
  }
  return {
    inChannels: int(c, file, 'in_channels', 4),
    outChannels: int(c, file, 'out_channels', 4),
    blockOutChannels: boc,
    layersPerBlock: perBlock(c, file, 'layers_per_block', n, 2),
    downCrossAttention: down.map((t) => kind(t, 'DownBlock2D', 'CrossAttnDownBlock2D')),
    upCrossAttention: up.map((t) => kind(t, 'UpBlock2D', 'CrossAttnUpBlock2D')),
    midCrossAttention: (c.mid_block_type ?? 'UNetMidBlock2DCrossAttn') === 'UNetMidBlock2DCrossAttn',
    heads,
    transformerLayers: perBlock(c, file, 'transformer_layers_per_block', n, 1),
    crossAttentionDim: crossDim,
    groups: int(c, file, 'norm_num_groups', 32),
    eps: number(c, file, 'norm_eps', 1e-5),
    linearProjection: c.use_linear_projection === true,
    flipSinToCos: c.flip_sin_to_cos !== false,
    freqShift: number(c, file, 'freq_shift', 0),
    downsamplePadding: number(c, file, 'downsample_padding', 1),
    sampleSize: int(c, file, 'sample_size', 64),
  };
}

export interface VaeConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly latentChannels: number;
  readonly blockOutChannels: readonly number[];
  readonly layersPerBlock: number;
  readonly groups: number;
  readonly scalingFactor: number;
  /** Subtracted before scaling (null in SD 1.x/2.x). */
  readonly shiftFactor: number;
  readonly useQuantConv: boolean;
  readonly usePostQuantConv: boolean;
  readonly midAttention: boolean;
  /** Pixels; the tile size for tiled encode/decode. */
  readonly sampleSize: number;
}

export function parseVaeConfig(json: unknown, file: string): VaeConfig {
  const c = object(json, file);
  refuse(c, file, [
    ['act_fn', (v) => v === 'silu', 'activation'],
    ['latents_mean', isNull, 'per-channel latent statistics'],
    ['latents_std', isNull, 'per-channel latent statistics'],
  ]);
  const boc = ints(c, file, 'block_out_channels', [64]);
  for (const key of ['down_block_types', 'up_block_types'] as const) {
    const want = key === 'down_block_types' ? 'DownEncoderBlock2D' : 'UpDecoderBlock2D';
    const types = c[key] === undefined ? new Array(boc.length).fill(want) : strings(c, file, key);
    if (types.length !== boc.length || types.some((t) => t !== want)) {
      throw new UsageError(`${file}: ${key} must be ${boc.length} × ${want}, got ${JSON.stringify(c[key])}`);
    }
  }
  const shift = c.shift_factor;
  return {
    inChannels: int(c, file, 'in_channels', 3),
    outChannels: int(c, file, 'out_channels', 3),
    latentChannels: int(c, file, 'latent_channels', 4),
    blockOutChannels: boc,
    layersPerBlock: int(c, file, 'layers_per_block', 1),
    groups: int(c, file, 'norm_num_groups', 32),
    // SD 2.x's vae/config.json omits the key; the class default is SD's 0.18215.
    scalingFactor: number(c, file, 'scaling_factor', 0.18215),
    shiftFactor: typeof shift === 'number' ? shift : 0,
    useQuantConv: c.use_quant_conv !== false,
    usePostQuantConv: c.use_post_quant_conv !== false,
    midAttention: c.mid_block_add_attention !== false,
    sampleSize: typeof c.sample_size === 'number' ? c.sample_size : 512,
  };
}

export interface TextEncoderConfig {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly heads: number;
  readonly layers: number;
  readonly maxPositions: number;
  readonly vocabSize: number;
  readonly activation: 'quick_gelu' | 'gelu';
  readonly eps: number;
}

export function parseTextEncoderConfig(json: unknown, file: string): TextEncoderConfig {
  const c = object(json, file);
  const act = c.hidden_act ?? 'quick_gelu';
  if (act !== 'quick_gelu' && act !== 'gelu') {
    throw new UsageError(`${file}: hidden_act ${JSON.stringify(act)} is not supported (quick_gelu or gelu)`);
  }
  if (c.model_type !== undefined && c.model_type !== 'clip_text_model') {
    throw new UsageError(
      `${file}: model_type ${JSON.stringify(c.model_type)}; the text encoder must be a CLIPTextModel`,
    );
  }
  const cfg = {
    hiddenSize: int(c, file, 'hidden_size', 512),
    intermediateSize: int(c, file, 'intermediate_size', 2048),
    heads: int(c, file, 'num_attention_heads', 8),
    layers: int(c, file, 'num_hidden_layers', 12),
    maxPositions: int(c, file, 'max_position_embeddings', 77),
    vocabSize: int(c, file, 'vocab_size', 49408),
    activation: act,
    eps: number(c, file, 'layer_norm_eps', 1e-5),
  } as const;
  if (cfg.hiddenSize % cfg.heads !== 0) {
    throw new UsageError(`${file}: hidden_size ${cfg.hiddenSize} does not split into ${cfg.heads} heads`);
  }
  return cfg;
}
