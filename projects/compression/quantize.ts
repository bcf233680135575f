/**
 * `compression:quantize`: a Hugging Face Llama folder in, an mlx-lm quantized folder out (model.safetensors
 * with U32 `.weight` + `.scales` + `.biases` per quantized module and metadata format "mlx", config.json with
 * "quantization" and "quantization_config", the tokenizer files copied), written atomically.
 * @module
 */
import { join } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
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
import { openHfWeights, readJsonFile } from '../../node/models/hf-folder.js';
import { hfModelFolder, loadLanguageModel } from '../../node/models/language-model.js';
import type { QuantizeArgs } from './commands.js';
import {
  calibrationSequences,
  EXIT_INTERRUPTED,
  Interrupted,
  type WrittenFolder,
  weightBytes,
  writeModelFolder,
} from './shared.js';

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

    let written: WrittenFolder;
    try {
      written = await writeModelFolder(
        ctx,
        folder,
        args.output,
        {
          ...json,
          quantization: quantizationJson(plan.config),
          quantization_config: quantizationJson(plan.config),
        },
        tensors,
      );
    } catch (e) {
      if (e instanceof Interrupted) return EXIT_INTERRUPTED;
      throw e;
    }

    const before = await weightBytes(folder);
    const after = written.bytes;
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
      copied: written.copied,
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
