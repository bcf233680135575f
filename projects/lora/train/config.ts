/**
 * The training configuration: mlx-lm's `lora` keys (its YAML files and `adapter_config.json` use them as is,
 * formats.md §2–§3) and defaults, plus `epochs`, `max_grad_norm` and `resume`. Browser-safe: validation and
 * the objects a configuration builds (optimizer, schedule, adapter settings) need no files.
 * @module
 */
import * as z from 'zod';
import { UsageError } from '../../../core/errors.js';
import { Adam, AdamW, type LearningRate, type Optimizer, SGD } from '../../../core/optim/optimizers.js';
import { buildSchedule } from '../../../core/optim/schedules.js';
import type { AdapterConfig } from '../../../models/llama/adapters.js';

const positiveInt = z.number().int().positive();

const loraParametersSchema = z
  .object({
    rank: positiveInt.default(8),
    scale: z.number().finite().default(20),
    dropout: z.number().min(0).lt(1).default(0),
    keys: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

const scheduleSchema = z
  .object({
    name: z.string(),
    arguments: z.array(z.number()).min(1),
    warmup: z.number().int().min(0).optional(),
    warmup_init: z.number().optional(),
  })
  .strict();

/** Every key mlx-lm's lora command reads, with its defaults (mlx_lm/lora.py CONFIG_DEFAULTS), and ours. */
export const trainConfigSchema = z
  .object({
    model: z.string().min(1).default('stories260K-hf'),
    /** Ours: a small bundled set, so the seed's `train --epochs 3` finishes quickly (mlx-lm's default is data/). */
    data: z.string().min(1).default('stories-sample'),
    train: z.boolean().default(true),
    fine_tune_type: z.enum(['lora', 'dora', 'full']).default('lora'),
    optimizer: z.enum(['adam', 'adamw', 'sgd']).default('adam'),
    optimizer_config: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    seed: z.number().int().min(0).default(0),
    num_layers: z.number().int().min(-1).default(16),
    batch_size: positiveInt.default(4),
    iters: positiveInt.default(1000),
    /** Ours (the seed project's): train for this many passes over train.jsonl instead of `iters`. */
    epochs: positiveInt.nullable().default(null),
    val_batches: z.number().int().min(-1).default(25),
    learning_rate: z.number().finite().positive().default(1e-5),
    steps_per_report: positiveInt.default(10),
    steps_per_eval: positiveInt.default(200),
    resume_adapter_file: z.string().nullable().default(null),
    adapter_path: z.string().min(1).default('adapters'),
    save_every: positiveInt.default(100),
    test: z.boolean().default(false),
    test_batches: z.number().int().min(-1).default(500),
    max_seq_length: z.number().int().min(2).default(2048),
    config: z.string().nullable().default(null),
    grad_checkpoint: z.boolean().default(false),
    grad_accumulation_steps: positiveInt.default(1),
    /** Ours: clip the gradients' global L2 norm to this before each update (null: no clipping). */
    max_grad_norm: z.number().positive().nullable().default(null),
    /** Ours: continue the run saved in adapter_path (training_state.safetensors). */
    resume: z.boolean().default(false),
    clear_cache_threshold: z.number().min(0).default(0),
    lr_schedule: scheduleSchema.nullable().default(null),
    lora_parameters: loraParametersSchema.nullable().default({ rank: 8, dropout: 0, scale: 20 }),
    mask_prompt: z.boolean().default(false),
    report_to: z.string().nullable().default(null),
    project_name: z.string().nullable().default(null),
    trust_remote_code: z.boolean().default(false),
    prompt_feature: z.string().min(1).default('prompt'),
    completion_feature: z.string().min(1).default('completion'),
    chat_feature: z.string().min(1).default('messages'),
    text_feature: z.string().min(1).default('text'),
  })
  // mlx-lm keeps keys it does not know (they end up in adapter_config.json); so do we.
  .catchall(z.unknown());

export type TrainConfig = z.output<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** The keys the schema names (anything else in a file is carried along, not used). */
export const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(trainConfigSchema.shape));

/** Validate a configuration (defaults filled); errors name the key. */
export function parseTrainConfig(input: unknown, source = 'the configuration'): TrainConfig {
  const r = trainConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path.join('.') || '(top level)';
    throw new UsageError(`${source}: ${key}: ${issue.message}`);
  }
  return r.data;
}

/** The adapter settings of a configuration. */
export function adapterConfigOf(
  c: Pick<TrainConfig, 'fine_tune_type' | 'num_layers' | 'lora_parameters'>,
): AdapterConfig {
  if (c.fine_tune_type !== 'full' && !c.lora_parameters) {
    throw new UsageError(`fine_tune_type ${c.fine_tune_type} needs lora_parameters (rank, scale, dropout)`);
  }
  return {
    fineTuneType: c.fine_tune_type,
    numLayers: c.num_layers,
    loraParameters: c.fine_tune_type === 'full' ? null : c.lora_parameters,
  };
}

/** The learning rate: the schedule when `lr_schedule` is set, else `learning_rate`. */
export function learningRateOf(c: Pick<TrainConfig, 'lr_schedule' | 'learning_rate'>): LearningRate {
  return c.lr_schedule ? buildSchedule(c.lr_schedule) : c.learning_rate;
}

function numberOpt(opts: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UsageError(`${where}.${key} must be a number`);
  return v;
}

/** The optimizer `optimizer` and `optimizer_config[optimizer]` describe (MLX's argument names). */
export function optimizerOf(
  c: Pick<TrainConfig, 'optimizer' | 'optimizer_config' | 'lr_schedule' | 'learning_rate'>,
): Optimizer {
  const where = `optimizer_config.${c.optimizer}`;
  const opts = c.optimizer_config[c.optimizer] ?? {};
  const allowed: Record<string, readonly string[]> = {
    adam: ['betas', 'eps', 'bias_correction'],
    adamw: ['betas', 'eps', 'bias_correction', 'weight_decay'],
    sgd: ['momentum', 'weight_decay', 'dampening', 'nesterov'],
  };
  for (const k of Object.keys(opts)) {
    if (!allowed[c.optimizer].includes(k)) {
      throw new UsageError(`${where}.${k} is not an option of ${c.optimizer} (${allowed[c.optimizer].join(', ')})`);
    }
  }
  const lr = learningRateOf(c);
  if (c.optimizer === 'sgd') {
    if (opts.nesterov !== undefined && typeof opts.nesterov !== 'boolean')
      throw new UsageError(`${where}.nesterov must be true or false`);
    return new SGD(lr, {
      momentum: numberOpt(opts, 'momentum', where),
      weightDecay: numberOpt(opts, 'weight_decay', where),
      dampening: numberOpt(opts, 'dampening', where),
      nesterov: opts.nesterov as boolean | undefined,
    });
  }
  const betas = opts.betas;
  if (
    betas !== undefined &&
    !(Array.isArray(betas) && betas.length === 2 && betas.every((b) => typeof b === 'number'))
  ) {
    throw new UsageError(`${where}.betas must be two numbers, e.g. [0.9, 0.999]`);
  }
  if (opts.bias_correction !== undefined && typeof opts.bias_correction !== 'boolean') {
    throw new UsageError(`${where}.bias_correction must be true or false`);
  }
  const adamOptions = {
    betas: betas as [number, number] | undefined,
    eps: numberOpt(opts, 'eps', where),
    biasCorrection: opts.bias_correction as boolean | undefined,
  };
  return c.optimizer === 'adamw'
    ? new AdamW(lr, { ...adamOptions, weightDecay: numberOpt(opts, 'weight_decay', where) })
    : new Adam(lr, adamOptions);
}
