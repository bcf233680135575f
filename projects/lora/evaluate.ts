/**
 * `lora:test` (mlx-lm's `lora --test` without training): the token-weighted mean loss and perplexity of a
 * model, with an adapter when given, on test.jsonl of a data folder, batched and masked as training is.
 * @module
 */
import type { CommandContext } from '../../cli/command.js';
import { loadLanguageModel } from '../../node/models/language-model.js';
import type { TestArgs } from './commands.js';
import { evaluationBatches } from './data/batches.js';
import { loadSplits } from './data/load.js';
import { resolveDataDir } from './data/registry.js';
import { loadAdapterFolder } from './train/adapter-files.js';
import { evaluateLoss } from './train/trainer.js';

const EXIT_INTERRUPTED = 130;

export async function runTest(args: TestArgs, ctx: CommandContext): Promise<number> {
  const lm = await loadLanguageModel(args.model, { cwd: ctx.cwd, env: ctx.env });
  try {
    if (args['adapter-path']) await loadAdapterFolder(lm.model, args['adapter-path']);
    const dataDir = resolveDataDir(args.data, ctx.cwd, ctx.env);
    const maxSeqLength = args['max-seq-length'];
    const { test } = await loadSplits(dataDir, ['test'], lm.tokenizer, lm.chatTemplate, {
      maxSeqLength,
      maskPrompt: args['mask-prompt'],
      warn: (m) => ctx.log.warn(m),
    });
    const batches = evaluationBatches(test!, args['batch-size'], maxSeqLength, args['test-batches']);
    let loss: number;
    let tokens: number;
    try {
      ({ loss, tokens } = await evaluateLoss(lm.model, batches, ctx.signal));
    } catch (e) {
      if (ctx.signal.aborted) return EXIT_INTERRUPTED;
      throw e;
    }
    const result = {
      model: lm.name,
      adapterPath: args['adapter-path'] ?? null,
      data: dataDir,
      batches: batches.length,
      tokens,
      loss,
      perplexity: Math.exp(loss),
    };
    ctx.output(
      result,
      `test loss ${loss.toFixed(4)}, test perplexity ${result.perplexity.toFixed(3)} (${tokens} tokens)`,
    );
    return 0;
  } finally {
    lm.dispose();
  }
}
