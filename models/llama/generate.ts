/**
 * The generation engine: prompt in, text out, streamed.
 *
 *   const generator = new TextGenerator(model, tokenizer, { chatTemplate });
 *   const generation = generator.generate('Once upon a time', { maxTokens: 100, temperature: 0.7, seed: 1 });
 *   for await (const chunk of generation) process.stdout.write(chunk.text);
 *   const { finishReason, stats } = await generation.result;
 *
 * A request runs prefill (the prompt, in chunks of `prefillStepSize`, logits of the last position only), then
 * one decoding step per token with the KV cache. The only data read back from the backend per token is that
 * position's logits; sampling runs on the host (sample.ts). Text is streamed UTF-8-safely (stream-decoder.ts)
 * and held back while it could still be the start of a stop string. Every tensor a request creates is freed
 * when it ends, however it ends (finished, stopped, aborted, failed, or its consumer stopped iterating).
 * @module
 */
import { UsageError } from '../../core/errors.js';
import type { ChatMessage, ChatTemplate } from '../../core/text/chat-template.js';
import { StreamDecoder } from '../../core/text/stream-decoder.js';
import type { Tokenizer } from '../../core/text/tokenizer.js';
import { yieldToEventLoop } from '../../core/yield.js';
import * as T from '../../index.js';
import type { LayerCache } from './kv-cache.js';
import type { CausalLM } from './model.js';
import { Sampler, type SamplingOptions } from './sample.js';

/** What to continue: text (encoded with BOS), token ids as they are, or a chat rendered by the template. */
export type Prompt = string | readonly number[] | { readonly messages: readonly ChatMessage[] };

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate; default 256 (mlx-lm's stream_generate). */
  readonly maxTokens?: number;
  /** Texts that end generation; the text returned stops before the first one found (OpenAI `stop`). */
  readonly stop?: readonly string[];
  /** Keep generating past end-of-sequence tokens (still bounded by maxTokens). */
  readonly ignoreEos?: boolean;
  /** Aborting ends the request at the next token with finishReason 'abort'. */
  readonly signal?: AbortSignal;
  /** Keep only the last maxKvSize positions (a rotating cache), allowing sequences past the context length. */
  readonly maxKvSize?: number;
  /** Prompt tokens per prefill forward pass; default 512. */
  readonly prefillStepSize?: number;
}

/** Why a request ended: an EOS token or stop string, maxTokens or the context length, or cancellation. */
export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerationChunk {
  /** New text; never empty. */
  readonly text: string;
  /** Tokens generated since the previous chunk (their text may partly be held back, see stop). */
  readonly tokens: readonly number[];
}

export interface GenerationStats {
  readonly promptTokens: number;
  /** Tokens sampled, a final end-of-sequence token included. */
  readonly generatedTokens: number;
  /** From the call to the first sampled token: prefill plus one sampling. */
  readonly timeToFirstTokenMs: number;
  readonly prefillTokensPerSecond: number;
  /** Tokens after the first, per second of decoding (0 when only one token was generated). */
  readonly decodeTokensPerSecond: number;
  /** Most bytes held by live tensors (the core's memory()) seen after any forward pass of this request. */
  readonly peakMemoryBytes: number;
  /** The sampling seed used (the given one, or the random one drawn). */
  readonly seed: number;
}

export interface GenerationResult {
  readonly text: string;
  /** Generated token ids, excluding a final end-of-sequence token. */
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
  /** The stop string that ended generation, when one did. */
  readonly stopString?: string;
  readonly stats: GenerationStats;
}

/** One request: iterate it for text chunks (once); `result` settles when it ends. */
export interface Generation extends AsyncIterable<GenerationChunk> {
  readonly result: Promise<GenerationResult>;
  /** Runs the request to its end without streaming and returns the result. */
  complete(): Promise<GenerationResult>;
}

export interface TextGeneratorOptions {
  /** Needed for `{ messages }` prompts. */
  readonly chatTemplate?: ChatTemplate | null;
  /** End-of-sequence ids beyond the tokenizer's (the model config's eos_token_id). */
  readonly eosTokenIds?: readonly number[];
}

const DEFAULT_MAX_TOKENS = 256;
const DEFAULT_PREFILL_STEP = 512;

/** The longest suffix of `text` that is a proper prefix of a stop string (text to hold back). */
function heldBack(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > hold; n--) {
      if (text.endsWith(s.slice(0, n))) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}

/** Where the earliest stop string starts in `text`, and which one. */
function findStop(text: string, stops: readonly string[]): { at: number; stop: string } | undefined {
  let found: { at: number; stop: string } | undefined;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (!found || at < found.at)) found = { at, stop };
  }
  return found;
}

export class TextGenerator {
  readonly #eos: ReadonlySet<number>;
  readonly #chatTemplate: ChatTemplate | null;

  constructor(
    readonly model: CausalLM,
    readonly tokenizer: Tokenizer,
    options: TextGeneratorOptions = {},
  ) {
    this.#eos = new Set([...tokenizer.eosIds, ...(options.eosTokenIds ?? model.config.eosTokenIds)]);
    this.#chatTemplate = options.chatTemplate ?? null;
  }

  /** The token ids a prompt stands for. */
  promptTokens(prompt: Prompt): number[] {
    if (typeof prompt === 'string') return this.tokenizer.encode(prompt);
    if ('messages' in prompt) {
      if (!this.#chatTemplate) {
        throw new UsageError(
          'this model has no chat template (tokenizer_config.json chat_template); send a plain prompt',
        );
      }
      // The template writes BOS itself where the model wants one.
      return this.tokenizer.encode(this.#chatTemplate.render(prompt.messages), { addSpecialTokens: false });
    }
    const vocab = this.model.config.vocabSize;
    for (const id of prompt) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= vocab) {
        throw new UsageError(`prompt token ${id} is not a token id (0..${vocab - 1})`);
      }
    }
    return [...prompt];
  }

  /** Starts a request. Bad options throw here, before anything runs. */
  generate(prompt: Prompt, options: GenerateOptions = {}): Generation {
    const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) {
      throw new UsageError(`max tokens ${maxTokens} must be an integer >= 1`);
    }
    const step = options.prefillStepSize ?? DEFAULT_PREFILL_STEP;
    if (!Number.isSafeInteger(step) || step < 1)
      throw new UsageError(`prefill step size ${step} must be an integer >= 1`);
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    const ids = this.promptTokens(prompt);
    if (ids.length === 0) throw new UsageError('the prompt is empty: give some text (or a tokenizer that adds BOS)');
    const capacity = this.model.config.maxPositions;
    if (options.maxKvSize === undefined && ids.length >= capacity) {
      throw new UsageError(
        `the prompt has ${ids.length} tokens, but the model's context length is ${capacity}: shorten it, or set ` +
          'maxKvSize (--max-kv-size) to keep only the latest positions',
      );
    }
    const sampler = new Sampler(options);

    let settle!: { resolve: (r: GenerationResult) => void; reject: (e: unknown) => void };
    const result = new Promise<GenerationResult>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A caller that only iterates sees failures there; this keeps an unobserved result from crashing Node.
    result.catch(() => {});
    const chunks = this.#run(ids, sampler, { ...options, maxTokens, stops, step }, settle);
    let started = false;
    const generation: Generation = {
      result,
      [Symbol.asyncIterator]() {
        if (started) throw new UsageError('a generation can be iterated once');
        started = true;
        return chunks;
      },
      async complete() {
        if (!started) for await (const _ of generation);
        return result;
      },
    };
    return generation;
  }

  async *#run(
    ids: number[],
    sampler: Sampler,
    o: GenerateOptions & { maxTokens: number; stops: readonly string[]; step: number },
    settle: { resolve: (r: GenerationResult) => void; reject: (e: unknown) => void },
  ): AsyncGenerator<GenerationChunk, void, undefined> {
    const start = performance.now();
    const model = this.model;
    const cache = model.createCache({ maxKvSize: o.maxKvSize });
    const history = [...ids];
    const generated: number[] = [];
    const decoder = new StreamDecoder(this.tokenizer, ids);
    let peak = 0;
    let pending = '';
    let text = '';
    let unsent: number[] = [];
    let finishReason: FinishReason = 'abort';
    let stopString: string | undefined;
    let firstTokenAt = start;
    let prefillMs = 0;
    let completed = false;

    /** Runs the model on `tokens` with the cache and reads back the logits of the last position. */
    const forward = async (tokens: readonly number[]): Promise<Float32Array> => {
      const logits = T.tidy(() => {
        const input = T.tensor(tokens as number[], [1, tokens.length], 'i32');
        return model.forward(input, { cache, lastOnly: true });
      });
      try {
        peak = Math.max(peak, T.memory().bytes);
        return (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
    };
    const aborted = () => o.signal?.aborted === true;

    try {
      let logits: Float32Array | undefined;
      for (let at = 0; at < ids.length && !aborted(); at += o.step) logits = await forward(ids.slice(at, at + o.step));
      prefillMs = performance.now() - start;
      while (logits && !aborted()) {
        const token = sampler.sample(logits, history);
        if (generated.length === 0) firstTokenAt = performance.now();
        generated.push(token);
        if (!o.ignoreEos && this.#eos.has(token)) {
          finishReason = 'stop';
          break;
        }
        history.push(token);
        unsent.push(token);
        pending += decoder.push(token);
        const stop = findStop(pending, o.stops);
        if (stop) {
          pending = pending.slice(0, stop.at);
          stopString = stop.stop;
          finishReason = 'stop';
          break;
        }
        const ready = pending.slice(0, pending.length - heldBack(pending, o.stops));
        if (ready.length > 0) {
          pending = pending.slice(ready.length);
          text += ready;
          yield { text: ready, tokens: unsent };
          unsent = [];
        }
        if (
          generated.length >= o.maxTokens ||
          (o.maxKvSize === undefined && cache[0].offset >= model.config.maxPositions)
        ) {
          finishReason = 'length';
          break;
        }
        // Let I/O, timers and signals in between tokens (a server's other clients, Ctrl-C).
        await yieldToEventLoop();
        logits = await forward([token]);
      }
      if (finishReason !== 'stop' || stopString === undefined) {
        pending += decoder.flush();
        const stop = findStop(pending, o.stops);
        if (stop) {
          pending = pending.slice(0, stop.at);
          stopString = stop.stop;
          finishReason = 'stop';
        }
      }
      if (pending.length > 0) {
        text += pending;
        yield { text: pending, tokens: unsent };
      }
      completed = true;
    } catch (e) {
      settle.reject(e);
      throw e;
    } finally {
      disposeAll(cache);
      const end = performance.now();
      const decodeMs = end - firstTokenAt;
      const tokens = finishReason === 'stop' && stopString === undefined ? generated.slice(0, -1) : generated;
      settle.resolve({
        text,
        tokens,
        // A consumer that stops iterating early cancels the request.
        finishReason: completed ? finishReason : 'abort',
        ...(stopString === undefined ? {} : { stopString }),
        stats: {
          promptTokens: ids.length,
          generatedTokens: generated.length,
          timeToFirstTokenMs: generated.length > 0 ? firstTokenAt - start : end - start,
          prefillTokensPerSecond: prefillMs > 0 ? (ids.length * 1000) / prefillMs : 0,
          decodeTokensPerSecond: generated.length > 1 && decodeMs > 0 ? ((generated.length - 1) * 1000) / decodeMs : 0,
          peakMemoryBytes: peak,
          seed: sampler.seed,
        },
      });
    }
  }
}

function disposeAll(cache: readonly LayerCache[]): void {
  for (const c of cache) c.dispose();
}
