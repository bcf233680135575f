/**
 * lora:export between mlx-lm and PEFT adapter folders (formats.md §2 "Converter rules"): PEFT keys, shapes and
 * transposes against hand-computed expectations; lora_alpha = scale·r, or the ratio folded into lora_B; a
 * stories260K-hf adapter round-trips mlx → PEFT → mlx with identical tensors, config values and logits; PEFT
 * adapters mlx-lm cannot express are refused with the file and field named.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SafetensorsTensor } from '../../../core/io/safetensors.js';
import { loadSafetensorsFile, saveSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { loadAdapterFolder } from '../../../projects/lora/train/adapter-files.js';
import { runCli } from '../../helpers/run-cli.js';
import { env, logits, maxDiff, writeAdapter } from './adapter-fixtures.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-lora-peft-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const Q = 'model.layers.1.self_attn.q_proj';

async function tensorsOf(path: string): Promise<Record<string, { shape: number[]; data: number[] }>> {
  const reader = await loadSafetensorsFile(path);
  const out: Record<string, { shape: number[]; data: number[] }> = {};
  for (const n of reader.names) {
    const t = await reader.readAsCore(n);
    out[n] = { shape: t.shape, data: Array.from(t.data as Float32Array) };
  }
  await reader.close();
  return out;
}
const readJson = async (p: string) => JSON.parse(await readFile(p, 'utf8'));
const f32 = (shape: number[], data: number[]): SafetensorsTensor => ({
  dtype: 'F32',
  shape,
  data: Float32Array.from(data),
});
const exportCli = (src: string, format: string, out: string) =>
  runCli(['lora:export', '--adapter-path', src, '--format', format, '--output', out], { cwd: dir, env });

/** A one-module mlx adapter: lora_a [in=3, r=2], lora_b [r=2, out=4], optionally m [4]. */
async function handAdapter(path: string, scale: number, dora: boolean): Promise<void> {
  await mkdir(path, { recursive: true });
  const tensors: Record<string, SafetensorsTensor> = {
    [`${Q}.lora_a`]: f32([3, 2], [1, 2, 3, 4, 5, 6]),
    [`${Q}.lora_b`]: f32([2, 4], [10, 20, 30, 40, 50, 60, 70, 80]),
  };
  if (dora) tensors[`${Q}.m`] = f32([4], [0.5, 1, 1.5, 2]);
  await saveSafetensorsFile(join(path, 'adapters.safetensors'), tensors);
  const config = {
    fine_tune_type: dora ? 'dora' : 'lora',
    num_layers: 1,
    lora_parameters: { rank: 2, scale, dropout: 0.05 },
  };
  await writeFile(join(path, 'adapter_config.json'), JSON.stringify(config));
}

describe('lora:export on a hand-built adapter', () => {
  it('writes PEFT keys, shapes and transposes as formats.md gives them, lora_alpha = scale·r', async () => {
    const src = join(dir, 'hand-lora');
    const peft = join(dir, 'hand-lora-peft');
    await handAdapter(src, 2.5, false);
    const r = await exportCli(src, 'peft', peft);
    expect(r.code, r.err).toBe(0);
    const t = await tensorsOf(join(peft, 'adapter_model.safetensors'));
    expect(Object.keys(t).sort()).toEqual([
      `base_model.model.${Q}.lora_A.weight`,
      `base_model.model.${Q}.lora_B.weight`,
    ]);
    // A [r=2, in=3] = aᵀ; B [out=4, r=2] = bᵀ.
    expect(t[`base_model.model.${Q}.lora_A.weight`]).toEqual({ shape: [2, 3], data: [1, 3, 5, 2, 4, 6] });
    expect(t[`base_model.model.${Q}.lora_B.weight`]).toEqual({ shape: [4, 2], data: [10, 50, 20, 60, 30, 70, 40, 80] });
    const c = await readJson(join(peft, 'adapter_config.json'));
    expect(c).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 2,
      lora_alpha: 5,
      lora_dropout: 0.05,
      target_modules: ['q_proj'],
      layers_to_transform: [1],
      use_dora: false,
    });

    const back = join(dir, 'hand-lora-back');
    const r2 = await exportCli(peft, 'mlx', back);
    expect(r2.code, r2.err).toBe(0);
    expect(await tensorsOf(join(back, 'adapters.safetensors'))).toEqual(
      await tensorsOf(join(src, 'adapters.safetensors')),
    );
    expect(await readJson(join(back, 'adapter_config.json'))).toEqual({
      fine_tune_type: 'lora',
      num_layers: 1,
      lora_parameters: { rank: 2, scale: 2.5, dropout: 0.05, keys: ['self_attn.q_proj'] },
    });
  });

  it('DoRA: m becomes lora_magnitude_vector; a non-integer scale·r is rounded and the ratio folded into B', async () => {
    const src = join(dir, 'hand-dora');
    const peft = join(dir, 'hand-dora-peft');
    await handAdapter(src, 2.25, true); // scale·r = 4.5 → lora_alpha 5, B × 0.9
    const r = await exportCli(src, 'peft', peft);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/folded into lora_B/);
    const t = await tensorsOf(join(peft, 'adapter_model.safetensors'));
    expect(t[`base_model.model.${Q}.lora_magnitude_vector`]).toEqual({ shape: [4], data: [0.5, 1, 1.5, 2] });
    const b = t[`base_model.model.${Q}.lora_B.weight`];
    expect(b.shape).toEqual([4, 2]);
    for (const [i, v] of [9, 45, 18, 54, 27, 63, 36, 72].entries()) expect(b.data[i]).toBeCloseTo(v, 4);
    const c = await readJson(join(peft, 'adapter_config.json'));
    expect(c).toMatchObject({ r: 2, lora_alpha: 5, use_dora: true });

    // Back in mlx: scale 5/2 = 2.5 with B × 0.9, so scale·B is the original 2.25·B.
    const back = join(dir, 'hand-dora-back');
    expect((await exportCli(peft, 'mlx', back)).code).toBe(0);
    const cfg = await readJson(join(back, 'adapter_config.json'));
    expect(cfg).toMatchObject({ fine_tune_type: 'dora', lora_parameters: { rank: 2, scale: 2.5 } });
    const bBack = (await tensorsOf(join(back, 'adapters.safetensors')))[`${Q}.lora_b`].data;
    for (const [i, v] of [10, 20, 30, 40, 50, 60, 70, 80].entries()) expect(2.5 * bBack[i]).toBeCloseTo(2.25 * v, 4);
  });
});

describe.each(['lora', 'dora'] as const)('lora:export round trip on stories260K-hf (%s)', (type) => {
  it('mlx → PEFT → mlx keeps every tensor and config value, and the logits (≤ 1e-6)', async () => {
    const src = join(dir, `${type}-adapter`);
    const peft = join(dir, `${type}-peft`);
    const back = join(dir, `${type}-back`);
    await writeAdapter(type, src);
    expect((await exportCli(src, 'peft', peft)).code).toBe(0);
    const c = await readJson(join(peft, 'adapter_config.json'));
    expect(c).toMatchObject({ r: 4, lora_alpha: 80, layers_to_transform: [2, 3, 4], use_dora: type === 'dora' });
    expect(c.target_modules).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const r = await exportCli(peft, 'mlx', back);
    expect(r.code, r.err).toBe(0);
    expect(await tensorsOf(join(back, 'adapters.safetensors'))).toEqual(
      await tensorsOf(join(src, 'adapters.safetensors')),
    );
    const cfg = await readJson(join(back, 'adapter_config.json'));
    expect(cfg).toMatchObject({
      fine_tune_type: type,
      num_layers: 3,
      lora_parameters: { rank: 4, scale: 20, dropout: 0 },
    });

    const lm = await loadLanguageModel('stories260K-hf', { env });
    const base = await logits(lm.model);
    await loadAdapterFolder(lm.model, src);
    const original = await logits(lm.model);
    lm.dispose();
    const lm2 = await loadLanguageModel('stories260K-hf', { env });
    await loadAdapterFolder(lm2.model, back);
    const imported = await logits(lm2.model);
    lm2.dispose();
    expect(maxDiff(original, base)).toBeGreaterThan(0.05);
    expect(maxDiff(imported, original)).toBeLessThanOrEqual(1e-6);
  });
});

describe('lora:export refuses what it cannot convert', () => {
  const peftSrc = join(dir, 'hand-lora-peft');
  async function variant(name: string, patch: Record<string, unknown>): Promise<string> {
    const p = join(dir, name);
    await mkdir(p, { recursive: true });
    const c = await readJson(join(peftSrc, 'adapter_config.json'));
    await writeFile(join(p, 'adapter_config.json'), JSON.stringify({ ...c, ...patch }));
    const t = await tensorsOf(join(peftSrc, 'adapter_model.safetensors'));
    await saveSafetensorsFile(
      join(p, 'adapter_model.safetensors'),
      Object.fromEntries(Object.entries(t).map(([k, v]) => [k, f32(v.shape, v.data)])),
    );
    return p;
  }
  it.each([
    ['rank-pattern', { rank_pattern: { q_proj: 8 } }, /rank_pattern gives "q_proj" 8/],
    ['alpha-pattern', { alpha_pattern: { q_proj: 16 } }, /alpha_pattern gives "q_proj" 16/],
    ['regex', { target_modules: '.*\\.v_proj' }, /target_modules ".*\\\\.v_proj" does not cover/],
    ['fifo', { fan_in_fan_out: true }, /fan_in_fan_out = true/],
    ['bias', { bias: 'all' }, /bias = "all"/],
    ['type', { peft_type: 'IA3' }, /peft_type is "IA3"/],
    ['rank', { r: 3 }, /tensors have rank 2 but .* r = 3/],
  ] as const)('%s', async (name, patch, message) => {
    const p = await variant(`bad-${name}`, patch);
    const r = await exportCli(p, 'mlx', join(dir, `bad-${name}-out`));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain(p);
  });

  it('a folder of the wrong layout, or no adapter at all', async () => {
    const wrong = await exportCli(join(dir, 'hand-lora'), 'mlx', join(dir, 'wrong-out'));
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/already an mlx-lm adapter; --format mlx converts from peft/);
    const none = await exportCli(join(dir, 'nothing'), 'peft', join(dir, 'none-out'));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/holds neither adapters.safetensors/);
  });

  it('lora:generate --adapter-path on a PEFT folder says how to convert it', async () => {
    const r = await runCli(
      [
        'lora:generate',
        '--model',
        'stories260K-hf',
        '--adapter-path',
        join(dir, 'hand-lora-peft'),
        '--max-tokens',
        '2',
      ],
      { cwd: dir, env },
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is a Hugging Face PEFT adapter; convert it first with lora:export .* --format mlx/);
  });
});
