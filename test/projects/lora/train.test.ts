/**
 * lora:train through the CLI (in process) on stories260K-hf: the seed alias on its bundled defaults writes
 * mlx-lm's adapter layout; a run with a higher learning rate lowers the validation loss, and its saved
 * adapter, loaded back, reproduces the reported validation loss (round trip); the YAML config and flags
 * combine as mlx-lm's; Ctrl-C writes nothing; bad options are usage errors.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { evaluationBatches } from '../../../projects/lora/data/batches.js';
import { loadSplits } from '../../../projects/lora/data/load.js';
import { loadAdapterFolder } from '../../../projects/lora/train/adapter-files.js';
import { evaluateLoss } from '../../../projects/lora/train/trainer.js';
import { modelsDir, repoRoot } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-lora-train-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const env = { EAI_MODELS_DIR: modelsDir };
const SAMPLE = join(repoRoot, 'projects', 'lora', 'data', 'sample');

function cli(argv: string[], signal?: AbortSignal) {
  return runCli(argv, { cwd: dir, env, signal });
}

describe('lora:train', () => {
  it("runs the seed alias on the bundled defaults and writes mlx-lm's adapter layout", async () => {
    const r = await cli(['lora-finetuning-mlx:train', '--epochs', '3']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/saved the adapter to .*adapters\/adapters\.safetensors/);
    expect(r.err).toMatch(/training 24 iterations \(3 epochs of 8 batches\)/);
    const config = JSON.parse(await readFile(join(dir, 'adapters', 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      fine_tune_type: 'lora',
      num_layers: -1,
      batch_size: 4,
      learning_rate: 1e-5,
      lora_parameters: { rank: 8, dropout: 0, scale: 20 },
      adapter_path: 'adapters',
    });
    // mlx-lm's save_config: sorted keys, indent 4.
    const text = await readFile(join(dir, 'adapters', 'adapter_config.json'), 'utf8');
    expect(Object.keys(config)).toEqual([...Object.keys(config)].sort());
    expect(text).toMatch(/^\{\n {4}"adapter_path"/);
    const reader = await loadSafetensorsFile(join(dir, 'adapters', 'adapters.safetensors'));
    // stories260K-hf: 5 blocks, dim 64, hidden 172, 8 heads / 4 kv heads; q, k, v, o, gate, up, down adapted.
    expect(reader.names).toHaveLength(5 * 7 * 2);
    expect(reader.entry('model.layers.0.self_attn.q_proj.lora_a').shape).toEqual([64, 8]);
    expect(reader.entry('model.layers.4.self_attn.k_proj.lora_b').shape).toEqual([8, 32]);
    expect(reader.entry('model.layers.2.mlp.down_proj.lora_a').shape).toEqual([172, 8]);
    expect(reader.names.every((n) => /^model\.layers\.\d\.(self_attn|mlp)\.\w+_proj\.lora_[ab]$/.test(n))).toBe(true);
  });

  it('lowers the validation loss; the saved adapter reproduces it when loaded back', async () => {
    const out = join(dir, 'run');
    const r = await cli([
      'lora:train',
      '--json',
      '--iters',
      '16',
      '--learning-rate',
      '3e-4',
      '--steps-per-eval',
      '8',
      '--save-every',
      '8',
      '--rank',
      '4',
      '--num-layers',
      '2',
      '--adapter-path',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out);
    expect(result.validLoss).toBeLessThan(result.firstValidLoss * 0.9);
    expect(
      result.curve
        .filter((p: { validLoss?: number }) => p.validLoss !== undefined)
        .map((p: { iteration: number }) => p.iteration),
    ).toEqual([0, 8, 16]);
    expect((await readdir(out)).sort()).toEqual([
      '0000008_adapters.safetensors',
      'adapter_config.json',
      'adapters.safetensors',
      'training_state.safetensors',
    ]);

    // lora:test (batched, padded, masked) agrees with lora:perplexity (each record scored alone).
    const test = await cli(['lora:test', '--adapter-path', out, '--test-batches', '-1', '--json']);
    expect(test.code, test.err).toBe(0);
    const ppl = await cli([
      'lora:perplexity',
      '--model',
      'stories260K-hf',
      '--adapter-path',
      out,
      '--data',
      join(SAMPLE, 'test.jsonl'),
      '--json',
    ]);
    expect(ppl.code, ppl.err).toBe(0);
    expect(JSON.parse(test.out).tokens).toBe(JSON.parse(ppl.out).predictedTokens);
    expect(JSON.parse(test.out).loss).toBeCloseTo(JSON.parse(ppl.out).meanNll, 5);

    const lm = await loadLanguageModel('stories260K-hf', { env });
    try {
      const { config } = await loadAdapterFolder(lm.model, out);
      expect(config).toMatchObject({ fineTuneType: 'lora', numLayers: 2, loraParameters: { rank: 4, scale: 20 } });
      const { valid } = await loadSplits(SAMPLE, ['valid'], lm.tokenizer, lm.chatTemplate, { maxSeqLength: 2048 });
      const { loss } = await evaluateLoss(lm.model, evaluationBatches(valid!, 4, 2048, 25));
      expect(loss).toBeCloseTo(result.validLoss, 5);
    } finally {
      lm.dispose();
    }
  });

  it('reads mlx-lm YAML; flags override it', async () => {
    const yaml = join(dir, 'lora.yaml');
    await writeFile(
      yaml,
      'iters: 2\nval_batches: 0\nfine_tune_type: dora\nlora_parameters:\n  rank: 2\n  scale: 10.0\n  keys: ["self_attn.q_proj"]\n' +
        'lr_schedule:\n  name: cosine_decay\n  warmup: 1\n  arguments: [1.0e-3, 10]\nextra_key: kept\n',
    );
    const out = join(dir, 'yaml');
    const r = await cli(['lora:train', '--config', yaml, '--rank', '3', '--adapter-path', out]);
    expect(r.code, r.err).toBe(0);
    const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      fine_tune_type: 'dora',
      iters: 2,
      extra_key: 'kept',
      lora_parameters: { rank: 3, scale: 10, keys: ['self_attn.q_proj'] },
    });
    const reader = await loadSafetensorsFile(join(out, 'adapters.safetensors'));
    expect(reader.names.sort().slice(0, 3)).toEqual([
      'model.layers.0.self_attn.q_proj.lora_a',
      'model.layers.0.self_attn.q_proj.lora_b',
      'model.layers.0.self_attn.q_proj.m',
    ]);
  });

  it('Ctrl-C before the end writes nothing and exits 130', async () => {
    const controller = new AbortController();
    controller.abort(new Error('interrupted by Ctrl-C'));
    const out = join(dir, 'interrupted');
    const r = await cli(['lora:train', '--iters', '5', '--val-batches', '0', '--adapter-path', out], controller.signal);
    expect(r.code).toBe(130);
    expect(existsSync(join(out, 'adapters.safetensors'))).toBe(false);
  });

  it.each([
    [['--data', join(dir, 'nowhere')], /--data .*nowhere: no such folder/],
    [['--num-layers', '9'], /num_layers 9: the model has only 5 blocks/],
    [['--batch-size', '64'], /sample\/(train|valid)\.jsonl: \d+ examples cannot fill one batch of 64/],
    [['--config', join(dir, 'missing.yaml')], /--config .*missing\.yaml: cannot read it/],
  ])('usage error for %s', async (flags, message) => {
    const r = await cli(['lora:train', '--iters', '1', '--adapter-path', join(dir, 'bad'), ...flags]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
