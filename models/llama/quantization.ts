/**
 * mlx-lm's quantization settings in config.json (`"quantization"`, mirrored as `"quantization_config"`): the
 * default bits and group size, and per-module entries keyed by module path that override them (a dict) or
 * leave the module in float (`false`). Reading and writing them, and the rule mlx-lm loads by: a module is
 * quantized when it has an entry, else when `<path>.scales` is stored (formats.md §1).
 * @module
 */
import { QUANT_BITS, QUANT_GROUP_SIZES, type QuantBits, type QuantGroupSize } from '../../index.js';
import { ConfigError } from './config.js';

/** Bits and group size of one quantized module (MLX's affine mode, the only one read here). */
export interface QuantSpec {
  readonly bits: QuantBits;
  readonly groupSize: QuantGroupSize;
}

export interface QuantizationConfig extends QuantSpec {
  /** Per-module overrides by path (`model.layers.0.self_attn.v_proj`); false: that module stays float. */
  readonly layers: Readonly<Record<string, QuantSpec | false>>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One {bits, group_size, mode} object; `fallback` fills what it omits (mlx-lm's per-layer dicts may). */
function parseSpec(file: string, key: string, raw: Json, fallback?: QuantSpec): QuantSpec {
  const mode = raw.mode ?? 'affine';
  if (mode !== 'affine') {
    throw new ConfigError(
      `${file}: ${key}.mode is ${JSON.stringify(mode)}; only MLX's "affine" quantization is supported ` +
        '(re-quantize the model with mode affine)',
    );
  }
  const bits = raw.bits ?? fallback?.bits;
  const groupSize = raw.group_size ?? fallback?.groupSize;
  if (!(QUANT_BITS as readonly unknown[]).includes(bits)) {
    throw new ConfigError(`${file}: ${key}.bits must be one of ${QUANT_BITS.join(', ')}, got ${JSON.stringify(bits)}`);
  }
  if (!(QUANT_GROUP_SIZES as readonly unknown[]).includes(groupSize)) {
    throw new ConfigError(
      `${file}: ${key}.group_size must be one of ${QUANT_GROUP_SIZES.join(', ')}, got ${JSON.stringify(groupSize)}`,
    );
  }
  return { bits: bits as QuantBits, groupSize: groupSize as QuantGroupSize };
}

const SPEC_KEYS = new Set(['bits', 'group_size', 'mode']);

/**
 * The quantization of a parsed config.json: `"quantization"`, else `"quantization_config"` when it is
 * mlx-lm's copy (it has `bits` and `group_size`; transformers' own quantization_config — bitsandbytes, GPTQ
 * packing — is refused by name). null when the model is not quantized.
 */
export function parseQuantization(json: Json, file: string): QuantizationConfig | null {
  let key = 'quantization';
  let raw = json.quantization;
  if (raw === undefined || raw === null) {
    raw = json.quantization_config;
    key = 'quantization_config';
    if (raw === undefined || raw === null) return null;
    if (isObject(raw) && typeof raw.quant_method === 'string') {
      throw new ConfigError(
        `${file}: quantization_config.quant_method ${JSON.stringify(raw.quant_method)} is a transformers ` +
          'quantization this runtime does not read; use the float model, or an mlx-lm quantized folder',
      );
    }
  }
  if (!isObject(raw)) throw new ConfigError(`${file}: ${key} must be an object, got ${JSON.stringify(raw)}`);
  const base = parseSpec(file, key, raw);
  const layers: Record<string, QuantSpec | false> = {};
  for (const [path, value] of Object.entries(raw)) {
    if (SPEC_KEYS.has(path)) continue;
    if (value === false) layers[path] = false;
    else if (value === true) layers[path] = base;
    else if (isObject(value)) layers[path] = parseSpec(file, `${key}["${path}"]`, value, base);
    else {
      throw new ConfigError(
        `${file}: ${key}["${path}"] must be an object {bits, group_size} or a boolean, got ${JSON.stringify(value)}`,
      );
    }
  }
  return { ...base, layers };
}

/**
 * How the module at `path` is stored, as mlx-lm's loader decides: its entry in the config first, else
 * quantized with the defaults when `<path>.scales` exists; null: float.
 */
export function moduleQuantization(
  q: QuantizationConfig | null | undefined,
  path: string,
  hasScales: boolean,
): QuantSpec | null {
  if (!q) return null;
  const entry = q.layers[path];
  if (entry === false) return null;
  if (entry !== undefined) return entry;
  return hasScales ? q : null;
}

/** The config.json value mlx-lm writes (both keys get it): defaults, mode, and every per-module entry. */
export function quantizationJson(q: QuantizationConfig): Json {
  const spec = (s: QuantSpec) => ({ group_size: s.groupSize, bits: s.bits, mode: 'affine' });
  const out: Json = spec(q);
  for (const [path, s] of Object.entries(q.layers)) out[path] = s === false ? false : spec(s);
  return out;
}
