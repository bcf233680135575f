/**
 * mlx-lm's training data (formats.md §3) on the bundled stories260K-hf tokenizer and its chat template:
 * the four formats, --mask-prompt offsets, mlx-lm's batching (sorting, padding to 1 + a multiple of 32,
 * truncation with a warning), the loss window, and errors that name the file and line. The oracle for the
 * chat formats is the template's text written out by hand (the template is `User: …\nAssistant: …</s>\n`).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatTemplate } from '../../../core/text/chat-template.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { BatchStream, batchIndices, evaluationBatches, padBatch } from '../../../projects/lora/data/batches.js';
import { type Dataset, datasetFromJsonl } from '../../../projects/lora/data/dataset.js';
import { loadSplits } from '../../../projects/lora/data/load.js';
import { resolveDataDir } from '../../../projects/lora/data/registry.js';
import { lossMask } from '../../../projects/lora/train/loss.js';
import { modelsDir, repoRoot } from '../../helpers/model-files.js';

const lm = await loadLanguageModel('stories260K-hf', { env: { EAI_MODELS_DIR: modelsDir } });
const { tokenizer } = lm;
const template = lm.chatTemplate!;
const enc = (s: string) => tokenizer.encode(s, { addSpecialTokens: false });
const EOS = tokenizer.eosIds[0];
const dir = await mkdtemp(join(tmpdir(), 'eai-lora-data-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const jsonl = (...records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n');
const load = (text: string, maskPrompt = false, maxSeqLength = 2048, tmpl: ChatTemplate | null = template) =>
  datasetFromJsonl('d/train.jsonl', text, tokenizer, tmpl, { maskPrompt, maxSeqLength });

describe('formats', () => {
  it('text: the encoding with BOS, EOS appended', () => {
    const d = load(jsonl({ text: 'Once upon a time' }, { text: 'Lily ran', extra: 1 }));
    expect(d.format).toBe('text');
    expect(d.examples[0].ids).toEqual([...tokenizer.encode('Once upon a time'), EOS]);
    expect(d.examples[0].ids[0]).toBe(tokenizer.bosId ?? 1);
    expect(d.examples[1].line).toBe(2);
  });

  it('completions: the chat template of [user, assistant]; --mask-prompt starts after "Assistant:"', () => {
    const r = { prompt: 'Hi there', completion: 'Hello Lily' };
    const plain = load(jsonl(r));
    expect(plain.format).toBe('completions');
    expect(plain.examples[0]).toMatchObject({ offset: 0 });
    expect(plain.examples[0].ids).toEqual(enc('<s>User: Hi there\nAssistant: Hello Lily</s>\n'));
    const masked = load(jsonl(r), true).examples[0];
    expect(masked.ids).toEqual(plain.examples[0].ids);
    expect(masked.offset).toBe(enc('<s>User: Hi there\nAssistant:').length);
  });

  it('chat: only the last message is trained with --mask-prompt', () => {
    const messages = [
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ];
    const d = load(jsonl({ messages }), true);
    expect(d.format).toBe('chat');
    expect(d.examples[0].ids).toEqual(enc('<s>Be kind.\nUser: Hi\nAssistant: Hello</s>\n'));
    expect(d.examples[0].offset).toBe(enc('<s>Be kind.\nUser: Hi\nAssistant:').length);
  });

  it('tools: the record\'s "tools" and the assistant\'s tool_calls reach the template', () => {
    const tmpl = new ChatTemplate(
      '{% for t in tools %}[{{ t.function.name }}]{% endfor %}{% for m in messages %}' +
        '{% if m.tool_calls %}{% for c in m.tool_calls %}<call {{ c.function.name }}>{% endfor %}{% else %}{{ m.role }}: {{ m.content }}\n{% endif %}{% endfor %}',
      'tools.json',
      {},
    );
    const record = {
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }],
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          tool_calls: [{ id: '1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
      ],
    };
    const d = load(jsonl(record), false, 2048, tmpl);
    expect(d.examples[0].ids).toEqual(enc('[get_weather]user: Weather?\n<call get_weather>'));
  });

  it('custom feature names (prompt_feature, ...) as mlx-lm', () => {
    const d = datasetFromJsonl('f.jsonl', jsonl({ q: 'Hi', a: 'Yo' }), tokenizer, template, {
      maxSeqLength: 2048,
      keys: { prompt: 'q', completion: 'a', chat: 'messages', text: 'text' },
    });
    expect(d.examples[0].ids).toEqual(enc('<s>User: Hi\nAssistant: Yo</s>\n'));
  });
});

describe('errors name the file and the line', () => {
  it.each([
    ['malformed JSON', '{"text": "a"}\n{"text": ', /^d\/train\.jsonl:2: /],
    ['an empty file', '\n  \n', /^d\/train\.jsonl: no records/],
    ['no known keys', jsonl({ foo: 1 }), /^d\/train\.jsonl:1: a record needs "text".*found keys foo/],
    ['a missing key later', jsonl({ text: 'a b c' }, { txt: 'x' }), /^d\/train\.jsonl:2: "text" is missing/],
    ['a non-string text', jsonl({ text: 'a b c' }, { text: 5 }), /^d\/train\.jsonl:2: "text" must be a string/],
    ['bad messages', jsonl({ messages: [{ role: 'user' }] }), /^d\/train\.jsonl:1: messages\[0\] needs "content"/],
  ])('%s', (_, text, message) => {
    expect(() => load(text)).toThrow(message);
  });

  it('--mask-prompt on text records', () => {
    expect(() => load(jsonl({ text: 'a b' }), true)).toThrow(/--mask-prompt needs chat or completions/);
  });

  it('a template that fails', () => {
    const raising = new ChatTemplate("{{ raise_exception('no system role') }}", 'c.json', {});
    expect(() => load(jsonl({ prompt: 'a', completion: 'b' }), false, 2048, raising)).toThrow(
      /^d\/train\.jsonl:1: .*no system role/,
    );
  });

  it('a prompt longer than max_seq_length leaves nothing to train', () => {
    expect(() => load(jsonl({ prompt: 'Once upon a time there was', completion: 'x' }), true, 6)).toThrow(
      /^d\/train\.jsonl:1: with --mask-prompt nothing of this record is trained/,
    );
  });

  it('a missing split names the file; a known data set name resolves in the data folder', async () => {
    await writeFile(join(dir, 'train.jsonl'), jsonl({ text: 'a b c' }));
    await expect(loadSplits(dir, ['train', 'valid'], tokenizer, template, { maxSeqLength: 64 })).rejects.toThrow(
      `${join(dir, 'valid.jsonl')}: not found`,
    );
    const data = join(repoRoot, '..', 'shared', 'data');
    expect(resolveDataDir('wikisql', dir, { EAI_DATA_DIR: data })).toBe(join(data, 'wikisql'));
    expect(() => resolveDataDir('wikisq', dir, { EAI_DATA_DIR: data })).toThrow(/wikisql/);
    await mkdir(join(dir, 'sub'), { recursive: true });
    expect(resolveDataDir('sub', dir, {})).toBe(join(dir, 'sub'));
  });
});

describe("mlx-lm's batching", () => {
  const lengths = [5, 40, 3, 70, 33, 12, 8];
  const dataset: Dataset = {
    file: 'x.jsonl',
    format: 'text',
    examples: lengths.map((n, i) => ({ ids: Array.from({ length: n }, (_, j) => 10 + i + j), offset: 0, line: i + 1 })),
  };

  it('sorts by length, cuts batches of batch_size and drops the partial last one', () => {
    expect(batchIndices(dataset, 2)).toEqual([
      [2, 0],
      [6, 5],
      [4, 1],
    ]);
    expect(() => batchIndices(dataset, 8)).toThrow(/7 examples cannot fill one batch of 8/);
  });

  it('pads with 0 to 1 + 32·ceil(longest/32), capped at max_seq_length (truncating)', () => {
    const b = padBatch([dataset.examples[0], dataset.examples[4]], 2048);
    expect(b.width).toBe(65);
    expect(b.lengths).toEqual([5, 33]);
    expect(Array.from(b.ids.subarray(0, 6))).toEqual([10, 11, 12, 13, 14, 0]);
    expect(b.ids[65 + 32]).toBe(14 + 32);
    expect(padBatch([dataset.examples[2]], 2048).width).toBe(33);
    const cut = padBatch([dataset.examples[3]], 50);
    expect(cut.width).toBe(50);
    expect(cut.lengths).toEqual([50]);
    expect(cut.ids[49]).toBe(13 + 49);
  });

  it('warns once about records longer than max_seq_length, naming the longest', () => {
    const warnings: string[] = [];
    datasetFromJsonl('w.jsonl', jsonl({ text: 'a b c d e f g h i j k' }, { text: 'a' }), tokenizer, null, {
      maxSeqLength: 4,
      warn: (m) => warnings.push(m),
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^w\.jsonl: 1 record is longer than max_seq_length 4 .*line 1/);
  });

  it('a training stream visits every batch once per epoch, reproducibly from a saved position', () => {
    const s = new BatchStream(dataset, 2, 2048, 7);
    const epoch = [s.next(), s.next(), s.next()].map((b) => b.lengths.join());
    expect(epoch.sort()).toEqual(['3,5', '8,12', '33,40'].sort());
    expect(s.position).toEqual({ epoch: 1, index: 0 });
    const a = new BatchStream(dataset, 2, 2048, 7);
    a.next();
    const resumed = new BatchStream(dataset, 2, 2048, 7, a.position);
    for (let i = 0; i < 7; i++) expect(resumed.next().lengths).toEqual(a.next().lengths);
    expect(evaluationBatches(dataset, 2, 2048, 2).map((b) => b.lengths)).toEqual([
      [3, 5],
      [8, 12],
    ]);
  });

  it('the loss counts target positions offset ≤ s < length', () => {
    const b = padBatch([{ ids: [1, 2, 3, 4, 5], offset: 2, line: 1 }], 2048);
    const { mask, count } = lossMask(b);
    // targets s = 1..32; trained: s = 2, 3, 4 (predicting ids 3, 4, 5).
    expect(count).toBe(3);
    expect(Array.from(mask.subarray(0, 6))).toEqual([0, 1, 1, 1, 0, 0]);
  });
});
