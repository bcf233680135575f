/**
 * One completion request, chat or text, from its body to its answer: validate, tokenize, wait for a slot,
 * generate, and answer whole or as a stream. A client that disconnects (or a shutdown whose drain time is
 * up) aborts the generation, which frees its KV cache at the next token; a client that disconnects while
 * queued just leaves the queue.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UsageError } from '../../../core/errors.js';
import type { Generation, GenerationResult, TextGenerator } from '../../../models/llama/generate.js';
import type { Logger } from '../../../node/log.js';
import { ApiError, invalidRequest } from './errors.js';
import { QueueFullError, type RequestQueue } from './queue.js';
import {
  chunkBody,
  completionBody,
  type Kind,
  type ResponseMeta,
  responseMeta,
  usageChunkBody,
  usageOf,
} from './responses.js';
import { type RequestDefaults, type RequestPlan, readRequest } from './schemas.js';
import { SseWriter } from './sse.js';

/** Seconds a client is told to wait (Retry-After) when the queue is full or the server is stopping. */
export const RETRY_AFTER_SECONDS = 1;

/** What every request handler shares: the engine, the limits, the queue, the server's state. */
export interface ServeState {
  readonly generator: TextGenerator;
  /** The id /v1/models lists and responses carry. */
  readonly modelId: string;
  /** Other names a request may use for the model (mlx-lm's "default_model", the resolved path). */
  readonly modelAliases: readonly string[];
  /** The model's context length: a prompt must be shorter. */
  readonly contextLength: number;
  /** The most tokens one request may ask for (--max-tokens-limit). */
  readonly maxTokensLimit: number;
  readonly defaults: RequestDefaults;
  readonly queue: RequestQueue;
  readonly log: Logger;
  readonly systemFingerprint: string;
  /** Aborted when a shutdown stops waiting for requests in flight. */
  readonly shutdown: AbortSignal;
}

function shuttingDown(): ApiError {
  return new ApiError(503, 'the server is shutting down; retry on another instance or once it is back', {
    code: 'server_shutting_down',
    retryAfter: RETRY_AFTER_SECONDS,
  });
}

function checkModel(model: string | null | undefined, s: ServeState): void {
  if (model === undefined || model === null || model === s.modelId || s.modelAliases.includes(model)) return;
  throw new ApiError(404, `The model '${model}' does not exist: this server serves '${s.modelId}' (GET /v1/models).`, {
    param: 'model',
    code: 'model_not_found',
  });
}

/** Aborts when the response's connection closes before the response has been sent in full. */
function disconnectSignal(reply: FastifyReply): { signal: AbortSignal; detach: () => void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client disconnected'));
  };
  reply.raw.on('close', onClose);
  return { signal: controller.signal, detach: () => reply.raw.off('close', onClose) };
}

export async function handleCompletion(
  kind: Kind,
  request: FastifyRequest,
  reply: FastifyReply,
  s: ServeState,
): Promise<void> {
  const { model, plan, prompt } = readRequest(kind, request.body, s.defaults);
  checkModel(model, s);
  const maxTokens = plan.options.maxTokens;
  if (maxTokens > s.maxTokensLimit) {
    throw invalidRequest(
      `${plan.maxTokensParam} is too large: ${maxTokens}. This server allows at most ${s.maxTokensLimit} ` +
        'completion tokens per request (--max-tokens-limit).',
      plan.maxTokensParam,
    );
  }
  const promptParam = kind === 'chat' ? 'messages' : 'prompt';
  let ids: number[];
  try {
    ids = s.generator.promptTokens(prompt);
  } catch (e) {
    if (e instanceof UsageError) throw invalidRequest(e.message, promptParam);
    throw e;
  }
  if (ids.length >= s.contextLength) {
    throw new ApiError(
      400,
      `This model's maximum context length is ${s.contextLength} tokens. However, your ${promptParam} ` +
        `resulted in ${ids.length} tokens. Please reduce the length of the ${promptParam}.`,
      { param: promptParam, code: 'context_length_exceeded' },
    );
  }

  const client = disconnectSignal(reply);
  const signal = AbortSignal.any([client.signal, s.shutdown]);
  try {
    let generation: Generation;
    try {
      generation = s.generator.generate(ids, { ...plan.options, signal });
    } catch (e) {
      if (e instanceof UsageError) throw invalidRequest(e.message, null);
      throw e;
    }
    let release: () => void;
    try {
      release = await s.queue.acquire(signal);
    } catch (e) {
      if (e instanceof QueueFullError) {
        throw new ApiError(429, e.message, {
          type: 'rate_limit_error',
          code: 'rate_limit_exceeded',
          retryAfter: RETRY_AFTER_SECONDS,
        });
      }
      if (s.shutdown.aborted) throw shuttingDown();
      // The client left while queued: there is no one to answer.
      reply.hijack();
      return;
    }
    try {
      const meta = responseMeta(kind, s.modelId, s.systemFingerprint);
      const result = plan.stream
        ? await streamAnswer(kind, generation, plan, meta, reply, s)
        : await wholeAnswer(kind, generation, meta, reply, s);
      if (result) logResult(s.log, request, result);
    } finally {
      release();
    }
  } finally {
    client.detach();
  }
}

async function wholeAnswer(
  kind: Kind,
  generation: Generation,
  meta: ResponseMeta,
  reply: FastifyReply,
  s: ServeState,
): Promise<GenerationResult | undefined> {
  for await (const _ of generation);
  const result = await generation.result;
  if (result.finishReason === 'abort') {
    if (s.shutdown.aborted) throw shuttingDown();
    reply.hijack();
    return undefined;
  }
  await reply.send(completionBody(kind, meta, result.text, result.finishReason, usageOf(result.stats)));
  return result;
}

async function streamAnswer(
  kind: Kind,
  generation: Generation,
  plan: RequestPlan,
  meta: ResponseMeta,
  reply: FastifyReply,
  s: ServeState,
): Promise<GenerationResult | undefined> {
  reply.hijack();
  const sse = new SseWriter(reply.raw);
  sse.open(reply.getHeaders());
  const includeUsage = plan.includeUsage;
  let result: GenerationResult;
  try {
    if (kind === 'chat') await sse.send(chunkBody(kind, meta, '', { first: true, includeUsage }));
    for await (const chunk of generation) await sse.send(chunkBody(kind, meta, chunk.text, { includeUsage }));
    result = await generation.result;
  } catch (e) {
    // The status is already 200: the error goes in the stream, where OpenAI's clients look for it.
    s.log.error(`generation failed: ${e instanceof Error ? e.message : String(e)}`);
    await sse.send(new ApiError(500, `generation failed: ${e instanceof Error ? e.message : String(e)}`).body);
    await sse.end();
    return undefined;
  }
  if (result.finishReason === 'abort') {
    if (s.shutdown.aborted) await sse.send(shuttingDown().body);
    await sse.end();
    return undefined;
  }
  await sse.send(chunkBody(kind, meta, '', { finish: result.finishReason, includeUsage }));
  if (includeUsage) await sse.send(usageChunkBody(kind, meta, usageOf(result.stats)));
  await sse.done();
  return result;
}

function logResult(log: Logger, request: FastifyRequest, result: GenerationResult): void {
  const st = result.stats;
  log.info(`${request.method} ${request.url}`, {
    prompt_tokens: st.promptTokens,
    completion_tokens: st.generatedTokens,
    finish_reason: result.finishReason,
    first_token_ms: Math.round(st.timeToFirstTokenMs),
    tokens_per_s: Number(st.decodeTokensPerSecond.toFixed(1)),
  });
}
