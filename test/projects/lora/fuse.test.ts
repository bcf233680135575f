/**
 * lora:fuse and --adapter-path on stories260K-hf: adapters with non-zero B (and DoRA magnitudes) written in
 * mlx-lm's layout; the fused folder, loaded as a plain model, gives the adapter model's logits (≤ 1e-4) while
 * the base model's differ; lora:generate with --adapter-path and with the fused model write the same text.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { loadAdapterFolder } from '../../../projects/lora/train/adapter-files.js';
import { runCli } from '../../helpers/run-cli.js';
import { env, logits, maxDiff, writeAdapter } from './adapter-fixtures.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-lora-fuse-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

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
