/**
 * lora:fuse and --adapter-path on stories260K-hf: adapters with non-zero B (and DoRA magnitudes) written in
 * mlx-lm's layout; the fused folder, loaded as a plain model, gives the adapter model's logits (≤ 1e-4) while
 * the base model's differ; lora:generate with --adapter-path and with the fused model write the same text.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../../../index.js';
import { applyAdapters, type FineTuneType, trainableTree } from '../../../models/llama/adapters.js';
import type { LlamaModel } from '../../../models/llama/model.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { loadAdapterFolder, saveAdapterFolder } from '../../../projects/lora/train/adapter-files.js';
import { modelsDir } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-lora-fuse-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const env = { EAI_MODELS_DIR: modelsDir };
const TOKENS = [1, 403, 261, 263, 1420 % 512, 31, 7, 99];

async function logits(model: LlamaModel): Promise<Float32Array> {
  const ids = T.tensor(TOKENS, [1, TOKENS.length], 'i32');
  const out = model.forward(ids);
  const data = Float32Array.from((await out.data()) as Float32Array);
  T.dispose([ids, out]);
  return data;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** An adapter folder whose B (and DoRA m) are random, so the update is far from zero. */
async function writeAdapter(type: FineTuneType, path: string): Promise<void> {
  const lm = await loadLanguageModel('stories260K-hf', { env });
  const config = { fineTuneType: type, numLayers: 3, loraParameters: { rank: 4, scale: 20, dropout: 0 } };
  applyAdapters(lm.model, config, new T.Rng(1));
  const tree = trainableTree(lm.model, config);
  const rng = new T.Rng(2);
  for (const name of tree.trainableNames()) {
    const t = tree.get(name);
    if (name.endsWith('.lora_b')) tree.set(name, T.randomNormal(t.shape, 0, 0.02, { rng }));
    if (name.endsWith('.m')) tree.set(name, T.mul(t, T.randomUniform(t.shape, 0.5, 1.5, { rng })));
    if (tree.get(name) !== t) t.dispose();
  }
  await saveAdapterFolder(path, tree, {
    fine_tune_type: type,
    num_layers: 3,
    lora_parameters: { rank: 4, scale: 20, dropout: 0 },
  });
  lm.dispose();
}

describe.each(['lora', 'dora'] as const)('lora:fuse (%s)', (type) => {
  it('the fused folder gives the adapter model its logits; generation agrees', async () => {
    const adapter = join(dir, `${type}-adapter`);
    const fusedPath = join(dir, `${type}-fused`);
    await writeAdapter(type, adapter);

    const r = await runCli(['lora:fuse', '--adapter-path', adapter, '--save-path', fusedPath], { cwd: dir, env });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/fused 21 adapted layers/);
    expect((await readdir(fusedPath)).sort()).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']),
    );

    const base = await loadLanguageModel('stories260K-hf', { env });
    const baseLogits = await logits(base.model);
    await loadAdapterFolder(base.model, adapter);
    const adapted = await logits(base.model);
    base.dispose();
    const fused = await loadLanguageModel(fusedPath, { env });
    const fusedLogits = await logits(fused.model);
    fused.dispose();
    expect(maxDiff(adapted, baseLogits)).toBeGreaterThan(0.05);
    expect(maxDiff(fusedLogits, adapted)).toBeLessThanOrEqual(1e-4);

    const gen = (flags: string[]) =>
      runCli(['lora:generate', '--prompt', 'Lily found', '--max-tokens', '12', ...flags], { cwd: dir, env });
    const viaAdapter = await gen(['--model', 'stories260K-hf', '--adapter-path', adapter]);
    const viaFused = await gen(['--model', fusedPath]);
    expect(viaAdapter.code, viaAdapter.err).toBe(0);
    expect(viaFused.out).toBe(viaAdapter.out);
  });
});

describe('adapter loading errors', () => {
  it('a missing folder and a llama2.c base are usage errors', async () => {
    const missing = await runCli(['lora:fuse', '--adapter-path', join(dir, 'none')], { cwd: dir, env });
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/adapter_config\.json/);
    await writeAdapter('lora', join(dir, 'for-llama2c'));
    const llama2c = await runCli(['lora:fuse', '--model', 'stories260K', '--adapter-path', join(dir, 'for-llama2c')], {
      cwd: dir,
      env,
    });
    expect(llama2c.code).toBe(2);
    expect(llama2c.err).toMatch(/needs one as the base/);
  });
});
