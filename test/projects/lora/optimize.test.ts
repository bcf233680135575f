/**
 * lora:optimize: TPE beats random search on a known 1-D objective with the same budget and seeds; median
 * pruning against a hand-computed median; the CLI study on stories260K-hf writes study.json, best.json and
 * report.html, and a rerun with more trials continues the study instead of starting over.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type FinishedTrial, sampleParams, shouldPrune } from '../../../projects/lora/optimize/search.js';
import { modelsDir } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-lora-optimize-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('sampler', () => {
  const space = { learning_rate: { type: 'loguniform', low: 1e-6, high: 1 } } as const;
  // Best at 1e-3.
  const objective = (p: { learning_rate: number }) => (Math.log10(p.learning_rate) + 3) ** 2;

  function search(startup: number, trials: number, seed: number): number {
    const done: FinishedTrial[] = [];
    for (let n = 0; n < trials; n++) {
      const params = sampleParams(space, done, n, seed, startup);
      done.push({ params, value: objective(params as { learning_rate: number }) });
    }
    return Math.min(...done.map((t) => t.value));
  }

  it('is deterministic and TPE finds better points than random search with the same budget', () => {
    expect(sampleParams(space, [], 3, 7, 5)).toEqual(sampleParams(space, [], 3, 7, 5));
    const seeds = [1, 2, 3, 4, 5, 6];
    const tpe = seeds.map((s) => search(4, 20, s));
    const random = seeds.map((s) => search(20, 20, s));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(tpe)).toBeLessThan(mean(random));
  });

  it('choices stay within their values', () => {
    const p = sampleParams({ rank: { type: 'choice', values: [4, 8] } }, [{ params: { rank: 8 }, value: 1 }], 1, 0, 1);
    expect([4, 8]).toContain(p.rank);
  });

  it('median pruning', () => {
    const curves = [
      [
        [5, 2.0],
        [10, 1.5],
      ],
      [
        [5, 3.0],
        [10, 1.0],
      ],
      [[5, 4.0]],
    ] as [number, number][][];
    expect(shouldPrune(curves, 5, 3.1, 3)).toBe(true);
    expect(shouldPrune(curves, 5, 2.9, 3)).toBe(false);
    // Only two trials reached iteration 10: median 1.25, but pruning waits for 3.
    expect(shouldPrune(curves, 10, 1.3, 3)).toBe(false);
    expect(shouldPrune(curves, 10, 1.3, 2)).toBe(true);
    expect(shouldPrune(curves, 0, 99, 1)).toBe(false);
  });
});

describe('lora:optimize', () => {
  it('runs the seed alias for 3 trials, then continues the study to 4', async () => {
    const env = { EAI_MODELS_DIR: modelsDir };
    const argv = ['--iters', '4', '--steps-per-eval', '2', '--study-path', join(dir, 'study')];
    const first = await runCli(['lora-finetuning-mlx:optimize', '--trials', '3', ...argv], { cwd: dir, env });
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^trial\s+state\s+learning_rate\s+rank\s+scale\s+dropout\s+valid loss/);
    const study = JSON.parse(await readFile(join(dir, 'study', 'study.json'), 'utf8'));
    expect(study.trials).toHaveLength(3);
    const best = JSON.parse(await readFile(join(dir, 'study', 'best.json'), 'utf8'));
    const values = study.trials
      .filter((t: { state: string }) => t.state === 'complete')
      .map((t: { value: number }) => t.value);
    expect(best.value).toBe(Math.min(...values));
    expect(best.config.iters).toBe(4);
    expect(await readFile(join(best.adapterPath, 'adapter_config.json'), 'utf8')).toContain('"lora_parameters"');
    expect(await readFile(join(dir, 'study', 'report.html'), 'utf8')).toMatch(/<svg[\s\S]*<path d="M/);

    const again = await runCli(['lora:optimize', '--trials', '4', '--json', ...argv], { cwd: dir, env });
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/continuing the study .*: 3 trials done/);
    const result = JSON.parse(again.out);
    expect(result.trials).toHaveLength(4);
    expect(result.trials.slice(0, 3)).toEqual(study.trials);
  });
});
