/**
 * compression:prune through the CLI's main() (in process) on the bundled stories260K-hf: the seed alias on
 * its defaults reports 50% per projection and writes a folder the runtime loads; Wanda (calibrated) keeps
 * perplexity lower than magnitude pruning at the same sparsity, as the Wanda paper reports; structured
 * pruning writes a smaller dense model (intermediate_size lowered) that generates; the refusals.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-prune-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const VALID = join(repoRoot, '..', 'shared', 'data', 'tinystories', 'valid.txt');

function cli(argv: string[]) {
  return runCli(argv, { cwd: dir, env: process.env });
}

async function perplexity(model: string): Promise<number> {
  const r = await cli(['lora:perplexity', '--model', model, '--data', VALID, '--max-paragraphs', '30', '--json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out).perplexity;
}

describe('compression:prune', () => {
  it('the seed alias --sparsity 0.5 reports each projection at 50% and Wanda beats magnitude on perplexity', async () => {
    const r = await cli(['model-compression-mlx:prune', '--sparsity', '0.5', '--json']);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out);
    expect(result.output).toBe(join(dir, 'pruned_model'));
    expect(result.layers).toHaveLength(35);
    for (const l of result.layers) expect(l.sparsity).toBeCloseTo(0.5, 2);
    const w = await cli(['compression:prune', '--method', 'wanda', '--calibration-samples', '32', '--output', 'wanda']);
    expect(w.code, w.err).toBe(0);
    expect(await perplexity(join(dir, 'wanda'))).toBeLessThan(await perplexity(result.output));
  });

  it('2:4 and structured: the pattern holds per layer; structured lowers intermediate_size and still generates', async () => {
    const nm = await cli(['compression:prune', '--pattern', '2:4', '--output', 'nm', '--json']);
    expect(nm.code, nm.err).toBe(0);
    for (const l of JSON.parse(nm.out).layers) expect(l.sparsity).toBe(0.5);
    const st = await cli([
      'compression:prune',
      '--method',
      'structured',
      '--sparsity',
      '0.5',
      '--output',
      'slim',
      '--json',
    ]);
    expect(st.code, st.err).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'slim', 'config.json'), 'utf8'));
    expect(config.intermediate_size).toBe(86);
    const down = JSON.parse(st.out).layers.find((l: { path: string }) => l.path === 'model.layers.0.mlp.down_proj');
    expect(down).toEqual({ path: 'model.layers.0.mlp.down_proj', shape: [64, 86], sparsity: 0.5 });
    const g = await cli([
      'lora:generate',
      '--model',
      join(dir, 'slim'),
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '8',
    ]);
    expect(g.code, g.err).toBe(0);
  });

  it('refuses sparsity outside [0, 1), bad patterns, a pattern that disagrees with --sparsity, a quantized model', async () => {
    const refused = async (argv: string[], message: RegExp) => {
      const r = await cli(['compression:prune', ...argv, '--output', 'never']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    };
    await refused(['--sparsity', '1'], /--sparsity 1: must be in \[0, 1\)/);
    await refused(['--pattern', '4:4'], /--pattern 4:4: must be N:M with 0 < N < M/);
    await refused(['--pattern', '1:4'], /--pattern 1:4 removes 1\/4 of the weights; --sparsity must be 0.25/);
    await refused(['--method', 'structured', '--pattern', '2:4'], /--pattern applies to magnitude and wanda/);
    const q = await cli(['compression:quantize', '--output', 'q4']);
    expect(q.code, q.err).toBe(0);
    await refused(['--model', join(dir, 'q4')], /the model is quantized; prune its float original/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
