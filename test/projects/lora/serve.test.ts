/**
 * The OpenAI-compatible server, in process on a free port with stories260K-hf, driven by the official `openai`
 * client. The oracle is the generation engine itself: greedy (or seeded) output for the same prompt and options
 * must come back token for token, plus the known continuation of "Once upon a time" (../shared/README.md).
 * Error cases go through raw HTTP, from the table below.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import { type GenerateOptions, type Prompt, TextGenerator } from '../../../models/llama/generate.js';
import { type LoadedLanguageModel, loadLanguageModel } from '../../../node/models/language-model.js';
import { type RunningServer, type StartOptions, start } from '../../../projects/lora/serve/server.js';

const MODEL = 'stories260K-hf';
const STORY = ', there was a little girl named Lily. She loved to play outside in the park.';

let lm: LoadedLanguageModel;
let generator: TextGenerator;
/** Live tensors, and their bytes, with only the model loaded. */
let baseline: number;
let baselineBytes: number;
const servers: RunningServer[] = [];

async function serve(options: Omit<StartOptions, 'model'> = {}): Promise<RunningServer> {
  const server = await start({ model: lm, port: 0, ...options });
  servers.push(server);
  return server;
}

function clientFor(server: RunningServer, apiKey = 'unused'): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
}

/** What the engine itself generates: the oracle every answer is compared with. */
async function oracle(prompt: Prompt, options: GenerateOptions) {
  return generator.generate(prompt, options).complete();
}

interface Health {
  running: number;
  waiting: number;
  memory: { tensors: number; bytes: number };
}

async function health(server: RunningServer): Promise<Health> {
  return (await (await fetch(`${server.url}/health`)).json()) as Health;
}

/** Waits until the server has nothing running or queued (a cancelled generation ends at its next token). */
async function settled(server: RunningServer): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const h = await health(server);
    if (h.running === 0 && h.waiting === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the server did not settle');
}

beforeAll(async () => {
  // The fastest backend here: the server's behaviour does not depend on it, the test time does.
  await T.setBackend((await T.availableBackendNames()).includes('native') ? 'native' : 'js');
  lm = await loadLanguageModel(MODEL);
  generator = new TextGenerator(lm.model, lm.tokenizer, { chatTemplate: lm.chatTemplate });
  baseline = T.memory().tensors;
  baselineBytes = T.memory().bytes;
});

afterAll(async () => {
  for (const s of servers) await s.close();
  lm?.dispose();
  expect(T.memory().tensors).toBe(0);
});

describe('lora:serve with the openai client', () => {
  let server: RunningServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await serve();
    client = clientFor(server);
  });

  it('lists the model and answers /health', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    expect((await client.models.retrieve(MODEL)).id).toBe(MODEL);
    expect(await health(server)).toMatchObject({ running: 0, waiting: 0, memory: { tensors: baseline } });
  });

  it('completes text greedily as the engine does, with the known continuation and usage', async () => {
    const want = await oracle('Once upon a time', { maxTokens: 30 });
    const got = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 30 });
    expect(want.text.startsWith(STORY), want.text).toBe(true);
    expect(got.object).toBe('text_completion');
    expect(got.choices).toHaveLength(1);
    expect(got.choices[0].text).toBe(want.text);
    expect(got.choices[0].finish_reason).toBe('length');
    expect(got.usage).toEqual({ prompt_tokens: 5, completion_tokens: 30, total_tokens: 35 });
    expect(got.model).toBe(MODEL);
    expect(got.id).toMatch(/^cmpl-/);
  });

  it('streams a text completion: the chunks join to the engine output, then finish_reason and usage', async () => {
    const want = await oracle('Once upon a time', { maxTokens: 20 });
    const stream = await client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.text;
        finishes.push(c.finish_reason);
      }
    }
    expect(text).toBe(want.text);
    expect(finishes.at(-1)).toBe('length');
    expect(finishes.slice(0, -1).every((f) => f === null)).toBe(true);
    expect(finishes.length).toBeGreaterThan(2);
    expect(usage).toEqual({ prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 });
  });

  it("chats through the model's chat template, whole and streamed", async () => {
    const messages = [
      { role: 'system' as const, content: 'You tell stories.' },
      { role: 'user' as const, content: 'Tell me about a cat.' },
    ];
    const want = await oracle({ messages }, { maxTokens: 16 });
    const whole = await client.chat.completions.create({ model: MODEL, messages, max_completion_tokens: 16 });
    expect(whole.object).toBe('chat.completion');
    expect(whole.choices[0].message).toMatchObject({ role: 'assistant', content: want.text });
    expect(whole.choices[0].finish_reason).toBe('length');
    expect(whole.usage?.prompt_tokens).toBe(want.stats.promptTokens);
    expect(whole.usage?.completion_tokens).toBe(16);

    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 16, stream: true });
    let content = '';
    const roles: (string | undefined)[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      roles.push(chunk.choices[0].delta.role);
      content += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    expect(roles[0]).toBe('assistant');
    expect(content).toBe(want.text);
    expect(finish).toBe('length');
  });

  it('stops at a stop string (finish_reason stop) and repeats a seeded sample', async () => {
    const full = await oracle('Once upon a time', { maxTokens: 24 });
    const got = await client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 24,
      stop: [' named', 'zzz'],
    });
    expect(got.choices[0].text).toBe(full.text.slice(0, full.text.indexOf(' named')));
    expect(got.choices[0].finish_reason).toBe('stop');

    const sampling = { temperature: 1, top_p: 0.9, seed: 7, max_tokens: 16 };
    const want = await oracle('Once upon a time', { temperature: 1, topP: 0.9, seed: 7, maxTokens: 16 });
    const a = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', ...sampling });
    const b = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', ...sampling });
    expect(a.choices[0].text).toBe(want.text);
    expect(b.choices[0].text).toBe(want.text);
    expect(want.text).not.toBe(full.text.slice(0, want.text.length));
  });

  it('reports errors through the client as typed errors', async () => {
    await expect(client.completions.create({ model: 'gpt-4', prompt: 'x', max_tokens: 1 })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    await expect(client.chat.completions.create({ model: MODEL, messages: [], max_tokens: 1 })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });
});

interface BadRequest {
  readonly name: string;
  readonly path?: string;
  readonly method?: string;
  /** A string goes as it is; anything else as JSON. */
  readonly body?: unknown;
  readonly status: number;
  readonly code: string | null;
  readonly param?: string | null;
}

const chat = (extra: Record<string, unknown>) => ({ messages: [{ role: 'user', content: 'hi' }], ...extra });
const text = (extra: Record<string, unknown>) => ({ prompt: 'hi', ...extra });

/** Requests the server must refuse, and how: status, OpenAI error code and the parameter named. */
const BAD_REQUESTS: readonly BadRequest[] = [
  { name: 'malformed JSON', body: '{"prompt": "hi",', status: 400, code: 'invalid_json', param: null },
  { name: 'a JSON array as body', body: '[1, 2]', status: 400, code: 'invalid_type', param: null },
  { name: 'an empty body', body: '', status: 400, code: 'invalid_json', param: null },
  { name: 'unknown field', body: text({ foo: 1 }), status: 400, code: 'unknown_parameter', param: 'foo' },
  {
    name: 'unknown field in a message',
    path: '/v1/chat/completions',
    body: { messages: [{ role: 'user', content: 'hi', mood: 'happy' }] },
    status: 400,
    code: 'unknown_parameter',
    param: 'messages[0].mood',
  },
  { name: 'missing prompt', body: { max_tokens: 4 }, status: 400, code: 'missing_required_parameter', param: 'prompt' },
  {
    name: 'missing messages',
    path: '/v1/chat/completions',
    body: { max_tokens: 4 },
    status: 400,
    code: 'missing_required_parameter',
    param: 'messages',
  },
  {
    name: 'no messages',
    path: '/v1/chat/completions',
    body: chat({ messages: [] }),
    status: 400,
    code: 'invalid_value',
    param: 'messages',
  },
  {
    name: 'temperature as a string',
    body: text({ temperature: 'hot' }),
    status: 400,
    code: 'invalid_type',
    param: 'temperature',
  },
  {
    name: 'negative temperature',
    body: text({ temperature: -1 }),
    status: 400,
    code: 'invalid_value',
    param: 'temperature',
  },
  { name: 'top_p above 1', body: text({ top_p: 1.5 }), status: 400, code: 'invalid_value', param: 'top_p' },
  {
    name: 'fractional max_tokens',
    body: text({ max_tokens: 1.5 }),
    status: 400,
    code: 'invalid_type',
    param: 'max_tokens',
  },
  { name: 'max_tokens 0', body: text({ max_tokens: 0 }), status: 400, code: 'invalid_value', param: 'max_tokens' },
  {
    name: 'max_tokens over the cap',
    body: text({ max_tokens: 100_000 }),
    status: 400,
    code: 'invalid_value',
    param: 'max_tokens',
  },
  {
    name: 'max_completion_tokens over the cap',
    path: '/v1/chat/completions',
    body: chat({ max_completion_tokens: 513 }),
    status: 400,
    code: 'invalid_value',
    param: 'max_completion_tokens',
  },
  { name: 'seed as a string', body: text({ seed: 'one' }), status: 400, code: 'invalid_type', param: 'seed' },
  { name: 'stream as a string', body: text({ stream: 'yes' }), status: 400, code: 'invalid_type', param: 'stream' },
  {
    name: 'five stop strings',
    body: text({ stop: ['a', 'b', 'c', 'd', 'e'] }),
    status: 400,
    code: 'invalid_value',
    param: 'stop',
  },
  {
    name: 'stream_options without stream',
    body: text({ stream_options: { include_usage: true } }),
    status: 400,
    code: 'invalid_value',
    param: 'stream_options',
  },
  { name: 'unknown model', body: text({ model: 'gpt-4' }), status: 404, code: 'model_not_found', param: 'model' },
  { name: 'n above 1', body: text({ n: 2 }), status: 400, code: 'unsupported_value', param: 'n' },
  {
    name: 'presence_penalty',
    body: text({ presence_penalty: 0.5 }),
    status: 400,
    code: 'unsupported_value',
    param: 'presence_penalty',
  },
  {
    name: 'chat logprobs',
    path: '/v1/chat/completions',
    body: chat({ logprobs: true }),
    status: 400,
    code: 'unsupported_value',
    param: 'logprobs',
  },
  {
    name: 'tools',
    path: '/v1/chat/completions',
    body: chat({ tools: [{ type: 'function' }] }),
    status: 400,
    code: 'unsupported_value',
    param: 'tools',
  },
  { name: 'echo', body: text({ echo: true }), status: 400, code: 'unsupported_value', param: 'echo' },
  {
    name: 'a tool message',
    path: '/v1/chat/completions',
    body: { messages: [{ role: 'tool', content: 'x' }] },
    status: 400,
    code: 'invalid_value',
    param: 'messages[0].role',
  },
  {
    name: 'an image part',
    path: '/v1/chat/completions',
    body: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
    status: 400,
    code: 'invalid_value',
    param: 'messages[0].content',
  },
  { name: 'two prompts', body: text({ prompt: ['a', 'b'] }), status: 400, code: 'unsupported_value', param: 'prompt' },
  {
    name: 'a token id outside the vocabulary',
    body: text({ prompt: [1, 99_999] }),
    status: 400,
    code: 'invalid_value',
    param: 'prompt',
  },
  {
    name: 'a prompt past the context length',
    body: text({ prompt: 'Once upon a time '.repeat(200) }),
    status: 400,
    code: 'context_length_exceeded',
    param: 'prompt',
  },
  {
    name: 'a body over the limit',
    body: text({ prompt: 'x'.repeat(70_000) }),
    status: 413,
    code: 'request_too_large',
    param: null,
  },
  {
    name: 'an unknown route',
    path: '/v1/embeddings',
    body: { input: 'x' },
    status: 404,
    code: 'unknown_url',
    param: null,
  },
  {
    name: 'GET on a POST route',
    path: '/v1/completions',
    method: 'GET',
    status: 404,
    code: 'unknown_url',
    param: null,
  },
];

describe('lora:serve refuses bad requests in OpenAI error shape', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ bodyLimit: 64 * 1024 });
  });

  it.each(BAD_REQUESTS)('$name: $status $code', async (row) => {
    const method = row.method ?? 'POST';
    const response = await fetch(`${server.url}${row.path ?? '/v1/completions'}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: method === 'GET' ? undefined : typeof row.body === 'string' ? row.body : JSON.stringify(row.body),
    });
    expect(response.status).toBe(row.status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.code).toBe(row.code);
    if (row.param !== undefined) expect(body.error.param).toBe(row.param);
    expect(typeof body.error.message).toBe('string');
    expect((body.error.message as string).length).toBeGreaterThan(10);
  });

  it('still serves after all of them', async () => {
    const got = await clientFor(server).completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 3 });
    expect(got.choices[0].text).toBe((await oracle('Once upon a time', { maxTokens: 3 })).text);
    expect(await health(server)).toMatchObject({ running: 0, waiting: 0, memory: { tensors: baseline } });
  });
});

describe('lora:serve with --api-key', () => {
  it('needs Authorization: Bearer KEY on every request', async () => {
    const server = await serve({ apiKey: 'sk-test-key' });
    const noKey = await fetch(`${server.url}/v1/models`);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
    const health = await fetch(`${server.url}/health`, { headers: { authorization: 'Bearer wrong' } });
    expect(health.status).toBe(401);
    await expect(clientFor(server, 'wrong').models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const models = await clientFor(server, 'sk-test-key').models.list();
    expect(models.data[0].id).toBe(MODEL);
  });
});

describe('lora:serve shutting down', () => {
  it('close() lets the stream in flight finish, refuses new requests meanwhile, then resolves', async () => {
    const server = await start({ model: lm, port: 0 });
    const url = server.url;
    const want = await oracle('Once upon a time', { maxTokens: 24 });
    const stream = await clientFor(server).completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 24,
      stream: true,
    });
    let text = '';
    let finish: string | null = null;
    let closed: Promise<void> | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0].text;
      finish = chunk.choices[0].finish_reason ?? finish;
      if (!closed) {
        // The generation yields to the event loop after every token: it is still running here.
        closed = server.close();
        await expect(fetch(`${url}/health`)).rejects.toThrow();
      }
    }
    await closed;
    expect({ text, finish }).toEqual({ text: want.text, finish: 'length' });
    expect(T.memory().tensors).toBe(baseline);
  });

  it('close() past its drain time aborts the stream in flight with an error event and frees its cache', async () => {
    const server = await start({ model: lm, port: 0 });
    const stream = await clientFor(server).completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 400,
      stream: true,
    });
    let closed: Promise<void> | undefined;
    const read = (async () => {
      for await (const _ of stream) closed ??= server.close({ drainTimeoutMs: 50 });
    })();
    await expect(read).rejects.toThrow(/shutting down/);
    await closed;
    expect(T.memory().tensors).toBe(baseline);
  });
});

describe('lora:serve under load', () => {
  it('answers 429 with Retry-After when every slot and the queue are taken', async () => {
    const server = await serve({ maxConcurrency: 1, maxQueue: 1 });
    const client = clientFor(server);
    const controllers = [new AbortController(), new AbortController()];
    const busy = controllers.map((c) =>
      client.completions
        .create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 400, stream: true }, { signal: c.signal })
        .then(async (stream) => {
          for await (const _ of stream);
        })
        .catch((e: unknown) => e),
    );
    for (let h = await health(server), i = 0; h.running + h.waiting < 2; h = await health(server), i++) {
      if (i > 1000) throw new Error('the two requests never both reached the server');
      await new Promise((r) => setTimeout(r, 10));
    }
    const refused = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'hi', max_tokens: 1 }),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    for (const c of controllers) c.abort();
    await Promise.all(busy);
    await settled(server);
    expect(T.memory().tensors).toBe(baseline);
  });

  it('serves many parallel streams, cancelling some mid-stream: every finished answer is complete and nothing leaks', async () => {
    const server = await serve({ maxConcurrency: 3, maxQueue: 16 });
    const client = clientFor(server);
    const prompts = [
      'Once upon a time',
      'The dog',
      'Lily and Tom',
      'One day',
      'The sun was',
      'A little bird',
      'Mom said',
      'In the park',
    ];
    const maxTokens = 20;
    const wants = [];
    for (const p of prompts) wants.push(await oracle(p, { maxTokens }));
    // These ask for many tokens and are cancelled at their first chunk: they are still running then.
    const cancelled = new Set([1, 4, 6]);
    let peakTensors = 0;

    const runs = prompts.map(async (prompt, i) => {
      const controller = new AbortController();
      const stream = await client.completions.create(
        { model: MODEL, prompt, max_tokens: cancelled.has(i) ? 400 : maxTokens, stream: true },
        { signal: controller.signal },
      );
      let text = '';
      let finish: string | null = null;
      try {
        for await (const chunk of stream) {
          text += chunk.choices[0]?.text ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (cancelled.has(i) && text.length > 0) {
            peakTensors = Math.max(peakTensors, (await health(server)).memory.tensors);
            controller.abort();
          }
        }
      } catch (e) {
        if (!cancelled.has(i)) throw e;
      }
      return { text, finish };
    });
    const results = await Promise.all(runs);
    for (const [i, r] of results.entries()) {
      if (cancelled.has(i)) {
        expect(r.finish).toBeNull();
        // Both are the greedy continuation, cut at different lengths.
        expect(wants[i].text.startsWith(r.text) || r.text.startsWith(wants[i].text)).toBe(true);
      } else {
        expect(r).toEqual({ text: wants[i].text, finish: 'length' });
      }
    }
    // Cancelled generations held KV caches while they ran, and gave them back.
    expect(peakTensors).toBeGreaterThan(baseline);
    await settled(server);
    expect(T.memory()).toMatchObject({ tensors: baseline, bytes: baselineBytes });
  });
});
