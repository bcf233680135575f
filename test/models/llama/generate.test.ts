/**
 * The generation engine on stories260K (greedy continuation known: ", there was a little girl named Lily. She
 * loved to play outside in the park."): streaming, stop strings, end-of-sequence, limits, cancellation, chat
 * prompts, the rotating cache past the context length, statistics — and no tensor left behind after a
 * thousand requests of every kind on a tiny model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import { parseLlama2c } from '../../../core/io/llama2c.js';
import { Llama2cTokenizer, parseLlama2cVocab } from '../../../core/text/llama2c-tokenizer.js';
import * as T from '../../../index.js';
import { type GenerationChunk, type GenerationResult, TextGenerator } from '../../../models/llama/generate.js';
import { llamaFromLlama2c } from '../../../models/llama/load.js';
import type { LlamaModel } from '../../../models/llama/model.js';
import { type LoadedLanguageModel, loadLanguageModel } from '../../../node/models/language-model.js';
import { randomWeights, writeLlama2c } from '../../helpers/llama-files.js';
import { modelsDir } from '../../helpers/model-files.js';

const PROMPT = 'Once upon a time';
const KNOWN = ', there was a little girl named Lily. She loved to play outside in the park.';

async function collect(generation: AsyncIterable<GenerationChunk> & { result: Promise<GenerationResult> }) {
  const chunks: GenerationChunk[] = [];
  for await (const c of generation) chunks.push(c);
  return { chunks, result: await generation.result };
}

describe('TextGenerator on stories260K', () => {
  let lm: LoadedLanguageModel;
  let hf: LoadedLanguageModel;
  let generator: TextGenerator;
  beforeAll(async () => {
    await T.setBackend('js');
    lm = await loadLanguageModel('stories260K');
    hf = await loadLanguageModel('stories260K-hf');
    generator = new TextGenerator(lm.model, lm.tokenizer);
  });
  afterAll(() => {
    lm.dispose();
    hf.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('lets timers and I/O run between tokens (a server stays responsive, Ctrl-C is seen)', async () => {
    // On CPU backends every await of a token settles as a microtask; without a macrotask yield per token
    // a timer set before the request could not fire until the whole generation ended.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let ticksAtFirstChunk = -1;
    let chunks = 0;
    try {
      for await (const _ of generator.generate(PROMPT, { maxTokens: 30 })) {
        if (chunks++ === 0) ticksAtFirstChunk = ticks;
      }
    } finally {
      clearInterval(timer);
    }
    expect(chunks).toBeGreaterThan(5);
    expect(ticks).toBeGreaterThan(ticksAtFirstChunk);
  });

  it('streams non-empty chunks that add up to the result, with statistics', async () => {
    const { chunks, result } = await collect(generator.generate(PROMPT, { maxTokens: 40 }));
    expect(chunks.every((c) => c.text.length > 0)).toBe(true);
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
    expect(chunks.flatMap((c) => c.tokens)).toEqual(result.tokens);
    expect(result.text.startsWith(KNOWN)).toBe(true);
    expect(result.finishReason).toBe('length');
    const s = result.stats;
    expect(s).toMatchObject({ promptTokens: 5, generatedTokens: 40 });
    expect(s.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(s.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(s.decodeTokensPerSecond).toBeGreaterThan(0);
    // At least the weights (260K parameters, f32) were alive during the request.
    expect(s.peakMemoryBytes).toBeGreaterThan(260_000 * 4);
    expect(T.memory().bytes).toBeLessThan(s.peakMemoryBytes);
  });

  it('stops before a stop string, and never streams any part of it', async () => {
    const { chunks, result } = await collect(generator.generate(PROMPT, { maxTokens: 40, stop: ['Lily', 'zzz'] }));
    expect(result.text).toBe(', there was a little girl named ');
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
    expect(result).toMatchObject({ finishReason: 'stop', stopString: 'Lily' });
    // A stop string spread over several tokens ("L", "ily"...) is held back until it is decided.
    const spread = await generator.generate(PROMPT, { maxTokens: 40, stop: [' named Lily. She'] }).complete();
    expect(spread.text).toBe(', there was a little girl');
  });

  it('ends at an end-of-sequence token, which is counted but not returned', async () => {
    const [little] = lm.tokenizer.encode(' little', { addSpecialTokens: false }).slice(-1);
    const eosAtLittle = new TextGenerator(lm.model, lm.tokenizer, { eosTokenIds: [little] });
    const r = await eosAtLittle.generate(PROMPT, { maxTokens: 40 }).complete();
    expect(r.text).toBe(', there was a');
    expect(r.finishReason).toBe('stop');
    expect(r.stopString).toBeUndefined();
    expect(r.stats.generatedTokens).toBe(r.tokens.length + 1);
    const ignored = await eosAtLittle.generate(PROMPT, { maxTokens: 10, ignoreEos: true }).complete();
    expect(ignored.text).toBe(', there was a little girl named Lily');
  });

  it('stops when aborted, and when its consumer stops iterating; either frees everything', async () => {
    const before = T.memory().tensors;
    const controller = new AbortController();
    const g = generator.generate(PROMPT, { maxTokens: 200, signal: controller.signal });
    let n = 0;
    for await (const _ of g) if (++n === 3) controller.abort();
    const aborted = await g.result;
    expect(aborted.finishReason).toBe('abort');
    expect(aborted.stats.generatedTokens).toBeLessThan(10);
    expect(T.memory().tensors).toBe(before);

    const g2 = generator.generate(PROMPT, { maxTokens: 200 });
    for await (const _ of g2) break;
    expect((await g2.result).finishReason).toBe('abort');
    expect(T.memory().tensors).toBe(before);
    // An already aborted signal generates nothing.
    const none = await generator.generate(PROMPT, { signal: AbortSignal.abort() }).complete();
    expect(none).toMatchObject({ text: '', finishReason: 'abort' });
  });

  it('samples reproducibly with a seed', async () => {
    const options = { maxTokens: 30, temperature: 1, topP: 0.9, seed: 42 };
    const a = await generator.generate(PROMPT, options).complete();
    const b = await generator.generate(PROMPT, options).complete();
    const c = await generator.generate(PROMPT, { ...options, seed: 43 }).complete();
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
    expect(a.stats.seed).toBe(42);
  });

  it('renders chat prompts with the tokenizer chat template', async () => {
    const chat = new TextGenerator(hf.model, hf.tokenizer, { chatTemplate: hf.chatTemplate });
    const messages = [{ role: 'user', content: 'Tell me a story' }];
    expect(chat.promptTokens({ messages })).toEqual(hf.tokenizer.encode('User: Tell me a story\nAssistant:'));
    const r = await chat.generate({ messages }, { maxTokens: 5 }).complete();
    expect(r.stats.promptTokens).toBe(chat.promptTokens({ messages }).length);
    expect(() => generator.generate({ messages })).toThrow(/no chat template/);
  });

  it.each([
    [{ maxTokens: 0 }, /max tokens 0/],
    [{ prefillStepSize: 0 }, /prefill step size 0/],
    [{ topP: 2 }, /top-p 2/],
  ])('rejects bad options before running: %o', (options, pattern) => {
    expect(() => generator.generate(PROMPT, options)).toThrow(pattern);
  });

  it('rejects token ids outside the vocabulary and empty prompts', () => {
    expect(() => generator.generate([1, 512])).toThrow(/prompt token 512 is not a token id \(0\.\.511\)/);
    expect(() => generator.generate([])).toThrow(/prompt is empty/);
  });
});

/** A one-layer random model with stories260K's vocabulary and a 64-position context. */
async function tinyGenerator(): Promise<TextGenerator> {
  const shape = { hidden: 8, intermediate: 8, layers: 1, heads: 2, kvHeads: 1, vocab: 512 };
  const model = await llamaFromLlama2c(
    'tiny.bin',
    parseLlama2c('tiny.bin', writeLlama2c(shape, randomWeights(shape), 1, 64).bytes),
  );
  const bin = readFileSync(join(modelsDir, 'stories260K', 'tok512.bin'));
  return new TextGenerator(model, new Llama2cTokenizer(parseLlama2cVocab('tok512.bin', bin, 512)));
}

describe('TextGenerator at the context length', () => {
  it('refuses a prompt longer than the context, and runs it with a rotating cache', async () => {
    await T.setBackend('js');
    const generator = await tinyGenerator();
    const long = Array.from({ length: 100 }, (_, i) => 3 + i);
    expect(() => generator.generate(long)).toThrow(/prompt has 100 tokens, but the model's context length is 64/);
    const r = await generator.generate(long, { maxTokens: 4, maxKvSize: 16, prefillStepSize: 40 }).complete();
    expect(r.stats).toMatchObject({ promptTokens: 100, generatedTokens: 4 });
    expect(r.finishReason).toBe('length');
    generator.model.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('stops at the context length with finish reason "length"', async () => {
    await T.setBackend('js');
    const generator = await tinyGenerator();
    const r = await generator.generate(new Array(60).fill(5), { maxTokens: 100, ignoreEos: true }).complete();
    expect(r.finishReason).toBe('length');
    // 60 prompt positions + 4 generated fill the 64; the fifth token needs no position of its own.
    expect(r.stats.generatedTokens).toBe(5);
    generator.model.dispose();
    expect(T.memory().tensors).toBe(0);
  });
});

describe('TextGenerator resources', () => {
  it('leaks no tensor across 1000 requests (finished, stopped, aborted, abandoned, failed)', async () => {
    await T.setBackend('js');
    const generator = await tinyGenerator();
    const model = generator.model as LlamaModel;
    const baseline = T.memory();
    let aborted = 0;
    let errors = 0;
    for (let i = 0; i < 1000; i++) {
      const kind = i % 5;
      const controller = new AbortController();
      const g = generator.generate([1, 3 + (i % 300), 7], {
        maxTokens: 3,
        temperature: kind === 1 ? 1 : 0,
        seed: i,
        stop: kind === 2 ? ['e'] : undefined,
        signal: controller.signal,
        maxKvSize: kind === 3 ? 4 : undefined,
      });
      if (kind === 4) {
        // Abandon after the first chunk, or abort: both end the request early.
        for await (const _ of g) {
          if (i % 2) controller.abort();
          else break;
        }
      } else await g.complete();
      const r = await g.result;
      if (r.finishReason === 'abort') aborted++;
    }
    // A request that fails mid-way: a forward pass on a disposed weight throws.
    const broken = new TextGenerator(model, generator.tokenizer);
    model.weights.norm.dispose();
    await expect(broken.generate([1, 5]).complete()).rejects.toThrow(/disposed/);
    errors++;
    expect(aborted).toBeGreaterThan(100);
    expect(errors).toBe(1);
    const after = T.memory();
    expect(after.tensors).toBe(baseline.tensors - 1);
    model.dispose();
    expect(T.memory().tensors).toBe(0);
  });
});
