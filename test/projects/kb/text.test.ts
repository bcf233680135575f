import { describe, expect, it } from 'vitest';
import { processTerm, stem, terms, tokenize } from '../../../projects/kb/analyzer.js';
import { plainHeading, readFrontMatter, splitSections } from '../../../projects/kb/markdown.js';

describe('kb analyzer', () => {
  it('joins the inflections of a word at one stem', () => {
    const forms = ['quantize', 'quantized', 'quantizes', 'quantizing', 'quantization', 'quantise', 'Quantization'];
    expect(new Set(forms.map((f) => processTerm(f)))).toEqual(new Set(['quant']));
    expect(stem('bits')).toBe(stem('bit'));
    expect(stem('images')).toBe(stem('image'));
    expect(stem('processes')).toBe(stem('process'));
  });

  it('keeps words whose ending only looks like a suffix', () => {
    expect(stem('loss')).toBe('loss');
    expect(stem('speed')).toBe('speed');
    expect(stem('use')).toBe('use');
    expect(stem('int8')).toBe('int8');
  });

  it('splits punctuation and letter-digit runs, so 4-bit, 4bit and "4 bit" share terms', () => {
    expect(tokenize('4-bit')).toEqual(['4', 'bit']);
    expect(tokenize('4bit int8')).toEqual(['4bit', '4', 'bit', 'int8', 'int', '8']);
    expect(tokenize('compression:quantize --group-size')).toEqual(['compression', 'quantize', 'group', 'size']);
    for (const t of ['4 bit', '4-bit', '4bit']) expect([...terms(t)]).toEqual(expect.arrayContaining(['4', 'bit']));
  });

  it('drops stop words', () => {
    expect(processTerm('The')).toBeNull();
    expect([...terms('what is the rank of a LoRA adapter')]).toEqual(['rank', 'lora', 'adapter']);
  });
});

describe('kb Markdown sections', () => {
  const doc = [
    'Intro text.', //  1
    '', //  2
    '# Title', //  3
    '', //  4
    '## Empty parent', //  5
    '### Child', //  6
    'child body', //  7
    '```sh', //  8
    '# not a heading', //  9
    '```', // 10
    '## Second **bold** `code` [link](x.md)', // 11
    '', // 12
    '<!-- bench:x:start -->', // 13
    'second body', // 14
  ].join('\n');

  it('cuts at headings outside code fences, with parents and the lines bodies start on', () => {
    const s = splitSections(doc, 'file.md');
    expect(s.map((x) => [x.heading, x.parents, x.line, x.bodyLine])).toEqual([
      ['file.md', [], 1, 1],
      ['Child', ['Title', 'Empty parent'], 6, 7],
      ['Second bold code link', ['Title'], 11, 14],
    ]);
    expect(s[1].body).toContain('# not a heading');
    expect(s[2].body).toBe('second body');
    const lines = doc.split('\n');
    for (const x of s) expect(lines[x.bodyLine - 1]).toBe(x.body.split('\n')[0]);
  });

  it('keeps underscores inside names but drops emphasis', () => {
    expect(plainHeading('`mobilenet_v2_1.0_224_quant.tflite`')).toBe('mobilenet_v2_1.0_224_quant.tflite');
    expect(plainHeading('*Fast* and __bold__ (_x_)')).toBe('Fast and bold (x)');
  });

  it('reads front matter and refuses a broken block, naming the file', () => {
    const fm = readFrontMatter('---\ntitle: Notes\ntags: [a, b]\n---\n\nBody\n', 'e.md');
    expect(fm.data).toEqual({ title: 'Notes', tags: ['a', 'b'] });
    expect(fm.bodyLine).toBe(5);
    expect(fm.body.trim()).toBe('Body');
    expect(readFrontMatter('# No front matter', 'e.md').data).toEqual({});
    expect(() => readFrontMatter('---\ntitle: x\n', 'e.md')).toThrow(/e\.md: .*never closed/);
    expect(() => readFrontMatter('---\n- a\n---\n', 'e.md')).toThrow(/e\.md: front matter must be a YAML mapping/);
    expect(() => readFrontMatter('---\ntitle: [x\n---\n', 'e.md')).toThrow(/e\.md: front matter is not valid YAML/);
  });
});
