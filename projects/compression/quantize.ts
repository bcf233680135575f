/**
 * `compression:quantize`: a Hugging Face Llama folder in, an mlx-lm quantized folder out (model.safetensors
 * with U32 `.weight` + `.scales` + `.biases` per quantized module and metadata format "mlx", config.json with
 * "quantization" and "quantization_config", the tokenizer files copied), written atomically.
 * @module
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { encodeSafetensors, fileDTypeOfCore, type SafetensorsTensor } from '../../core/io/safetensors.js';
import { inputMoments } from '../../models/compression/calibration.js';
import { gptqQuantize } from '../../models/compression/gptq.js';
import { hqqQuantize } from '../../models/compression/hqq.js';
import { parseHfConfig } from '../../models/llama/config.js';
import { quantizationJson } from '../../models/llama/quantization.js';
import {
  type MixedRecipe,
  type ModuleQuantizer,
  planQuantization,
  quantizeTensors,
  roundToNearest,
  uploadQuantized,
} from '../../models/llama/quantize.js';
import type { StoredWeight } from '../../models/llama/weights.js';
import { writeDirAtomic } from '../../node/atomic-dir.js';
import { openHfWeights, readJsonFile } from '../../node/models/hf-folder.js';
import { hfModelFolder, type LoadedLanguageModel, loadLanguageModel } from '../../node/models/language-model.js';
import { defaultDataDir } from '../../node/paths.js';
import type { QuantizeArgs } from './commands.js';

const EXIT_INTERRUPTED = 130;

/** Files a model folder carries besides its weights and config: the tokenizer's, generation defaults, licences. */
const COPIED =
  /^(tokenizer.*|special_tokens_map\.json|added_tokens\.json|vocab\.json|merges\.txt|generation_config\.json|chat_template\.(jinja|json)|.*\.tiktoken|LICENSE.*|NOTICE.*|README\.md)$/;

class Interrupted extends Error {}

function fileTensors(tensors: Map<string, StoredWeight>): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of tensors) {
    out[name] = { dtype: fileDTypeOfCore(t.dtype), shape: [...t.shape], data: t.data } as SafetensorsTensor;
  }
  return out;
}

async function folderBytes(dir: string, names: readonly string[]): Promise<number> {
  let total = 0;
  for (const n of names) total += (await stat(join(dir, n))).size;
  return total;
}

/** The bundled calibration text: TinyStories paragraphs from the end of the file (evaluation uses the first ones). */
function defaultCalibration(ctx: CommandContext): string {
  const dataDir = defaultDataDir(ctx.env);
  const path = dataDir && join(dataDir, 'tinystories', 'valid.txt');
  if (!path || !existsSync(path)) {
    throw new UsageError(
      'no bundled calibration text (../shared/data/tinystories/valid.txt, or EAI_DATA_DIR); pass --calibration-data FILE',
    );
  }
  return path;
}

/** Calibration sequences: paragraphs (blank-line separated), tokenized with BOS, cut to the context length. */
async function calibrationSequences(
  args: QuantizeArgs,
  ctx: CommandContext,
  lm: LoadedLanguageModel,
): Promise<number[][]> {
  const path = args['calibration-data'] ?? defaultCalibration(ctx);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path));
  } catch (e) {
    throw new UsageError(`--calibration-data ${path}: cannot read it as UTF-8 text: ${(e as Error).message}`);
  }
  const paragraphs = text.split('\n\n').filter((p) => p.trim().length > 0);
  const n = args['calibration-samples'];
  const chosen = args['calibration-data'] === undefined ? paragraphs.slice(-n) : paragraphs.slice(0, n);
  const limit = Math.min(lm.model.config.maxPositions, args['calibration-length']);
  const seqs = chosen.map((p) => lm.tokenizer.encode(p).slice(0, limit)).filter((ids) => ids.length > 1);
  if (seqs.length === 0) throw new UsageError(`--calibration-data ${path}: no paragraphs of two tokens or more`);
  return seqs;
}

/** The quantizer for --method; gptq first measures each projection's inputs on calibration text. */
async function quantizerFor(
  args: QuantizeArgs,
  ctx: CommandContext,
  folder: string,
): Promise<{ quantizer: ModuleQuantizer; calibration?: { sequences: number; tokens: number } }> {
  switch (args.method) {
    case 'rtn':
      return { quantizer: roundToNearest };
    case 'hqq':
      return {
        quantizer: async (_path, w, spec) =>
          uploadQuantized(hqqQuantize(w.data, w.shape[0], w.shape[1], spec), w.shape[0], w.shape[1], spec),
      };
    case 'gptq': {
      const lm = await loadLanguageModel(folder, { cwd: ctx.cwd, env: ctx.env });
      let moments: Map<string, Float64Array>;
      let tokens = 0;
      let sequences: number[][];
      try {
        sequences = await calibrationSequences(args, ctx, lm);
        tokens = sequences.reduce((a, s) => a + s.length, 0);
        const progress = ctx.progress('sequences');
        progress.start(sequences.length, 'calibrating');
        try {
          moments = await inputMoments(lm.model, sequences, () => {
            if (ctx.signal.aborted) throw new Interrupted();
            progress.tick();
          });
        } catch (e) {
          progress.abort();
          throw e;
        }
        progress.done();
      } finally {
        lm.dispose();
      }
      return {
        calibration: { sequences: sequences.length, tokens },
        // Modules no projection input reaches (the embedding) are rounded to nearest.
        quantizer: async (path, w, spec) => {
          const h = moments.get(path);
          if (!h) return roundToNearest(path, w, spec);
          const [rows, cols] = w.shape;
          return uploadQuantized(gptqQuantize(w.data, rows, cols, h, spec), rows, cols, spec);
        },
      };
    }
  }
}

export async function runQuantize(args: QuantizeArgs, ctx: CommandContext): Promise<number> {
  const folder = hfModelFolder(args.model, { cwd: ctx.cwd, env: ctx.env }, 'compression:quantize');
  const configPath = join(folder, 'config.json');
  const json = (await readJsonFile(configPath)) as Record<string, unknown>;
  const config = parseHfConfig(json, configPath);
  let method: Awaited<ReturnType<typeof quantizerFor>>;
  try {
    method = await quantizerFor(args, ctx, folder);
  } catch (e) {
    if (e instanceof Interrupted) return EXIT_INTERRUPTED;
    throw e;
  }
  const { quantizer } = method;
  const weights = await openHfWeights(folder);
  try {
    const names = weights.source.names();
    const tied = config.tieWordEmbeddings ?? !names.includes('lm_head.weight');
    const plan = planQuantization(config, tied, {
      bits: args.bits,
      groupSize: args['group-size'],
      recipe: args.recipe as MixedRecipe | undefined,
    });
    if (plan.skipped.length > 0) {
      const reasons = [...new Set(plan.skipped.map((s) => s.reason))].join('; ');
      ctx.log.warn(
        `${plan.skipped.length} modules stay float (${plan.skipped.map((s) => s.path).join(', ')}): ${reasons}`,
      );
    }

    const progress = ctx.progress('modules');
    progress.start(plan.modules.length, `quantizing (${args.method})`);
    let tensors: Map<string, StoredWeight>;
    try {
      tensors = await quantizeTensors(weights.source, plan, tied, quantizer, () => {
        if (ctx.signal.aborted) throw new Interrupted();
        progress.tick();
      });
    } catch (e) {
      progress.abort();
      if (e instanceof Interrupted) return EXIT_INTERRUPTED;
      throw e;
    }
    progress.done();

    const files = (await readdir(folder)).filter((n) => COPIED.test(n));
    const quantization = quantizationJson(plan.config);
    try {
      await writeDirAtomic(args.output, async (dir) => {
        await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(fileTensors(tensors), { format: 'mlx' }));
        await writeFile(
          join(dir, 'config.json'),
          `${JSON.stringify({ ...json, quantization, quantization_config: quantization }, null, 4)}\n`,
        );
        for (const f of files) {
          await copyFile(join(folder, f), join(dir, f));
          // The source may be read-only (a shared models folder); the copy is the user's to edit.
          await chmod(join(dir, f), 0o644);
        }
        if (ctx.signal.aborted) throw new Interrupted();
      });
    } catch (e) {
      if (e instanceof Interrupted) return EXIT_INTERRUPTED;
      throw e;
    }

    const weightFiles = (await readdir(folder)).filter((n) => /^model.*\.safetensors$/.test(n));
    const before = await folderBytes(folder, weightFiles);
    const after = (await stat(join(args.output, 'model.safetensors'))).size;
    const result = {
      model: args.model,
      output: args.output,
      method: args.method,
      bits: plan.config.bits,
      groupSize: plan.config.groupSize,
      recipe: args.recipe ?? null,
      quantized: plan.modules.map((m) => ({ path: m.path, bits: m.spec.bits, groupSize: m.spec.groupSize })),
      float: plan.skipped.map((m) => ({ path: m.path, reason: m.reason })),
      bytesBefore: before,
      bytesAfter: after,
      ratio: after / before,
      copied: files,
      calibration: method.calibration ?? null,
    };
    ctx.output(
      result,
      `${args.output}: ${plan.modules.length} modules quantized to ${args.recipe ?? `${plan.config.bits}-bit`} ` +
        `(group ${plan.config.groupSize}, ${args.method}), ${plan.skipped.length} left float; weights ` +
        `${(before / 1e6).toFixed(2)} MB → ${(after / 1e6).toFixed(2)} MB (${(100 * result.ratio).toFixed(1)}%)`,
    );
    return 0;
  } finally {
    await weights.close();
  }
}
