/**
 * Response bodies in OpenAI's shapes: `chat.completion` and `text_completion` objects, their streamed
 * chunks, and the usage chunk `stream_options.include_usage` asks for (empty `choices`, as OpenAI sends it).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { GenerationStats } from '../../../models/llama/generate.js';

export type Kind = 'chat' | 'text';
/** What a finished request reports; an aborted one never reaches a client. */
export type FinishReason = 'stop' | 'length';

/** Fields every object of one response shares (a stream's chunks all carry the same id and time). */
export interface ResponseMeta {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: string;
}

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export function responseMeta(kind: Kind, model: string, systemFingerprint: string): ResponseMeta {
  return {
    id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: systemFingerprint,
  };
}

/** Prompt tokens and the tokens sampled, a final end-of-sequence token included (as mlx-lm counts). */
export function usageOf(stats: GenerationStats): Usage {
  return {
    prompt_tokens: stats.promptTokens,
    completion_tokens: stats.generatedTokens,
    total_tokens: stats.promptTokens + stats.generatedTokens,
  };
}

/** The whole answer of a request made without `stream`. */
export function completionBody(kind: Kind, meta: ResponseMeta, text: string, finish: FinishReason, usage: Usage) {
  if (kind === 'chat') {
    return {
      ...meta,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: finish,
        },
      ],
      usage,
    };
  }
  return {
    ...meta,
    object: 'text_completion',
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    usage,
  };
}

export interface ChunkOptions {
  /** The first chunk of a chat stream also carries the role. */
  readonly first?: boolean;
  readonly finish?: FinishReason;
  /** With include_usage every chunk has `usage: null`; the usage chunk follows the last one. */
  readonly includeUsage: boolean;
}

/** One streamed chunk: new text (may be empty in the first and last chunks) and, last, the finish reason. */
export function chunkBody(kind: Kind, meta: ResponseMeta, text: string, o: ChunkOptions) {
  const finish_reason = o.finish ?? null;
  const usage = o.includeUsage ? { usage: null } : {};
  if (kind === 'chat') {
    const delta = o.first ? { role: 'assistant', content: text } : o.finish && text === '' ? {} : { content: text };
    return {
      ...meta,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason }],
      ...usage,
    };
  }
  return { ...meta, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason }], ...usage };
}

/** The chunk after the last one when `stream_options.include_usage` is set. */
export function usageChunkBody(kind: Kind, meta: ResponseMeta, usage: Usage) {
  return { ...meta, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', choices: [], usage };
}
