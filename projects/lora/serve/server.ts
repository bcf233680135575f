/**
 * Starting and stopping the OpenAI-compatible server in process — what `lora:serve` runs, and what tests,
 * structured programs and hyperparameter searches call:
 *
 *   const server = await start({ model: 'stories260K-hf', port: 0 });
 *   const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused' });
 *   ...
 *   await server.close();
 *
 * close() drains: it stops accepting connections, answers new requests on open ones with 503, lets the
 * requests in flight (running and queued) finish, and after `drainTimeoutMs` aborts what is left.
 * @module
 */
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../../core/errors.js';
import * as T from '../../../index.js';
import { TextGenerator } from '../../../models/llama/generate.js';
import { createLogger, type Logger } from '../../../node/log.js';
import { type LoadedLanguageModel, loadLanguageModel } from '../../../node/models/language-model.js';
import type { Env } from '../../../node/paths.js';
import { buildApp } from './app.js';
import type { ServeState } from './completions.js';
import { RequestQueue } from './queue.js';

/** The defaults `lora:serve` shows in its help; mlx-lm's server where it has the same setting. */
export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxConcurrency: 4,
  maxQueue: 64,
  maxTokens: 512,
  bodyLimit: 1024 * 1024,
  temperature: 0,
  topP: 1,
  topK: 0,
  minP: 0,
  drainTimeoutMs: 30_000,
} as const;

export interface StartOptions {
  /** A registry name, a Hugging Face folder or a llama2.c checkpoint; or a model already loaded (the caller keeps it). */
  readonly model: string | LoadedLanguageModel;
  /** Tokenizer for a llama2.c checkpoint given by path. */
  readonly tokenizer?: string;
  readonly host?: string;
  /** 0 picks a free port (see `port` on the result). */
  readonly port?: number;
  /** Every request must carry `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Generations running at once. */
  readonly maxConcurrency?: number;
  /** Requests waiting for a slot; more get 429. */
  readonly maxQueue?: number;
  /** Tokens generated when a request gives no max_tokens. */
  readonly maxTokens?: number;
  /** The most max_tokens a request may ask for; default the model's context length. */
  readonly maxTokensLimit?: number;
  /** Sampling defaults for requests that leave them out. */
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  /** Largest request body in bytes. */
  readonly bodyLimit?: number;
  /** Origins browsers may call from; default any (`*`), as mlx-lm's --allowed-origins. */
  readonly allowedOrigins?: readonly string[];
  /** Where requests and warnings are logged; default nowhere. */
  readonly log?: Logger;
  readonly cwd?: string;
  readonly env?: Env;
}

export interface CloseOptions {
  /** How long requests in flight may take to finish before they are aborted; default 30 s. */
  readonly drainTimeoutMs?: number;
}

export interface RunningServer {
  /** `http://host:port`, without a trailing slash; the OpenAI base URL is `${url}/v1`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The model's id in /v1/models and in every response. */
  readonly modelId: string;
  /** Resolves once the server has drained and closed (and disposed a model it loaded). Safe to call twice. */
  close(options?: CloseOptions): Promise<void>;
}

/** Hosts only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(resolve, ms, 'timeout').unref());
}

/** Loads the model (unless given one), listens, and returns once requests can be served. */
export async function start(options: StartOptions): Promise<RunningServer> {
  const log = options.log ?? createLogger({ level: 'silent' });
  const host = options.host ?? SERVE_DEFAULTS.host;
  const port = options.port ?? SERVE_DEFAULTS.port;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`port ${port} must be an integer from 0 to 65535 (0 picks a free port)`);
  }
  const owned = typeof options.model === 'string';
  const lm =
    typeof options.model === 'string'
      ? await loadLanguageModel(options.model, { tokenizer: options.tokenizer, cwd: options.cwd, env: options.env })
      : options.model;
  try {
    const contextLength = lm.model.config.maxPositions;
    const maxTokensLimit = options.maxTokensLimit ?? contextLength;
    const maxTokens = options.maxTokens ?? Math.min(SERVE_DEFAULTS.maxTokens, maxTokensLimit);
    if (maxTokens > maxTokensLimit) {
      throw new UsageError(
        `the default max tokens ${maxTokens} is above the limit ${maxTokensLimit}: lower one or raise the other`,
      );
    }
    const shutdown = new AbortController();
    let draining = false;
    const created = Math.floor(Date.now() / 1000);
    const state: ServeState = {
      generator: new TextGenerator(lm.model, lm.tokenizer, { chatTemplate: lm.chatTemplate }),
      modelId: lm.name,
      modelAliases: ['default_model', lm.path],
      contextLength,
      maxTokensLimit,
      defaults: {
        maxTokens,
        temperature: options.temperature ?? SERVE_DEFAULTS.temperature,
        topP: options.topP ?? SERVE_DEFAULTS.topP,
        topK: options.topK ?? SERVE_DEFAULTS.topK,
        minP: options.minP ?? SERVE_DEFAULTS.minP,
      },
      queue: new RequestQueue({
        maxConcurrency: options.maxConcurrency ?? SERVE_DEFAULTS.maxConcurrency,
        maxQueue: options.maxQueue ?? SERVE_DEFAULTS.maxQueue,
      }),
      log,
      systemFingerprint: `efficientai-toolkit-${T.getBackendName()}`,
      shutdown: shutdown.signal,
    };
    const app = buildApp(state, {
      apiKey: options.apiKey,
      bodyLimit: options.bodyLimit ?? SERVE_DEFAULTS.bodyLimit,
      allowedOrigins: options.allowedOrigins ?? ['*'],
      draining: () => draining,
      created,
    });
    try {
      await app.listen({ host, port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new UsageError(`port ${port} on ${host} is in use: pick another with --port (0 picks a free one)`);
      if (code === 'EACCES') throw new UsageError(`no permission to listen on ${host}:${port}: use a port above 1023`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new UsageError(
          `--host ${host} is not an address of this machine (use 127.0.0.1, or 0.0.0.0 for every interface)`,
        );
      }
      throw e;
    }
    if (!options.apiKey && !isLoopback(host)) {
      log.warn(
        `listening on ${host} without --api-key: anyone who can reach this machine can use the model; ` +
          'set --api-key (or EAI_LORA__SERVE__API_KEY) to require Authorization: Bearer',
      );
    }
    const address = app.server.address() as AddressInfo;
    const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${urlHost}:${address.port}`,
      host: address.address,
      port: address.port,
      modelId: state.modelId,
      close(o: CloseOptions = {}) {
        closing ??= (async () => {
          draining = true;
          const closed = app.close();
          const drained = await Promise.race([
            state.queue.idle(),
            delay(o.drainTimeoutMs ?? SERVE_DEFAULTS.drainTimeoutMs),
          ]);
          if (drained === 'timeout') {
            log.warn(
              `aborting ${state.queue.running + state.queue.waiting} requests still in flight after the drain time`,
            );
            shutdown.abort(new Error('the server is shutting down'));
            await state.queue.idle();
          }
          // Every response has been sent; idle keep-alive connections would otherwise hold close() open.
          app.server.closeIdleConnections();
          if ((await Promise.race([closed, delay(1000)])) === 'timeout') app.server.closeAllConnections();
          await closed;
          if (owned) lm.dispose();
        })();
        return closing;
      },
    };
  } catch (e) {
    if (owned) lm.dispose();
    throw e;
  }
}
