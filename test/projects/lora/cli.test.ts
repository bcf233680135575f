/**
 * lora:generate and lora:perplexity through the CLI's main() (in process) on the bundled stories260K models:
 * the seed alias on its defaults, the known greedy continuation and perplexity (../shared/README.md), model
 * resolution (registry names, folders, llama2.c files and their tokenizers), and the usage errors.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelsDir, repoRoot } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-lora-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const VALID = join(repoRoot, '..', 'shared', 'data', 'tinystories', 'valid.txt');
const KNOWN = ', there was a little girl named Lily. She loved to play outside in the park.';

function cli(argv: string[]) {
  return runCli(argv, { cwd: dir, env: process.env });
}

describe('lora:generate', () => {
  it('runs the seed alias on the bundled defaults', async () => {
    const r = await cli(['lora-finetuning-mlx:generate', '--prompt', 'Hello world', '--max-tokens', '12']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().length).toBeGreaterThan(0);
    expect(r.err).toMatch(/prompt: \d+ tokens, .* generation: 12 tokens, .* finish: length/);
  });

  it('continues "Once upon a time" with the known text, as JSON', async () => {
    const r = await cli([
      'lora:generate',
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '27',
      '--backend',
      'js',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out);
    expect(result).toMatchObject({ model: 'stories260K', backend: 'js', text: KNOWN, finishReason: 'length' });
    expect(result.tokens).toHaveLength(27);
    expect(result.stats).toMatchObject({ promptTokens: 5, generatedTokens: 27 });
  });

  it('reads a model folder, renders --chat with --system, and samples reproducibly with --seed', async () => {
    const argv = ['lora:generate', '--model', join(modelsDir, 'stories260K-hf'), '--chat', '--system', 'Be kind.'];
    const sampling = [
      '--prompt',
      'Tell me a story',
      '--temp',
      '0.8',
      '--top-p',
      '0.9',
      '--seed',
      '5',
      '--max-tokens',
      '15',
      '--json',
    ];
    const a = await cli([...argv, ...sampling]);
    const b = await cli([...argv, ...sampling]);
    expect(a.code, a.err).toBe(0);
    expect(JSON.parse(a.out).tokens).toEqual(JSON.parse(b.out).tokens);
    // "<s>Be kind.\nUser: Tell me a story\nAssistant:" is 16 tokens: the template, not the bare prompt, was encoded.
    expect(JSON.parse(a.out).stats.promptTokens).toBeGreaterThan(10);
  });

  it('finds a llama2.c tokenizer beside the checkpoint, or takes --tokenizer', async () => {
    const lone = join(dir, 'lone');
    await mkdir(lone);
    await copyFile(join(modelsDir, 'stories260K', 'stories260K.bin'), join(lone, 'model.bin'));
    const missing = await cli(['lora:generate', '--model', 'lone/model.bin', '--max-tokens', '3']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(
      /model\.bin: no tokenizer beside it \(looked for .*tokenizer\.bin and .*tok512\.bin\); pass --tokenizer/,
    );
    const tok = join(modelsDir, 'stories260K', 'tok512.bin');
    const given = await cli([
      'lora:generate',
      '--model',
      'lone/model.bin',
      '--tokenizer',
      tok,
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '3',
    ]);
    expect(given.code, given.err).toBe(0);
    expect(given.out).toBe(', there was\n');
    await copyFile(tok, join(lone, 'tok512.bin'));
    expect((await cli(['lora:generate', '--model', 'lone/model.bin', '--max-tokens', '3'])).code).toBe(0);
  });

  it.each([
    [
      ['--model', 'stories26OK'],
      /--model stories26OK: no such file or folder, and not a language model .*\(did you mean "stories260K"\?\)/,
    ],
    [['--chat'], /--chat: .* has no chat template/],
    [['--system', 'x'], /--system needs --chat/],
    [['--top-p', '2'], /top-p/],
  ])('exits 2 with a clear message for %j', async (args, pattern) => {
    const r = await cli(['lora:generate', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(pattern);
  });

  it('stops on Ctrl-C with exit code 130', async () => {
    const r = await runCli(['lora:generate', '--max-tokens', '50'], {
      cwd: dir,
      env: process.env,
      signal: AbortSignal.abort(),
    });
    expect(r.code).toBe(130);
  });
});

describe('lora:perplexity', () => {
  it('gives the known figure on the first 100 TinyStories paragraphs: mean NLL 1.4317 over 9619 tokens', async () => {
    const r = await cli(['lora:perplexity', '--data', VALID, '--max-paragraphs', '100', '--json']);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out);
    expect(result).toMatchObject({ model: 'stories260K', sequences: 100, predictedTokens: 9619, truncated: 0 });
    expect(Math.abs(result.meanNll - 1.4317)).toBeLessThan(5e-5);
    expect(result.perplexity.toFixed(2)).toBe('4.19');
  });

  it('scores jsonl records as mlx-lm formats them (text gets EOS; chat formats need a template)', async () => {
    const paragraphs = ['Once upon a time, there was a cat.', 'The cat liked to play.'];
    await writeFile(join(dir, 'p.txt'), paragraphs.join('\n\n'));
    await writeFile(join(dir, 'p.jsonl'), paragraphs.map((text) => JSON.stringify({ text })).join('\n'));
    const text = JSON.parse((await cli(['lora:perplexity', '--data', 'p.txt', '--json'])).out);
    const jsonl = JSON.parse((await cli(['lora:perplexity', '--data', 'p.jsonl', '--json'])).out);
    // Each record predicts one more token than its paragraph: the EOS appended to it.
    expect(jsonl.predictedTokens).toBe(text.predictedTokens + 2);
    expect(jsonl.meanNll).not.toBeCloseTo(text.meanNll, 6);

    await writeFile(join(dir, 'c.jsonl'), `${JSON.stringify({ prompt: 'Hi', completion: 'Hello there.' })}\n`);
    const chat = await cli(['lora:perplexity', '--model', 'stories260K-hf', '--data', 'c.jsonl', '--json']);
    expect(chat.code, chat.err).toBe(0);
    expect(JSON.parse(chat.out).sequences).toBe(1);
    const noTemplate = await cli(['lora:perplexity', '--data', 'c.jsonl']);
    expect(noTemplate.code).toBe(2);
    expect(noTemplate.err).toMatch(
      /completions records are rendered with the tokenizer's chat template, and this model has none/,
    );
  });

  it.each([
    [[], /--data/],
    [['--data', 'nope.txt'], /--data .*nope\.txt: file not found/],
  ])('exits 2 for %j', async (args, pattern) => {
    await writeFile(join(dir, 'bad.jsonl'), '{"text": 1}\n');
    const r = await cli(['lora:perplexity', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(pattern);
  });

  it('names the line of a bad jsonl record', async () => {
    await writeFile(join(dir, 'bad.jsonl'), '{"text": "ok"}\n{"text": 1}\n');
    const r = await cli(['lora:perplexity', '--data', 'bad.jsonl']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.jsonl:2: "text" must be a string/);
  });
});
