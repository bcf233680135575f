/**
 * compression:quantize through the CLI's main() (in process) on the bundled stories260K-hf: the seed alias on
 * its defaults writes an mlx-lm folder that the runtime loads and generates from (the known greedy
 * continuation, ../shared/README.md) with perplexity on TinyStories within +1% of the float model
 * (lora:perplexity's own scoring, against the float model's documented 1.4317 nats/token); a mixed recipe writes mlx-lm's per-module entries; the input checks.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { modelsDir, repoRoot } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-quantize-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const VALID = join(repoRoot, '..', 'shared', 'data', 'tinystories', 'valid.txt');
const KNOWN = ', there was a little girl named Lily. She loved to play outside in the park.';

function cli(argv: string[]) {
  return runCli(argv, { cwd: dir, env: process.env });
}

async function perplexity(model: string, paragraphs = 100): Promise<number> {
  const r = await cli([
    'lora:perplexity',
    '--model',
    model,
    '--data',
    VALID,
    '--max-paragraphs',
    `${paragraphs}`,
    '--json',
  ]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out).perplexity;
}

describe('compression:quantize', () => {
  it('the seed alias --bits 8 writes an mlx-lm folder that loads, generates, and keeps perplexity within +1%', async () => {
    const r = await cli(['model-compression-mlx:quantize', '--bits', '8', '--json']);
    expect(r.code, r.err).toBe(0);
    const out = join(dir, 'mlx_model');
    const result = JSON.parse(r.out);
    expect(result.output).toBe(out);
    // 5 blocks × 6 projections + the embedding; down_proj (172 inputs) stays float at group 64.
    expect(result.quantized).toHaveLength(31);
    expect(result.float.map((f: { path: string }) => f.path)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `model.layers.${i}.mlp.down_proj`),
    );
    expect(r.err).toMatch(/5 modules stay float .*172 inputs are not a multiple of the group size 64/);

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.quantization).toEqual({ group_size: 64, bits: 8, mode: 'affine' });
    expect(config.quantization_config).toEqual(config.quantization);
    expect(config.hidden_size).toBe(64);
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
      expect(readFileSync(join(out, f))).toEqual(readFileSync(join(modelsDir, 'stories260K-hf', f)));
    }
    await withSafetensorsFile(join(out, 'model.safetensors'), async (st) => {
      expect(st.metadata).toEqual({ format: 'mlx' });
      const e = (n: string) => st.entry(n);
      expect([
        e('model.layers.0.self_attn.q_proj.weight').dtype,
        e('model.layers.0.self_attn.q_proj.weight').shape,
      ]).toEqual(['U32', [64, 16]]);
      expect(e('model.layers.0.self_attn.q_proj.scales').shape).toEqual([64, 1]);
      expect(e('model.embed_tokens.biases').shape).toEqual([512, 1]);
      expect(e('model.layers.0.mlp.down_proj.weight').dtype).toBe('F32');
      expect(st.has('model.layers.0.mlp.down_proj.scales')).toBe(false);
    });
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);

    const g = await cli([
      'lora:generate',
      '--model',
      out,
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '27',
      '--json',
    ]);
    expect(g.code, g.err).toBe(0);
    expect(JSON.parse(g.out).text).toBe(KNOWN);

    // The float model's perplexity on these paragraphs is a known fact: exp(1.4317) (../shared/README.md).
    const q8 = await perplexity(out);
    expect(q8 / Math.exp(1.4317)).toBeLessThan(1.01);
  });

  it('a mixed recipe writes an entry per module (high bits for v_proj in blocks 2 and 4 of 5) and loads', async () => {
    const out = join(dir, 'mixed');
    const r = await cli(['compression:quantize', '--recipe', 'mixed_3_6', '--group-size', '32', '--output', out]);
    expect(r.code, r.err).toBe(0);
    const q = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).quantization;
    expect(q.bits).toBe(4);
    expect(q['model.embed_tokens']).toEqual({ group_size: 32, bits: 3, mode: 'affine' });
    for (let i = 0; i < 5; i++) {
      expect(q[`model.layers.${i}.self_attn.v_proj`].bits).toBe(i === 2 || i === 4 ? 6 : 3);
      expect(q[`model.layers.${i}.self_attn.q_proj`].bits).toBe(3);
      expect(q[`model.layers.${i}.mlp.down_proj`]).toBeUndefined();
    }
    const g = await cli(['lora:generate', '--model', out, '--prompt', 'Once upon a time', '--max-tokens', '8']);
    expect(g.code, g.err).toBe(0);
  });

  it('4-bit GPTQ (calibrated on the bundled text) beats 4-bit RTN on held-out perplexity; HQQ writes a loadable folder', async () => {
    const run = async (method: string, extra: string[] = []) => {
      const out = join(dir, `${method}4`);
      const r = await cli([
        'compression:quantize',
        '--bits',
        '4',
        '--group-size',
        '32',
        '--method',
        method,
        '--output',
        out,
        '--json',
        ...extra,
      ]);
      expect(r.code, r.err).toBe(0);
      return { out, result: JSON.parse(r.out) };
    };
    const gptq = await run('gptq', ['--calibration-samples', '32']);
    // The calibration paragraphs come from the end of the file; perplexity is measured on its first ones.
    expect(gptq.result.calibration.sequences).toBe(32);
    const rtn = await run('rtn');
    const hqq = await run('hqq');
    const [pg, pr] = [await perplexity(gptq.out, 30), await perplexity(rtn.out, 30)];
    expect(pg).toBeLessThan(pr);
    const g = await cli(['lora:generate', '--model', hqq.out, '--prompt', 'Once upon a time', '--max-tokens', '8']);
    expect(g.code, g.err).toBe(0);
  });

  it('refuses what MLX refuses, a model already quantized, a group no module fits, and an occupied output', async () => {
    const refused = async (argv: string[], message: RegExp) => {
      const r = await cli(['compression:quantize', ...argv]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    };
    await refused(['--bits', '7', '--output', 'x'], /--bits 7: MLX quantizes to 2, 3, 4, 5, 6, 8 bits/);
    await refused(['--group-size', '16', '--output', 'x'], /--group-size 16: MLX's group sizes are 32, 64, 128/);
    await refused(
      ['--group-size', '128', '--output', 'x'],
      /--group-size 128: no module can be quantized, their input sizes \(64, 172\) .*use --group-size 32 or 64/,
    );
    const q4 = join(dir, 'q4');
    expect((await cli(['compression:quantize', '--output', q4])).code).toBe(0);
    await refused(
      ['--model', q4, '--output', 'x'],
      /already quantized \(4-bit, group 64\).*quantize its float original/,
    );
    await refused(['--model', 'stories260K', '--output', 'x'], /needs a Hugging Face model folder/);
    expect(existsSync(join(dir, 'x'))).toBe(false);

    const occupied = join(dir, 'occupied');
    await mkdir(occupied);
    await writeFile(join(occupied, 'keep.txt'), 'mine');
    await refused(['--output', occupied], /already exists and is not empty/);
    expect(readdirSync(occupied)).toEqual(['keep.txt']);
  });
});
