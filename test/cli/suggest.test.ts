import { describe, expect, it } from 'vitest';
import { formatSuggestions, suggest } from '../../cli/suggest.js';

describe('suggest', () => {
  const namespaces = ['lora', 'lora-finetuning-mlx', 'compression', 'model-compression-mlx', 'style-transfer'];

  it('finds a longer name the input is a prefix of, and a shorter one that prefixes the input', () => {
    expect(suggest('lora-finetuning', namespaces)).toEqual(['lora-finetuning-mlx', 'lora']);
  });

  it('ranks small edits first: a swap of adjacent letters costs one', () => {
    // 'compresison' is one transposition from 'compression'.
    expect(suggest('compresison', namespaces)[0]).toBe('compression');
    expect(suggest('infp', ['info', 'doctor', 'help'])).toEqual(['info']);
  });

  it('offers nothing for an unrelated word, an empty input, or the exact name', () => {
    expect(suggest('quux', namespaces)).toEqual([]);
    expect(suggest('', namespaces)).toEqual([]);
    expect(suggest('lora', ['lora'])).toEqual([]);
  });

  it('caps the number of suggestions', () => {
    expect(suggest('ab', ['abc', 'abd', 'abe', 'abf'], 2)).toHaveLength(2);
  });

  it('formats for appending to a message', () => {
    expect(formatSuggestions(['a', 'b'])).toBe(' Did you mean: a, b?');
    expect(formatSuggestions([])).toBe('');
  });
});
