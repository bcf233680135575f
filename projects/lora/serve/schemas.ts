/**
 * The request bodies of /v1/completions and /v1/chat/completions (zod), and their translation into the
 * generation engine's options.
 *
 * Policy, as OpenAI's API behaves: a parameter neither OpenAI nor mlx-lm's server defines is refused
 * (`unknown_parameter`); a wrong type or a value out of range is refused naming the parameter; `null` means
 * "not given", as OpenAI's clients send it. Parameters OpenAI defines that this engine does not implement
 * (n > 1, presence/frequency penalties, logit_bias, tools, JSON response formats, logprobs, echo, suffix,
 * best_of) are accepted at their neutral value and refused otherwise (`unsupported_value`), so clients that
 * send defaults work and no request is silently answered differently from what it asked.
 * @module
 */
import { z } from 'zod';
import type { ChatMessage } from '../../../core/text/chat-template.js';
import type { GenerateOptions, Prompt } from '../../../models/llama/generate.js';
import { ApiError, fromZodError, invalidRequest, unsupported } from './errors.js';

/** OpenAI's limit on stop sequences. */
const MAX_STOPS = 4;

const common = {
  model: z.string().nullish(),
  max_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.int().nullish(),
  stop: z
    .union([z.string(), z.array(z.string()).max(MAX_STOPS)], {
      error: `expected a string or an array of at most ${MAX_STOPS} strings`,
    })
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().nullish() }).nullish(),
  /** End-user id for abuse monitoring at OpenAI: accepted and ignored. */
  user: z.string().nullish(),
  // mlx-lm's extensions.
  top_k: z.int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().min(0).nullish(),
  repetition_context_size: z.int().min(1).nullish(),
  // Neutral values only (see the module comment).
  n: z.int().min(1).nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
};

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });

const message = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(textPart)], {
    error: 'expected a string or an array of text parts ({"type": "text", "text": "..."}); this server reads text only',
  }),
  /** A participant's name: accepted and not shown to the model (chat templates do not read it). */
  name: z.string().nullish(),
});

export const chatRequestSchema = z.strictObject({
  ...common,
  messages: z.array(message).min(1),
  max_completion_tokens: z.int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.union([z.string(), z.looseObject({})]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
});

export const completionRequestSchema = z.strictObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()), z.array(z.int().min(0)), z.array(z.array(z.int().min(0)))], {
    error: 'expected a string, an array of strings, an array of token ids or an array of such arrays',
  }),
  logprobs: z.int().min(0).max(5).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.int().min(1).nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
type CommonRequest = ChatRequest | CompletionRequest;

/** A parsed body, or the 400 naming what is wrong. */
function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body, { reportInput: true });
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

/** Defaults for what a request leaves out (the server's flags, as mlx-lm's --temp, --top-p, ...). */
export interface RequestDefaults {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly minP: number;
}

/** What a request asks of the engine, with the server's defaults filled in. */
export interface RequestPlan {
  readonly options: GenerateOptions & { readonly maxTokens: number };
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** The parameter max tokens came from, for errors. */
  readonly maxTokensParam: 'max_tokens' | 'max_completion_tokens';
}

function checkNeutral(body: CommonRequest): void {
  if ((body.n ?? 1) !== 1) throw unsupported('n', `${body.n} (more than one choice)`);
  if ((body.presence_penalty ?? 0) !== 0) throw unsupported('presence_penalty', `${body.presence_penalty}`);
  if ((body.frequency_penalty ?? 0) !== 0) throw unsupported('frequency_penalty', `${body.frequency_penalty}`);
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) throw unsupported('logit_bias', '(non-empty)');
  if (body.stream_options && body.stream !== true) {
    throw invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
  }
}

function checkChatNeutral(body: ChatRequest): void {
  if (body.logprobs === true || (body.top_logprobs ?? 0) > 0) {
    throw unsupported(body.logprobs === true ? 'logprobs' : 'top_logprobs', '(token log-probabilities)');
  }
  const format = body.response_format?.type;
  if (format !== undefined && format !== 'text') throw unsupported('response_format', `type '${format}'`);
  if (body.tools && body.tools.length > 0) throw unsupported('tools', '(tool calling)');
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== null && choice !== 'none' && choice !== 'auto') {
    throw unsupported('tool_choice', typeof choice === 'string' ? `'${choice}'` : '(a named tool)');
  }
}

function checkCompletionNeutral(body: CompletionRequest): void {
  if (body.logprobs !== undefined && body.logprobs !== null) throw unsupported('logprobs', '(token log-probabilities)');
  if (body.echo === true) throw unsupported('echo', 'true');
  if (body.suffix !== undefined && body.suffix !== null && body.suffix !== '')
    throw unsupported('suffix', '(insertion)');
  if ((body.best_of ?? 1) !== 1) throw unsupported('best_of', `${body.best_of}`);
}

/** The engine options for a request; throws the 400 for values this server does not implement. */
function planRequest(kind: 'chat' | 'text', body: CommonRequest, defaults: RequestDefaults): RequestPlan {
  checkNeutral(body);
  if (kind === 'chat') checkChatNeutral(body as ChatRequest);
  else checkCompletionNeutral(body as CompletionRequest);
  const completionTokens = kind === 'chat' ? (body as ChatRequest).max_completion_tokens : undefined;
  const stop = body.stop ?? [];
  return {
    options: {
      maxTokens: completionTokens ?? body.max_tokens ?? defaults.maxTokens,
      temperature: body.temperature ?? defaults.temperature,
      topP: body.top_p ?? defaults.topP,
      topK: body.top_k ?? defaults.topK,
      minP: body.min_p ?? defaults.minP,
      // mlx-lm's server reads 0 (its default) as "no penalty"; the engine's neutral value is 1.
      repetitionPenalty: body.repetition_penalty ? body.repetition_penalty : undefined,
      repetitionContextSize: body.repetition_context_size ?? undefined,
      seed: body.seed ?? undefined,
      stop: typeof stop === 'string' ? [stop] : stop,
    },
    stream: body.stream === true,
    includeUsage: body.stream === true && body.stream_options?.include_usage === true,
    maxTokensParam: completionTokens != null ? 'max_completion_tokens' : 'max_tokens',
  };
}

/** A request body read and checked: the model it names, what it asks of the engine, and its prompt. */
export interface ParsedRequest {
  readonly model: string | null | undefined;
  readonly plan: RequestPlan;
  readonly prompt: Prompt;
}

/** Reads a body of either endpoint; throws the 400 (ApiError) for anything wrong in it. */
export function readRequest(kind: 'chat' | 'text', raw: unknown, defaults: RequestDefaults): ParsedRequest {
  if (kind === 'chat') {
    const body = parseBody(chatRequestSchema, raw);
    return { model: body.model, plan: planRequest(kind, body, defaults), prompt: chatPrompt(body) };
  }
  const body = parseBody(completionRequestSchema, raw);
  return { model: body.model, plan: planRequest(kind, body, defaults), prompt: completionPrompt(body) };
}

/** The conversation for the chat template: text parts joined (as mlx-lm does), `developer` read as `system`. */
function chatPrompt(body: ChatRequest): Prompt {
  const messages: ChatMessage[] = body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
  return { messages };
}

/** The one prompt of a completion request: text or token ids (a batch of one is unwrapped). */
function completionPrompt(body: CompletionRequest): Prompt {
  const p = body.prompt;
  if (typeof p === 'string') return p;
  if (p.length === 0) throw invalidRequest("Invalid 'prompt': it is empty.", 'prompt');
  const first = p[0];
  if (typeof first === 'number') return p as number[];
  if (p.length > 1) {
    throw new ApiError(400, `'prompt' has ${p.length} prompts; this server completes one prompt per request`, {
      param: 'prompt',
      code: 'unsupported_value',
    });
  }
  return first as string | number[];
}
