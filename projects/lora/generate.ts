/** `lora:generate`: streamed text generation from the command line (mlx-lm's `generate`). */
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import type { ChatMessage } from '../../core/text/chat-template.js';
import { type Prompt, TextGenerator } from '../../models/llama/generate.js';
import { loadLanguageModel } from '../../node/models/language-model.js';
import type { GenerateArgs } from './commands.js';
import { loadAdapterFolder } from './train/adapter-files.js';

/** Exit status after Ctrl-C, as a shell reports a SIGINT death. */
const EXIT_INTERRUPTED = 130;

export async function runGenerate(args: GenerateArgs, ctx: CommandContext): Promise<number> {
  if (args.system !== undefined && !args.chat) throw new UsageError('--system needs --chat (it is a chat message)');
  const text = args.prompt.replaceAll('\\n', '\n').replaceAll('\\t', '\t');
  const lm = await loadLanguageModel(args.model, { tokenizer: args.tokenizer, cwd: ctx.cwd, env: ctx.env });
  try {
    if (args['adapter-path']) await loadAdapterFolder(lm.model, args['adapter-path']);
    if (args.chat && !lm.chatTemplate) {
      throw new UsageError(
        `--chat: ${lm.path} has no chat template (tokenizer_config.json chat_template); drop --chat to continue the prompt as text`,
      );
    }
    const messages: ChatMessage[] = [
      ...(args.system === undefined ? [] : [{ role: 'system', content: args.system }]),
      { role: 'user', content: text },
    ];
    const prompt: Prompt = args.chat ? { messages } : text;
    const generator = new TextGenerator(lm.model, lm.tokenizer, { chatTemplate: lm.chatTemplate });
    const generation = generator.generate(prompt, {
      maxTokens: args['max-tokens'],
      temperature: args.temp,
      topP: args['top-p'],
      topK: args['top-k'],
      minP: args['min-p'],
      repetitionPenalty: args['repetition-penalty'],
      seed: args.seed,
      stop: args.stop,
      maxKvSize: args['max-kv-size'],
      signal: ctx.signal,
    });
    for await (const chunk of generation) if (!ctx.json) ctx.write(chunk.text);
    const result = await generation.result;
    const s = result.stats;
    if (ctx.json) {
      ctx.output({ model: lm.name, path: lm.path, backend: ctx.backend, ...result });
    } else {
      ctx.write('\n');
      ctx.log.info(
        `prompt: ${s.promptTokens} tokens, ${s.prefillTokensPerSecond.toFixed(1)} tokens/s; ` +
          `generation: ${s.generatedTokens} tokens, ${s.decodeTokensPerSecond.toFixed(1)} tokens/s; ` +
          `first token after ${s.timeToFirstTokenMs.toFixed(0)} ms; peak tensor memory ${(s.peakMemoryBytes / 1e6).toFixed(1)} MB; ` +
          `finish: ${result.finishReason}; seed ${s.seed}; backend ${ctx.backend}`,
      );
    }
    return result.finishReason === 'abort' ? EXIT_INTERRUPTED : 0;
  } finally {
    lm.dispose();
  }
}
