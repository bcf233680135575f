/**
 * stories260K against its published behaviour (../shared/README.md): after "Once upon a time" the next token
 * is "," with p ≈ 0.969 (" there" ≈ 0.029), and greedy decoding continues ", there was a little girl named
 * Lily. She loved to play outside in the park." — from the llama2.c checkpoint and from the Hugging Face
 * folder (the same weights with q/k permuted for half-split RoPE), on every backend. The two loaders give the
 * same logits, and every backend's logits match js's (a conformance check of the whole model).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import { TextGenerator } from '../../../models/llama/generate.js';
import { type LoadedLanguageModel, loadLanguageModel } from '../../../node/models/language-model.js';
import { backendSkipReason, titled } from '../../helpers/requirements.js';

const PROMPT = 'Once upon a time';
const CONTINUATION = ', there was a little girl named Lily. She loved to play outside in the park.';
/** Tokens of CONTINUATION as greedy decoding produces them (27 tokens). */
const CONTINUATION_TOKENS = 27;
/** Every backend, each with the reason it cannot run here (null: it runs). */
const backends = await Promise.all(T.BACKEND_NAMES.map(async (b) => [b, await backendSkipReason(b)] as const));
const MODELS = ['stories260K', 'stories260K-hf'] as const;

async function logits(lm: LoadedLanguageModel, text: string): Promise<Float32Array> {
  const ids = lm.tokenizer.encode(text);
  const out = T.tidy(() => lm.model.forward(T.tensor([ids], [1, ids.length], 'i32')));
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

describe('stories260K: the known facts', () => {
  const loaded: Partial<Record<(typeof MODELS)[number], LoadedLanguageModel>> = {};
  beforeAll(async () => {
    await T.setBackend('js');
    for (const name of MODELS) loaded[name] = await loadLanguageModel(name);
  });
  afterAll(() => {
    for (const lm of Object.values(loaded)) lm?.dispose();
  });

  it.each(MODELS)('%s: p(",") ≈ 0.969 and p(" there") ≈ 0.029 after "Once upon a time"', async (name) => {
    const lm = loaded[name]!;
    const all = await logits(lm, PROMPT);
    const last = all.subarray(all.length - 512);
    const max = Math.max(...last);
    const z = last.reduce((s, v) => s + Math.exp(v - max), 0);
    const p = (id: number) => Math.exp(last[id] - max) / z;
    const [comma] = lm.tokenizer.encode(',', { addSpecialTokens: false }).slice(-1);
    const there = lm.tokenizer.encode('Once upon a time there', { addSpecialTokens: false }).at(-1)!;
    expect(lm.tokenizer.decode([comma])).toBe(',');
    expect(p(comma)).toBeCloseTo(0.969, 3);
    expect(p(there)).toBeCloseTo(0.029, 3);
  });

  it('the llama2.c file and the Hugging Face folder give the same logits (≤ 1e-5)', async () => {
    const text = `${PROMPT}${CONTINUATION}`;
    const a = await logits(loaded.stories260K!, text);
    const b = await logits(loaded['stories260K-hf']!, text);
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

/** The js backend's greedy tokens from the llama2.c file, computed once. */
let reference: Promise<readonly number[]> | undefined;
function referenceTokens(): Promise<readonly number[]> {
  reference ??= (async () => {
    await T.setBackend('js');
    const lm = await loadLanguageModel('stories260K');
    const r = await new TextGenerator(lm.model, lm.tokenizer)
      .generate(PROMPT, { maxTokens: CONTINUATION_TOKENS })
      .complete();
    lm.dispose();
    expect(r.text).toBe(CONTINUATION);
    return r.tokens;
  })();
  return reference;
}

describe.each(backends)('stories260K on %s', (backend, skip) => {
  if (skip) {
    it.skip(titled(`stories260K on ${backend}`, skip), () => {});
    return;
  }
  afterAll(async () => {
    await T.setBackend('js');
  });

  it.each(MODELS)(`%s: greedy decoding reproduces the known continuation, token for token`, async (name) => {
    const want = await referenceTokens();
    await T.setBackend(backend);
    const lm = await loadLanguageModel(name);
    const got = await new TextGenerator(lm.model, lm.tokenizer)
      .generate(PROMPT, { maxTokens: CONTINUATION_TOKENS })
      .complete();
    expect(got.tokens).toEqual(want);
    expect(got.text).toBe(CONTINUATION);
    expect(got.finishReason).toBe('length');
    lm.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it.skipIf(backend === 'js')('the whole model gives js logits on a 48-token prompt (conformance)', async () => {
    const text = `${PROMPT}${CONTINUATION} One day, she saw a big red ball in the grass.`;
    await T.setBackend('js');
    const ref = await loadLanguageModel('stories260K-hf');
    const want = await logits(ref, text);
    ref.dispose();
    await T.setBackend(backend);
    const lm = await loadLanguageModel('stories260K-hf');
    const got = await logits(lm, text);
    lm.dispose();
    expect(got.length).toBe(want.length);
    expect(got.length / 512).toBeGreaterThanOrEqual(40);
    let spread = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      spread = Math.max(spread, Math.abs(want[i]));
      worst = Math.max(worst, Math.abs(got[i] - want[i]));
    }
    expect(worst / spread).toBeLessThan(2e-5);
    expect(T.memory().tensors).toBe(0);
  });
});
