/**
 * mlx-lm ↔ PEFT adapter folders (formats.md §2 "Converter rules"): `<P>.lora_a` [in,r] ↔
 * `base_model.model.<P>.lora_A.weight` [r,in] (transposed), `lora_b` [r,out] ↔ `lora_B.weight` [out,r],
 * DoRA `m` ↔ `lora_magnitude_vector`; mlx's `scale` ↔ `lora_alpha/r`. Pure file work, no model needed.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { floatValues, type SafetensorsTensor } from '../../core/io/safetensors.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { saveSafetensorsFile, withSafetensorsFile } from '../../node/io/safetensors-file.js';
import { readJsonFile } from '../../node/models/hf-folder.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapterConfigFromJson, sortedJson } from './train/adapter-files.js';

export const PEFT_WEIGHTS = 'adapter_model.safetensors';
const PEFT_PREFIX = 'base_model.model.';
/** `model.layers.<i>.<relative path>`: the only module paths an mlx-lm Llama adapter has. */
const BLOCK_PATH = /^model\.layers\.(\d+)\.(.+)$/;
const MLX_LEAF = /^(.+)\.(lora_a|lora_b|m)$/;
const PEFT_LEAF = /^(.+)\.(lora_A\.weight|lora_B\.weight|lora_magnitude_vector)$/;

type Role = 'a' | 'b' | 'm';
interface Module {
  a?: SafetensorsTensor;
  b?: SafetensorsTensor;
  m?: SafetensorsTensor;
}

/** What a conversion wrote, for the command's output. */
export interface ConversionResult {
  readonly weights: string;
  readonly config: string;
  readonly modules: number;
  readonly rank: number;
  /** mlx's scale (= lora_alpha/r). */
  readonly scale: number;
  /** Set when scale·r was not an integer and the ratio went into B (mlx → PEFT only). */
  readonly foldedIntoB?: number;
}

/** `t`, a 2-D F32 tensor, transposed. */
function transpose(t: SafetensorsTensor): SafetensorsTensor {
  const [rows, cols] = t.shape;
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = src[i * cols + j];
  return { dtype: 'F32', shape: [cols, rows], data: out };
}

/** Every tensor of a file as F32, grouped by module path (`role` names a tensor's part, or null to reject). */
async function readModules(
  path: string,
  parse: (name: string) => { module: string; role: Role } | null,
  expected: string,
): Promise<Map<string, Module>> {
  if (!existsSync(path)) throw new UsageError(`${path}: file not found (an adapter folder needs it)`);
  return withSafetensorsFile(path, async (reader) => {
    const modules = new Map<string, Module>();
    for (const name of reader.names) {
      const p = parse(name);
      if (!p) throw new UsageError(`${path}: "${name}" is not ${expected}; only such tensors can be converted`);
      const core = await reader.readAsCore(name);
      const values = floatValues(core);
      if (!values) throw new UsageError(`${path}: "${name}" is ${core.fileDType}, not a float tensor`);
      const wantRank = p.role === 'm' ? 1 : 2;
      if (core.shape.length !== wantRank) {
        throw new UsageError(`${path}: "${name}" has shape [${core.shape}], expected ${wantRank} dimension(s)`);
      }
      const mod = modules.get(p.module) ?? {};
      mod[p.role] = { dtype: 'F32', shape: [...core.shape], data: Float32Array.from(values) };
      modules.set(p.module, mod);
    }
    if (modules.size === 0) throw new UsageError(`${path}: holds no adapter tensors`);
    return modules;
  });
}

/** Block index and relative path of a module path, or an error naming the file. */
function blockOf(module: string, file: string): { layer: number; rel: string } {
  const m = BLOCK_PATH.exec(module);
  if (!m) {
    throw new UsageError(
      `${file}: module "${module}" is not inside model.layers.<i>; only the transformer blocks' linear layers convert`,
    );
  }
  return { layer: Number(m[1]), rel: m[2] };
}

/** Each module has A and B (and m exactly when DoRA), all of one rank; that rank. */
function checkModules(
  modules: Map<string, Module>,
  dora: boolean,
  file: string,
  names: [string, string, string],
  rankAxis: 0 | 1,
): number {
  let rank = -1;
  for (const [p, mod] of modules) {
    if (!mod.a || !mod.b) throw new UsageError(`${file}: "${p}" lacks its ${mod.a ? names[1] : names[0]} tensor`);
    if (dora !== (mod.m !== undefined)) {
      throw new UsageError(
        `${file}: "${p}" ${dora ? 'lacks' : 'has'} a ${names[2]} tensor but the config says ${dora ? 'DoRA' : 'plain LoRA'}`,
      );
    }
    const r = mod.a.shape[rankAxis];
    if (rank !== -1 && r !== rank) {
      throw new UsageError(`${file}: "${p}" has rank ${r} but others ${rank}; mlx-lm adapters have one rank`);
    }
    rank = r;
  }
  return rank;
}

/** mlx's num_layers for the adapted blocks: -1 when they start at 0, else the count up to the top one. */
function numLayersOf(layers: readonly number[], file: string): number {
  const lo = Math.min(...layers);
  const hi = Math.max(...layers);
  for (let i = lo; i <= hi; i++) {
    if (!layers.includes(i)) {
      throw new UsageError(
        `${file}: blocks ${lo}..${hi} are adapted but ${i} is not; mlx-lm adapts a contiguous top range of blocks`,
      );
    }
  }
  return lo === 0 ? -1 : hi - lo + 1;
}

/** mlx-lm adapter folder → PEFT folder (adapter_model.safetensors, adapter_config.json). */
export async function mlxToPeft(dir: string, out: string): Promise<ConversionResult> {
  const configPath = join(dir, ADAPTER_CONFIG);
  const raw = (await readJsonFile(configPath)) as Record<string, unknown>;
  const config = adapterConfigFromJson(raw, configPath);
  if (config.fineTuneType === 'full' || !config.loraParameters) {
    throw new UsageError(
      `${configPath}: fine_tune_type "full" holds base weights, not an adapter; PEFT has no LoRA form of it`,
    );
  }
  const { rank, scale, dropout } = config.loraParameters;
  const dora = config.fineTuneType === 'dora';
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  const modules = await readModules(
    weightsPath,
    (name) => {
      const m = MLX_LEAF.exec(name);
      return m ? { module: m[1], role: ({ lora_a: 'a', lora_b: 'b', m: 'm' } as const)[m[2] as 'lora_a'] } : null;
    },
    'an mlx-lm adapter tensor (<module>.lora_a, .lora_b or .m)',
  );
  const fileRank = checkModules(modules, dora, weightsPath, ['lora_a', 'lora_b', 'm'], 1);
  if (fileRank !== rank)
    throw new UsageError(`${weightsPath}: tensors have rank ${fileRank}, lora_parameters.rank is ${rank}`);
  // PEFT types lora_alpha as int: keep scale·r when it is one, else round it and fold the ratio into B.
  const exact = scale * rank;
  const alpha = Number.isInteger(exact) ? exact : Math.max(1, Math.round(exact));
  const fold = exact / alpha;
  const tensors: Record<string, SafetensorsTensor> = {};
  const leaves = new Set<string>();
  const layers = new Set<number>();
  for (const [p, mod] of modules) {
    const { layer, rel } = blockOf(p, weightsPath);
    layers.add(layer);
    leaves.add(rel.split('.').at(-1) as string);
    const a = mod.a as SafetensorsTensor;
    const b = transpose(mod.b as SafetensorsTensor);
    if (fold !== 1) for (let i = 0; i < b.data.length; i++) (b.data as Float32Array)[i] *= fold;
    tensors[`${PEFT_PREFIX}${p}.lora_A.weight`] = transpose(a);
    tensors[`${PEFT_PREFIX}${p}.lora_B.weight`] = b;
    if (mod.m) tensors[`${PEFT_PREFIX}${p}.lora_magnitude_vector`] = mod.m;
  }
  const peftConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: typeof raw.model === 'string' ? raw.model : null,
    inference_mode: true,
    r: rank,
    lora_alpha: alpha,
    lora_dropout: dropout,
    target_modules: [...leaves].sort(),
    layers_to_transform: [...layers].sort((x, y) => x - y),
    use_dora: dora,
    use_rslora: false,
    fan_in_fan_out: false,
    bias: 'none',
    modules_to_save: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
  await mkdir(out, { recursive: true });
  const weights = join(out, PEFT_WEIGHTS);
  await saveSafetensorsFile(weights, tensors, { format: 'pt' });
  // The config last: a folder is only an adapter once its weights are whole.
  const cfg = join(out, ADAPTER_CONFIG);
  await writeFileAtomic(cfg, `${JSON.stringify(peftConfig, null, 2)}\n`);
  return {
    weights,
    config: cfg,
    modules: modules.size,
    rank,
    scale,
    ...(fold !== 1 ? { foldedIntoB: fold } : {}),
  };
}

/** Fields whose non-default values change what the adapter computes in ways mlx-lm cannot express. */
const UNSUPPORTED: ReadonlyArray<[string, (v: unknown) => boolean, string]> = [
  ['fan_in_fan_out', (v) => v === true, 'Conv1D-style (GPT-2) weights'],
  ['bias', (v) => v !== undefined && v !== 'none', 'trained biases'],
  ['lora_bias', (v) => v === true, 'a bias on lora_B'],
  ['modules_to_save', (v) => Array.isArray(v) && v.length > 0, 'fully trained extra modules'],
  ['layer_replication', (v) => v !== undefined && v !== null, 'replicated layers'],
  ['trainable_token_indices', (v) => v !== undefined && v !== null, 'trainable token rows'],
  ['target_parameters', (v) => Array.isArray(v) && v.length > 0, 'adapted parameters (not modules)'],
  ['use_qalora', (v) => v === true, 'QALoRA pooling'],
];

/** One value for every entry of a rank_pattern/alpha_pattern, equal to `global`; else an error. */
function checkUniform(c: Record<string, unknown>, field: string, global: number, file: string): void {
  const pattern = c[field];
  if (pattern === undefined || pattern === null) return;
  if (typeof pattern !== 'object') throw new UsageError(`${file}: ${field} must be an object`);
  for (const [k, v] of Object.entries(pattern)) {
    if (v !== global) {
      throw new UsageError(
        `${file}: ${field} gives "${k}" ${String(v)} but the adapter's value is ${global}; mlx-lm has one rank and ` +
          'scale for all layers, so this adapter cannot be converted (split it per module first)',
      );
    }
  }
}

/** Does module leaf `leaf` (full path `path`) match PEFT's target_modules? */
function targeted(target: unknown, path: string, leaf: string, file: string): boolean {
  if (Array.isArray(target)) return target.some((t) => t === leaf || (typeof t === 'string' && path.endsWith(`.${t}`)));
  if (target === 'all-linear') return true;
  if (typeof target === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${target})$`);
    } catch (e) {
      throw new UsageError(`${file}: target_modules regex "${target}" cannot be read here: ${(e as Error).message}`);
    }
    return re.test(path);
  }
  throw new UsageError(`${file}: target_modules must be a list of module names or a regex string`);
}

/** PEFT folder → mlx-lm adapter folder (adapters.safetensors, adapter_config.json). */
export async function peftToMlx(dir: string, out: string): Promise<ConversionResult> {
  const configPath = join(dir, ADAPTER_CONFIG);
  const raw = await readJsonFile(configPath);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${configPath}: expected a JSON object`);
  }
  const c = raw as Record<string, unknown>;
  if (c.peft_type !== 'LORA') {
    throw new UsageError(`${configPath}: peft_type is ${JSON.stringify(c.peft_type)}; only "LORA" adapters convert`);
  }
  for (const [field, bad, what] of UNSUPPORTED) {
    if (bad(c[field])) {
      throw new UsageError(
        `${configPath}: ${field} = ${JSON.stringify(c[field])} means ${what}, which mlx-lm adapters cannot hold`,
      );
    }
  }
  for (const field of ['r', 'lora_alpha'] as const) {
    if (typeof c[field] !== 'number' || !(c[field] > 0)) {
      throw new UsageError(`${configPath}: ${field} must be a positive number, got ${JSON.stringify(c[field])}`);
    }
  }
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== 'number') throw new UsageError(`${configPath}: lora_dropout must be a number`);
  const dora = c.use_dora === true;
  const weightsPath = join(dir, PEFT_WEIGHTS);
  const modules = await readModules(
    weightsPath,
    (name) => {
      const m = name.startsWith(PEFT_PREFIX) ? PEFT_LEAF.exec(name.slice(PEFT_PREFIX.length)) : null;
      if (!m) return null;
      const role = m[2] === 'lora_A.weight' ? 'a' : m[2] === 'lora_B.weight' ? 'b' : 'm';
      return { module: m[1], role };
    },
    'a PEFT LoRA tensor (base_model.model.<module>.lora_A.weight, .lora_B.weight or .lora_magnitude_vector)',
  );
  const rank = checkModules(modules, dora, weightsPath, ['lora_A.weight', 'lora_B.weight', 'lora_magnitude_vector'], 0);
  const r = c.r as number;
  const alpha = c.lora_alpha as number;
  checkUniform(c, 'rank_pattern', r, configPath);
  checkUniform(c, 'alpha_pattern', alpha, configPath);
  if (rank !== r) throw new UsageError(`${weightsPath}: tensors have rank ${rank} but ${configPath} says r = ${r}`);
  const scale = c.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r;
  const tensors: Record<string, SafetensorsTensor> = {};
  const keys = new Set<string>();
  const layers: number[] = [];
  for (const [p, mod] of modules) {
    const { layer, rel } = blockOf(p, weightsPath);
    const leaf = rel.split('.').at(-1) as string;
    if (!targeted(c.target_modules, p, leaf, configPath)) {
      throw new UsageError(
        `${configPath}: target_modules ${JSON.stringify(c.target_modules)} does not cover "${p}", which the weights adapt`,
      );
    }
    keys.add(rel);
    if (!layers.includes(layer)) layers.push(layer);
    const a = mod.a as SafetensorsTensor;
    const b = mod.b as SafetensorsTensor;
    if (a.shape[0] !== r || b.shape[1] !== r) {
      throw new UsageError(`${weightsPath}: "${p}" lora_A [${a.shape}] / lora_B [${b.shape}] do not fit r = ${r}`);
    }
    tensors[`${p}.lora_a`] = transpose(a);
    tensors[`${p}.lora_b`] = transpose(b);
    if (mod.m) tensors[`${p}.m`] = mod.m;
  }
  const mlxConfig = {
    fine_tune_type: dora ? 'dora' : 'lora',
    num_layers: numLayersOf(layers, weightsPath),
    lora_parameters: { rank, scale, dropout, keys: [...keys].sort() },
    ...(typeof c.base_model_name_or_path === 'string' ? { model: c.base_model_name_or_path } : {}),
  };
  await mkdir(out, { recursive: true });
  const weights = join(out, ADAPTER_WEIGHTS);
  await saveSafetensorsFile(weights, tensors);
  const cfg = join(out, ADAPTER_CONFIG);
  await writeFileAtomic(cfg, sortedJson(mlxConfig));
  return { weights, config: cfg, modules: modules.size, rank, scale };
}

/** Which layout the folder `dir` holds, from its weights file. */
export function adapterLayoutOf(dir: string): 'mlx' | 'peft' | null {
  if (existsSync(join(dir, ADAPTER_WEIGHTS))) return 'mlx';
  if (existsSync(join(dir, PEFT_WEIGHTS))) return 'peft';
  return null;
}
