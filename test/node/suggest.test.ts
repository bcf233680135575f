import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../node/suggest.js';

describe('suggestions', () => {
  it('computes edit distances by hand-checked examples', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('rank', 'rnak')).toBe(1); // one transposition
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('suggests only close candidates', () => {
    expect(closest('rnak', ['rank', 'alpha'])).toBe('rank');
    expect(closest('learning-rate', ['learningRate', 'seed'])).toBe('learningRate');
    expect(closest('xyz', ['rank', 'alpha'])).toBeUndefined();
    expect(didYouMean('sed', ['seed'])).toBe(' (did you mean "seed"?)');
    expect(didYouMean('zzzz', ['seed'])).toBe('');
  });
});
