/** `lora:perplexity`: mean NLL per token and perplexity of a text or jsonl file (mlx-lm's evaluation). */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { scoreSequence } from '../../models/llama/perplexity.js';
import { type LoadedLanguageModel, loadLanguageModel } from '../../node/models/language-model.js';
import type { PerplexityArgs } from './commands.js';
import { parseJsonl, recordFormat, recordTokens } from './data/records.js';
import { loadAdapterFolder } from './train/adapter-files.js';

const EXIT_INTERRUPTED = 130;

/** The token sequences to score: one per paragraph (text) or record (jsonl). */
async function sequences(path: string, lm: LoadedLanguageModel, limit: number | undefined): Promise<number[][]> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new UsageError(`--data ${path}: file not found`);
    throw new UsageError(`--data ${path}: cannot read it as UTF-8 text: ${(e as Error).message}`);
  }
  if (extname(path) === '.jsonl') {
    const records = parseJsonl(path, text).slice(0, limit);
    if (records.length === 0) throw new UsageError(`--data ${path}: no records`);
    const format = recordFormat(path, records[0]);
    return records.map((r) => recordTokens(path, r, format, lm.tokenizer, lm.chatTemplate));
  }
  // Paragraphs exactly as written (not trimmed), each with the tokenizer's BOS.
  const paragraphs = text
    .split('\n\n')
    .filter((p) => p.trim().length > 0)
    .slice(0, limit);
  if (paragraphs.length === 0) throw new UsageError(`--data ${path}: no paragraphs (text separated by blank lines)`);
  return paragraphs.map((p) => lm.tokenizer.encode(p));
}

export async function runPerplexity(args: PerplexityArgs, ctx: CommandContext): Promise<number> {
  const lm = await loadLanguageModel(args.model, { tokenizer: args.tokenizer, cwd: ctx.cwd, env: ctx.env });
  try {
    if (args['adapter-path']) await loadAdapterFolder(lm.model, args['adapter-path']);
    const seqs = await sequences(args.data, lm, args['max-paragraphs']);
    const context = lm.model.config.maxPositions;
    const progress = ctx.progress(extname(args.data) === '.jsonl' ? 'records' : 'paragraphs');
    progress.start(seqs.length, 'scoring');
    let nll = 0;
    let tokens = 0;
    let truncated = 0;
    for (const ids of seqs) {
      if (ctx.signal.aborted) {
        progress.abort();
        return EXIT_INTERRUPTED;
      }
      if (ids.length > context) truncated++;
      const score = await scoreSequence(lm.model, ids.slice(0, context));
      nll += score.nll;
      tokens += score.tokens;
      progress.tick();
    }
    progress.done();
    if (tokens === 0)
      throw new UsageError(`--data ${args.data}: no predicted tokens (every sequence is one token long)`);
    if (truncated > 0) ctx.log.warn(`${truncated} sequences were cut to the context length of ${context} tokens`);
    const meanNll = nll / tokens;
    const result = {
      model: lm.name,
      data: args.data,
      sequences: seqs.length,
      predictedTokens: tokens,
      meanNll,
      perplexity: Math.exp(meanNll),
      truncated,
      backend: ctx.backend,
    };
    ctx.output(
      result,
      `${seqs.length} ${extname(args.data) === '.jsonl' ? 'records' : 'paragraphs'}, ${tokens} predicted tokens: ` +
        `mean NLL ${meanNll.toFixed(4)} nats/token, perplexity ${result.perplexity.toFixed(3)}`,
    );
    return 0;
  } finally {
    lm.dispose();
  }
}
