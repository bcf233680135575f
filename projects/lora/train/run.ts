/**
 * `lora:train`: mlx-lm's `lora` command. The configuration is mlx-lm's defaults, overlaid by `--config
 * FILE.yaml` (mlx-lm's keys), overlaid by the flags given. It loads the model and data, adapts the last
 * `num_layers` blocks, trains for `iters` (or `epochs` passes over train.jsonl), reports the training loss
 * every `steps_per_report` and the validation loss every `steps_per_eval` (and at the first and last
 * iteration, as mlx-lm), saves `adapters.safetensors` + `adapter_config.json` every `save_every` and at the
 * end, and with `--test` reports the test loss and perplexity. Ctrl-C stops at the next iteration, writes
 * nothing more (what was saved stays whole) and exits 130.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { CommandContext } from '../../../cli/command.js';
import { UsageError } from '../../../core/errors.js';
import { defaultRng, Rng, setDefaultRng, setSeed } from '../../../core/random.js';
import * as T from '../../../index.js';
import { applyAdapters, trainableTree } from '../../../models/llama/adapters.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import type { TrainArgs } from '../commands.js';
import { BatchStream, evaluationBatches } from '../data/batches.js';
import { loadSplits, type SplitName } from '../data/load.js';
import { resolveDataDir } from '../data/registry.js';
import { loadAdapterWeights, saveAdapterFolder } from './adapter-files.js';
import { adapterConfigOf, optimizerOf, parseTrainConfig, type TrainConfig } from './config.js';
import { loadTrainingState, saveTrainingState } from './state.js';
import { evaluateLoss, Trainer } from './trainer.js';

const EXIT_INTERRUPTED = 130;

/** Flags that map to a top-level key (kebab → snake case). */
const TOP_LEVEL_FLAGS = [
  'model',
  'data',
  'fine-tune-type',
  'optimizer',
  'seed',
  'num-layers',
  'batch-size',
  'iters',
  'epochs',
  'val-batches',
  'learning-rate',
  'steps-per-report',
  'steps-per-eval',
  'resume-adapter-file',
  'adapter-path',
  'save-every',
  'test',
  'test-batches',
  'max-seq-length',
  'grad-checkpoint',
  'grad-accumulation-steps',
  'max-grad-norm',
  'mask-prompt',
  'resume',
] as const;

export async function readTrainYaml(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${path}: cannot read it (${(e as Error).message})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new UsageError(`--config ${path}: not valid YAML: ${(e as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`--config ${path}: expected a mapping of mlx-lm's lora keys (model, data, iters, ...)`);
  }
  return value as Record<string, unknown>;
}

/** mlx-lm's defaults ← the YAML file ← the flags given. */
export async function trainConfigFromArgs(args: TrainArgs, cwd: string): Promise<TrainConfig> {
  const configPath = args.config === undefined ? undefined : resolve(cwd, args.config);
  const raw: Record<string, unknown> = configPath ? await readTrainYaml(configPath) : {};
  const given = args as unknown as Record<string, unknown>;
  for (const flag of TOP_LEVEL_FLAGS) {
    const v = given[flag];
    if (v !== undefined && v !== false) raw[flag.replaceAll('-', '_')] = v;
  }
  const lora = { ...((raw.lora_parameters as Record<string, unknown> | null | undefined) ?? {}) };
  for (const k of ['rank', 'scale', 'dropout'] as const) if (given[k] !== undefined) lora[k] = given[k];
  if (Object.keys(lora).length > 0) raw.lora_parameters = lora;
  if (configPath) raw.config = configPath;
  return parseTrainConfig(raw, configPath ? `--config ${configPath}` : 'the training options');
}

function formatLoss(x: number): string {
  return x.toFixed(3);
}

/** What a finished run reports (lora:train's --json result). */
export interface TrainResult {
  readonly adapterPath: string;
  readonly adapterFile: string;
  readonly iterations: number;
  readonly trainLoss?: number;
  readonly firstValidLoss?: number;
  readonly validLoss?: number;
  readonly test?: { loss: number; perplexity: number };
  readonly peakMemoryBytes: number;
  readonly curve: readonly { iteration: number; trainLoss?: number; validLoss?: number; learningRate?: number }[];
}

export interface TrainHooks {
  /** True when --num-layers was given (else mlx-lm's default 16 shrinks to a smaller model's block count). */
  readonly numLayersGiven?: boolean;
  /** Called with each validation loss; returning true stops the run there (a pruned trial), unsaved. */
  readonly onValidation?: (iteration: number, loss: number) => boolean;
}

/** The run's result, 'interrupted' after Ctrl-C, or 'stopped' when onValidation stopped it. */
export type TrainOutcome = TrainResult | 'interrupted' | 'stopped';

export async function runTrain(args: TrainArgs, ctx: CommandContext): Promise<number> {
  const config = await trainConfigFromArgs(args, ctx.cwd);
  const outcome = await trainModel(config, ctx, { numLayersGiven: args['num-layers'] !== undefined });
  if (outcome === 'interrupted' || outcome === 'stopped') return EXIT_INTERRUPTED;
  ctx.output(outcome, `saved the adapter to ${outcome.adapterFile} (and adapter_config.json beside it)`);
  return 0;
}

/** Train with a validated configuration (see the module comment). */
export async function trainModel(
  config: TrainConfig,
  ctx: CommandContext,
  hooks: TrainHooks = {},
): Promise<TrainOutcome> {
  setSeed(config.seed);
  const lm = await loadLanguageModel(config.model, { cwd: ctx.cwd, env: ctx.env });
  const { model } = lm;
  try {
    // mlx-lm's num_layers default (16) exceeds small models: with the default, adapt every block.
    const numLayers = !hooks.numLayersGiven && config.num_layers > model.config.numLayers ? -1 : config.num_layers;
    const adapter = adapterConfigOf({ ...config, num_layers: numLayers });
    applyAdapters(model, adapter, new Rng(config.seed));
    const tree = trainableTree(model, adapter);
    if (config.resume_adapter_file) {
      const path = resolve(ctx.cwd, config.resume_adapter_file);
      await loadAdapterWeights(path, tree, adapter.fineTuneType);
      ctx.log.info(`resuming from the adapter weights in ${path}`);
    }
    const counts = tree.counts();
    ctx.log.info(
      `trainable parameters: ${((100 * counts.trainable) / counts.total).toFixed(3)}% ` +
        `(${(counts.trainable / 1e6).toFixed(3)}M/${(counts.total / 1e6).toFixed(3)}M)`,
    );

    const dataDir = resolveDataDir(config.data, ctx.cwd, ctx.env);
    const splits: SplitName[] = [
      'train',
      ...(config.val_batches !== 0 ? (['valid'] as const) : []),
      ...(config.test ? (['test'] as const) : []),
    ];
    const data = await loadSplits(dataDir, splits, lm.tokenizer, lm.chatTemplate, {
      maxSeqLength: config.max_seq_length,
      maskPrompt: config.mask_prompt,
      keys: {
        prompt: config.prompt_feature,
        completion: config.completion_feature,
        chat: config.chat_feature,
        text: config.text_feature,
      },
      warn: (m) => ctx.log.warn(m),
    });
    const validBatches = data.valid
      ? evaluationBatches(data.valid, config.batch_size, config.max_seq_length, config.val_batches)
      : [];
    const adapterPath = resolve(ctx.cwd, config.adapter_path);
    const savedConfig = { ...config, num_layers: numLayers, adapter_path: config.adapter_path };

    const optimizer = optimizerOf(config);
    let start = { iteration: 0, data: { epoch: 0, index: 0 } };
    if (config.resume) {
      const saved = await loadTrainingState(adapterPath, tree, optimizer);
      setDefaultRng(Rng.fromState(saved.rng));
      start = saved;
      ctx.log.info(`resuming after iteration ${saved.iteration} from ${adapterPath}`);
    }
    const stream = new BatchStream(data.train!, config.batch_size, config.max_seq_length, config.seed, start.data);
    const iters = config.epochs ? config.epochs * stream.batchesPerEpoch : config.iters;
    if (start.iteration >= iters) {
      throw new UsageError(`--resume: the run in ${adapterPath} already did ${start.iteration} of ${iters} iterations`);
    }
    const trainer = new Trainer(model, tree, optimizer, {
      gradAccumulationSteps: config.grad_accumulation_steps,
      maxGradNorm: config.max_grad_norm,
      checkpointBlocks: config.grad_checkpoint,
    });
    ctx.log.info(
      `training ${iters} iterations${config.epochs ? ` (${config.epochs} epochs of ${stream.batchesPerEpoch} batches)` : ''} ` +
        `of batch ${config.batch_size} on ${dataDir} with ${adapter.fineTuneType}, ${optimizer.constructor.name}`,
    );
    const validate = async () => (await evaluateLoss(model, validBatches, ctx.signal)).loss;
    const curve: { iteration: number; trainLoss?: number; validLoss?: number; learningRate?: number }[] = [];
    let firstValid: number | undefined;
    let lastValid: number | undefined;
    let lastTrain: number | undefined;
    let windowLoss = 0;
    let windowTokens = 0;
    let windowSteps = 0;
    let windowStart = performance.now();
    const progress = ctx.progress('it');
    progress.start(iters, 'training', start.iteration);
    T.resetPeakMemory();
    let stopped = false;
    const reportValidation = async (iteration: number) => {
      const v = await validate();
      firstValid ??= v;
      lastValid = v;
      curve.push({ iteration, validLoss: v });
      ctx.log.info(`iter ${iteration}: validation loss ${formatLoss(v)}`);
      if (hooks.onValidation?.(iteration, v)) stopped = true;
    };
    try {
      // As mlx-lm: the validation loss before training, every steps_per_eval iterations, and at the end.
      if (validBatches.length > 0 && start.iteration === 0) await reportValidation(0);
      for (let it = start.iteration + 1; it <= iters; it++) {
        if (ctx.signal.aborted) break;
        const step = await trainer.step(stream.next());
        windowLoss += step.loss * step.tokens;
        windowTokens += step.tokens;
        windowSteps++;
        progress.tick();
        if (it % config.steps_per_report === 0 || it === iters) {
          const seconds = (performance.now() - windowStart) / 1000;
          lastTrain = windowLoss / windowTokens;
          curve.push({ iteration: it, trainLoss: lastTrain, learningRate: optimizer.lastLearningRate });
          ctx.log.info(
            `iter ${it}: train loss ${formatLoss(lastTrain)}, learning rate ${optimizer.lastLearningRate.toExponential(3)}, ` +
              `${(windowSteps / seconds).toFixed(2)} it/s, ${(windowTokens / seconds).toFixed(1)} tokens/s, ` +
              `peak memory ${(T.memory().peakBytes / 1e6).toFixed(1)} MB`,
          );
          windowLoss = 0;
          windowTokens = 0;
          windowSteps = 0;
          windowStart = performance.now();
        }
        if (validBatches.length > 0 && (it % config.steps_per_eval === 0 || it === iters) && !ctx.signal.aborted) {
          await reportValidation(it);
          if (stopped) break;
        }
        if (it % config.save_every === 0 && it !== iters) {
          await saveAdapterFolder(adapterPath, tree, savedConfig);
          const checkpoint = await saveAdapterFolder(
            adapterPath,
            tree,
            savedConfig,
            `${String(it).padStart(7, '0')}_adapters.safetensors`,
          );
          await saveTrainingState(adapterPath, tree, optimizer, {
            iteration: it,
            data: stream.position,
            rng: defaultRng().state(),
          });
          ctx.log.info(`iter ${it}: saved adapter weights to ${adapterPath}/adapters.safetensors and ${checkpoint}`);
        }
      }
      if (ctx.signal.aborted) {
        progress.abort();
        ctx.log.warn('interrupted: nothing more saved (checkpoints written before stay whole)');
        return 'interrupted';
      }
      if (stopped) {
        progress.abort();
        return 'stopped';
      }
      progress.done();
    } catch (e) {
      progress.abort();
      if (ctx.signal.aborted) {
        ctx.log.warn('interrupted: nothing more saved (checkpoints written before stay whole)');
        return 'interrupted';
      }
      throw e;
    } finally {
      trainer.dispose();
      optimizer.dispose();
    }
    const weights = await saveAdapterFolder(adapterPath, tree, savedConfig);
    let test: { loss: number; perplexity: number } | undefined;
    if (data.test) {
      const batches = evaluationBatches(data.test, config.batch_size, config.max_seq_length, config.test_batches);
      const loss = (await evaluateLoss(model, batches, ctx.signal)).loss;
      test = { loss, perplexity: Math.exp(loss) };
      ctx.log.info(`test loss ${formatLoss(loss)}, test perplexity ${test.perplexity.toFixed(3)}`);
    }
    return {
      adapterPath,
      adapterFile: weights,
      iterations: iters,
      trainLoss: lastTrain,
      firstValidLoss: firstValid,
      validLoss: lastValid,
      test,
      peakMemoryBytes: T.memory().peakBytes,
      curve,
    };
  } finally {
    lm.dispose();
  }
}
