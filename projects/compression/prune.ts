/**
 * `compression:prune`: a float Hugging Face Llama folder in, a pruned one out (same layout and dtypes, so
 * every command loads it), with the sparsity of each projection reported. Embedding and head are not pruned.
 * @module
 */
import { join } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import * as T from '../../index.js';
import { inputMoments } from '../../models/compression/calibration.js';
import {
  type MlpMatrices,
  neuronsToKeep,
  type PrunedMatrix,
  pruneNM,
  pruneUnstructured,
  sliceNeurons,
  sparsityOf,
} from '../../models/compression/prune.js';
import { parseHfConfig } from '../../models/llama/config.js';
import { quantizableModules } from '../../models/llama/quantize.js';
import type { StoredWeight } from '../../models/llama/weights.js';
import { openHfWeights, readJsonFile } from '../../node/models/hf-folder.js';
import { hfModelFolder, loadLanguageModel } from '../../node/models/language-model.js';
import type { PruneArgs } from './commands.js';
import { calibrationSequences, EXIT_INTERRUPTED, Interrupted, writeModelFolder } from './shared.js';

/** `N:M` with 0 < N < M. */
function parsePattern(text: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(text);
  const n = m ? Number(m[1]) : 0;
  const k = m ? Number(m[2]) : 0;
  if (!m || n < 1 || n >= k) {
    throw new UsageError(`--pattern ${text}: must be N:M with 0 < N < M (2:4 zeroes two weights of every four)`);
  }
  return [n, k];
}

function checkArgs(args: PruneArgs): [number, number] | null {
  if (!(args.sparsity >= 0 && args.sparsity < 1)) {
    throw new UsageError(`--sparsity ${args.sparsity}: must be in [0, 1) (the fraction of weights removed)`);
  }
  if (args.pattern === undefined) return null;
  if (args.method === 'structured') throw new UsageError('--pattern applies to magnitude and wanda pruning');
  const [n, m] = parsePattern(args.pattern);
  if (Math.abs(args.sparsity - n / m) > 1e-9) {
    throw new UsageError(`--pattern ${args.pattern} removes ${n}/${m} of the weights; --sparsity must be ${n / m}`);
  }
  return [n, m];
}

/** ‖X_j‖₂ per input column of each projection: the diagonal of E[xxᵀ], square-rooted (Wanda). */
async function inputNorms(args: PruneArgs, ctx: CommandContext, folder: string): Promise<Map<string, Float64Array>> {
  const lm = await loadLanguageModel(folder, { cwd: ctx.cwd, env: ctx.env });
  try {
    const seqs = await calibrationSequences(args, ctx, lm);
    const progress = ctx.progress('sequences');
    progress.start(seqs.length, 'calibrating');
    const moments = await inputMoments(lm.model, seqs, () => {
      if (ctx.signal.aborted) {
        progress.abort();
        throw new Interrupted();
      }
      progress.tick();
    });
    progress.done();
    const norms = new Map<string, Float64Array>();
    for (const [path, h] of moments) {
      const n = Math.round(Math.sqrt(h.length));
      norms.set(
        path,
        Float64Array.from({ length: n }, (_, i) => Math.sqrt(h[i * n + i])),
      );
    }
    return norms;
  } finally {
    lm.dispose();
  }
}

export async function runPrune(args: PruneArgs, ctx: CommandContext): Promise<number> {
  const pattern = checkArgs(args);
  const folder = hfModelFolder(args.model, { cwd: ctx.cwd, env: ctx.env }, 'compression:prune');
  const configPath = join(folder, 'config.json');
  const json = (await readJsonFile(configPath)) as Record<string, unknown>;
  const config = parseHfConfig(json, configPath);
  if (config.quantization) {
    throw new UsageError(
      `--model ${args.model}: the model is quantized; prune its float original, then quantize ` +
        '(compression:compress --methods pruning,quantization does both)',
    );
  }
  let norms: Map<string, Float64Array> | undefined;
  try {
    if (args.method === 'wanda') norms = await inputNorms(args, ctx, folder);
  } catch (e) {
    if (e instanceof Interrupted) return EXIT_INTERRUPTED;
    throw e;
  }

  const weights = await openHfWeights(folder);
  try {
    const source = weights.source;
    const tensors = new Map<string, StoredWeight>();
    for (const name of source.names()) tensors.set(name, await source.readStored!(name));
    const projections = quantizableModules(config, true).filter((m) => m.layer !== undefined);
    const matrices: PrunedMatrix[] = [];
    for (const m of projections) {
      matrices.push({
        path: m.path,
        rows: m.rows,
        cols: m.cols,
        data: Float32Array.from((await source.read(`${m.path}.weight`)).data),
        inputNorms: norms?.get(m.path),
      });
    }
    const originalSize = new Map(matrices.map((m) => [m.path, m.rows * m.cols]));
    let outConfig = json;
    if (args.method === 'structured') {
      const I = config.intermediateSize;
      const keep = Math.max(1, Math.round((1 - args.sparsity) * I));
      for (let l = 0; l < config.numLayers; l++) {
        const get = (n: string) => matrices.find((m) => m.path === `model.layers.${l}.mlp.${n}_proj`)!;
        const mlp: MlpMatrices = {
          gate: get('gate').data,
          up: get('up').data,
          down: get('down').data,
          hidden: config.hiddenSize,
          intermediate: I,
        };
        const sliced = sliceNeurons(mlp, neuronsToKeep(mlp, keep));
        for (const n of ['gate', 'up', 'down'] as const) {
          const m = get(n);
          const shape = n === 'down' ? [config.hiddenSize, keep] : [keep, config.hiddenSize];
          Object.assign(m, { data: sliced[n], rows: shape[0], cols: shape[1] });
        }
      }
      outConfig = { ...json, intermediate_size: keep };
    } else if (pattern) {
      pruneNM(matrices, pattern[0], pattern[1]);
    } else {
      pruneUnstructured(matrices, args.sparsity, args.scope as 'layer' | 'global');
    }
    for (const m of matrices) {
      const name = `${m.path}.weight`;
      const dtype = tensors.get(name)!.dtype;
      tensors.set(name, { dtype, shape: [m.rows, m.cols], data: T.fromCompute(m.data, dtype) });
    }
    if (ctx.signal.aborted) return EXIT_INTERRUPTED;
    let written: Awaited<ReturnType<typeof writeModelFolder>>;
    try {
      written = await writeModelFolder(ctx, folder, args.output, outConfig, tensors);
    } catch (e) {
      if (e instanceof Interrupted) return EXIT_INTERRUPTED;
      throw e;
    }
    // Of each projection's original weights: removed (structured) or zero.
    const layers = matrices.map((m) => ({
      path: m.path,
      shape: [m.rows, m.cols],
      sparsity: 1 - (m.data.length * (1 - sparsityOf(m.data))) / originalSize.get(m.path)!,
    }));
    const original = projections.reduce((a, m) => a + m.rows * m.cols, 0);
    const nonzero = matrices.reduce((a, m) => a + m.data.length * (1 - sparsityOf(m.data)), 0);
    const result = {
      model: args.model,
      output: args.output,
      method: args.method,
      pattern: args.pattern ?? null,
      scope: args.method === 'structured' || pattern ? null : args.scope,
      intermediateSize: outConfig.intermediate_size,
      layers,
      sparsity: 1 - nonzero / original,
      bytes: written.bytes,
    };
    const table = layers.map(
      (l) => `  ${l.path.padEnd(34)} [${l.shape.join(', ')}]  ${(100 * l.sparsity).toFixed(1)}%`,
    );
    ctx.output(
      result,
      [
        `${args.output}: ${args.method}${args.pattern ? ` ${args.pattern}` : ''} pruning, ` +
          `${(100 * result.sparsity).toFixed(1)}% of the projection weights removed or zero`,
        ...table,
      ].join('\n'),
    );
    return 0;
  } finally {
    await weights.close();
  }
}
