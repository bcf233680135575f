/**
 * The sampler against mlx-lm's definitions, worked by hand on a four-token distribution
 * p = [0.5, 0.3, 0.15, 0.05], and against the frequencies of many seeded draws.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../core/errors.js';
import { Sampler, type SamplingOptions } from '../../../models/llama/sample.js';

const P = [0.5, 0.3, 0.15, 0.05];
/** Logits with softmax = P (shifted, which changes nothing). */
const LOGITS = Float32Array.from(P, (p) => Math.log(p) + 3);

function frequencies(options: SamplingOptions, draws = 4000, logits = LOGITS): number[] {
  const sampler = new Sampler({ seed: 7, ...options });
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.sample(logits, [])]++;
  return counts.map((c) => c / draws);
}

/** Each frequency within 4 standard errors of its expected probability. */
function expectDistribution(got: number[], want: number[], draws = 4000): void {
  want.forEach((p, i) => {
    const se = Math.sqrt((p * (1 - p)) / draws) + 1e-9;
    expect(Math.abs(got[i] - p)).toBeLessThanOrEqual(4 * se);
  });
}

describe('Sampler', () => {
  it('is greedy at temperature 0 (the default), ties to the lower id', () => {
    expect(new Sampler().sample(LOGITS, [])).toBe(0);
    expect(new Sampler().sample(Float32Array.of(1, 5, 5, 2), [])).toBe(1);
  });

  it('draws in proportion to the probabilities at temperature 1', () => {
    expectDistribution(frequencies({ temperature: 1 }), P);
  });

  it('sharpens and flattens with the temperature: p^(1/T), renormalised', () => {
    const at = (t: number) => {
      const w = P.map((p) => p ** (1 / t));
      const z = w.reduce((a, b) => a + b, 0);
      return w.map((x) => x / z);
    };
    expectDistribution(frequencies({ temperature: 2 }), at(2));
    expectDistribution(frequencies({ temperature: 0.5 }), at(0.5));
  });

  it('top-p keeps the likeliest tokens whose mass passes p (0.7 keeps 0.5 and 0.3)', () => {
    expectDistribution(frequencies({ temperature: 1, topP: 0.7 }), [0.625, 0.375, 0, 0]);
    // 0.85 needs the third token too: ascending cumulative sums 0.05, 0.2, 0.5, 1 exceed 0.15 from the third on.
    expectDistribution(frequencies({ temperature: 1, topP: 0.85 }), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]);
  });

  it('min-p drops tokens below min_p × the top probability (0.4 → threshold 0.2)', () => {
    expectDistribution(frequencies({ temperature: 1, minP: 0.4 }), [0.625, 0.375, 0, 0]);
    // minTokensToKeep keeps the top three even so.
    expectDistribution(frequencies({ temperature: 1, minP: 0.9, minTokensToKeep: 3 }), [
      0.5 / 0.95,
      0.3 / 0.95,
      0.15 / 0.95,
      0,
    ]);
  });

  it('top-k keeps the k likeliest; k = 1 is greedy at any temperature', () => {
    expectDistribution(frequencies({ temperature: 1, topK: 2 }), [0.625, 0.375, 0, 0]);
    expect(frequencies({ temperature: 5, topK: 1 }, 200)).toEqual([1, 0, 0, 0]);
  });

  it('the repetition penalty divides positive logits and multiplies negative ones, over the last 20 tokens', () => {
    const logits = Float32Array.of(2, 1.9, -1, -1.05);
    // Token 0 was seen: 2 / 1.5 = 1.33 < 1.9, so greedy now picks token 1.
    expect(new Sampler({ repetitionPenalty: 1.5 }).sample(logits, [0])).toBe(1);
    // Token 0 seen, but 21 tokens ago: out of the context window.
    expect(new Sampler({ repetitionPenalty: 1.5 }).sample(logits, [0, ...new Array(20).fill(3)])).toBe(0);
    // Negative: −1 × 1.5 = −1.5 < −1.05, so among tokens 2 and 3 the unseen one wins.
    expect(new Sampler({ repetitionPenalty: 1.5 }).sample(Float32Array.of(-5, -5, -1, -1.05), [2])).toBe(3);
    // A smaller context forgets sooner.
    expect(new Sampler({ repetitionPenalty: 1.5, repetitionContextSize: 1 }).sample(logits, [0, 3])).toBe(0);
  });

  it('gives the same draws for the same seed, others for another, and reports a random seed it chose', () => {
    const draw = (seed?: number) => {
      const s = new Sampler({ temperature: 1, seed });
      return { seed: s.seed, tokens: Array.from({ length: 50 }, () => s.sample(LOGITS, [])) };
    };
    expect(draw(11).tokens).toEqual(draw(11).tokens);
    expect(draw(11).tokens).not.toEqual(draw(12).tokens);
    const random = draw();
    expect(draw(random.seed).tokens).toEqual(random.tokens);
  });

  it.each<[SamplingOptions, RegExp]>([
    [{ temperature: -1 }, /temperature -1/],
    [{ topP: 1.5 }, /top-p 1.5/],
    [{ topK: 2.5 }, /top-k 2.5/],
    [{ minP: -0.1 }, /min-p -0.1/],
    [{ repetitionPenalty: 0 }, /repetition penalty 0/],
    [{ seed: 1.5 }, /seed 1.5/],
  ])('rejects %o', (options, pattern) => {
    expect(() => new Sampler(options)).toThrow(UsageError);
    expect(() => new Sampler(options)).toThrow(pattern);
  });
});
