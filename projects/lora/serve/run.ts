/**
 * `lora:serve`: the server as a command. It prints where it listens (the port too when --port 0 picked
 * one), serves until SIGTERM or Ctrl-C, and then stops: SIGTERM drains (requests in flight finish, for up to
 * --drain-timeout seconds) and exits 0, as process managers expect; Ctrl-C aborts what is in flight and exits
 * 130. A second signal exits at once.
 * @module
 */
import type { CommandContext } from '../../../cli/command.js';
import type { ServeArgs } from '../commands.js';
import { start } from './server.js';

const EXIT_INTERRUPTED = 130;
/** 128 + SIGTERM, what a shell reports for a process killed by it. */
const EXIT_TERMINATED = 143;

export async function runServe(args: ServeArgs, ctx: CommandContext): Promise<number> {
  const server = await start({
    model: args.model,
    tokenizer: args.tokenizer,
    host: args.host,
    port: args.port,
    apiKey: args['api-key'],
    maxConcurrency: args['max-concurrency'],
    maxQueue: args['max-queue'],
    maxTokens: args['max-tokens'],
    maxTokensLimit: args['max-tokens-limit'],
    temperature: args.temp,
    topP: args['top-p'],
    topK: args['top-k'],
    minP: args['min-p'],
    bodyLimit: args['body-limit'],
    allowedOrigins: args['allowed-origins']
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
    log: ctx.log,
    cwd: ctx.cwd,
    env: ctx.env,
  });
  ctx.output(
    { url: server.url, baseURL: `${server.url}/v1`, host: server.host, port: server.port, model: server.modelId },
    `Serving ${server.modelId} at ${server.url} (OpenAI base URL ${server.url}/v1, backend ${ctx.backend}); ` +
      'SIGTERM drains and stops, Ctrl-C stops now',
  );

  const signal = await new Promise<'SIGTERM' | 'SIGINT'>((resolve) => {
    const onTerm = (): void => {
      ctx.signal.removeEventListener('abort', onInt);
      resolve('SIGTERM');
    };
    const onInt = (): void => {
      process.off('SIGTERM', onTerm);
      resolve('SIGINT');
    };
    if (ctx.signal.aborted) return resolve('SIGINT');
    process.once('SIGTERM', onTerm);
    ctx.signal.addEventListener('abort', onInt, { once: true });
  });
  const again = (): never => process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
  process.once('SIGTERM', again);
  try {
    if (signal === 'SIGTERM') ctx.log.info(`SIGTERM: draining requests in flight (up to ${args['drain-timeout']} s)`);
    await server.close({ drainTimeoutMs: signal === 'SIGTERM' ? args['drain-timeout'] * 1000 : 0 });
  } finally {
    process.off('SIGTERM', again);
  }
  ctx.log.info('server stopped');
  return signal === 'SIGTERM' ? 0 : EXIT_INTERRUPTED;
}
