import { describe, expect, it } from 'vitest';
import { gflops, median, percentile, summarize } from '../../bench/stats.js';

describe('summarize', () => {
  it('matches hand-computed statistics of [4, 1, 3, 2]', () => {
    // sorted 1 2 3 4; mean 2.5; squared deviations 2.25+0.25+0.25+2.25 = 5; sample variance 5/3.
    const s = summarize([4, 1, 3, 2]);
    expect(s.n).toBe(4);
    expect(s.median).toBe(2.5);
    expect(s.min).toBe(1);
    expect(s.max).toBe(4);
    expect(s.mean).toBe(2.5);
    // p90 position (4 − 1)·0.9 = 2.7: 3 + 0.7·(4 − 3).
    expect(s.p90).toBeCloseTo(3.7, 12);
    expect(s.stddev).toBeCloseTo(Math.sqrt(5 / 3), 12);
  });

  it('takes the middle value of an odd count and is order-independent', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(summarize([10, 30, 20, 50, 40]).median).toBe(30);
    // p90 of 10..50: position 4·0.9 = 3.6 → 40 + 0.6·10.
    expect(percentile([50, 10, 40, 20, 30], 90)).toBeCloseTo(46, 12);
    expect(percentile([50, 10, 40, 20, 30], 0)).toBe(10);
    expect(percentile([50, 10, 40, 20, 30], 100)).toBe(50);
  });

  it('gives a single sample as every statistic with zero spread', () => {
    const s = summarize([7]);
    expect([s.median, s.min, s.max, s.mean, s.p90]).toEqual([7, 7, 7, 7, 7]);
    expect(s.stddev).toBe(0);
  });

  it('rejects empty and non-finite samples with a message', () => {
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => summarize([1, Number.NaN])).toThrow(/not a finite number/);
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
  });
});

describe('gflops', () => {
  it('is FLOPs per nanosecond of the median', () => {
    // 2·1024³ FLOPs in 10 ms = 214.748… GFLOP/s.
    expect(gflops(2 * 1024 ** 3, 10)).toBeCloseTo(214.7483648, 6);
    expect(gflops(null, 10)).toBeNull();
    expect(gflops(100, 0)).toBeNull();
  });
});
