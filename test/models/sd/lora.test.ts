/**
 * Style LoRAs on tiny-sd: files this test writes in the diffusers (lora_A/lora_B, text_encoder. prefix) and
 * kohya (lora_down/lora_up/alpha, underscored names) layouts, covering linear and convolution modules in the
 * UNet and the text encoder. The oracle is the update merged by hand in f64: W + weight·(α/r)·up·down, and a
 * model loaded from a weights file merged that way must compute the same UNet output.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import type { SafetensorsTensor } from '../../../core/io/safetensors.js';
import * as T from '../../../index.js';
import { loadStableDiffusion, type StableDiffusionModel } from '../../../models/sd/load.js';
import { applyLoras, parseLoraKey } from '../../../models/sd/lora.js';
import { StableDiffusion } from '../../../models/sd/pipeline.js';
import { diskFolder } from '../../../node/io/model-folder.js';
import { loadSafetensorsFile, saveSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { defaultModelsDir } from '../../../node/paths.js';

const TINY_SD = join(defaultModelsDir()!, 'tiny-sd');

/** Modules the test LoRAs update: [component, module, out, in, kernel]. */
const MODULES = [
  ['unet', 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', 64, 64, 0],
  ['unet', 'up_blocks.0.attentions.2.transformer_blocks.0.attn2.to_out.0', 64, 64, 0],
  ['unet', 'mid_block.attentions.0.proj_in', 64, 64, 1],
  ['unet', 'down_blocks.0.resnets.1.conv1', 32, 32, 3],
  ['textEncoder', 'text_model.encoder.layers.0.self_attn.q_proj', 32, 32, 0],
] as const;
const RANK = 2;

function random(n: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  return Float32Array.from({ length: n }, () => 0.3 * rng.normal());
}

interface Factors {
  down: Float32Array;
  up: Float32Array;
  downShape: number[];
  upShape: number[];
}

function factors(i: number): Factors {
  const [, , out, inF, k] = MODULES[i];
  const inner = k === 0 ? inF : inF * k * k;
  return {
    down: random(RANK * inner, 10 + i),
    up: random(out * RANK, 20 + i),
    downShape: k === 0 ? [RANK, inF] : [RANK, inF, k, k],
    upShape: k === 0 ? [out, RANK] : [out, RANK, 1, 1],
  };
}

function f32(data: Float32Array, shape: number[]): SafetensorsTensor {
  return { dtype: 'F32', shape, data };
}

describe('style LoRAs', () => {
  let dir: string;
  /** tiny-sd without LoRAs, loaded once. */
  let base: StableDiffusionModel;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sd-lora-'));
    const diffusers: Record<string, SafetensorsTensor> = {};
    const kohya: Record<string, SafetensorsTensor> = {};
    MODULES.forEach(([component, module], i) => {
      const f = factors(i);
      const prefix = component === 'unet' ? 'unet' : 'text_encoder';
      diffusers[`${prefix}.${module}.lora_A.weight`] = f32(f.down, f.downShape);
      diffusers[`${prefix}.${module}.lora_B.weight`] = f32(f.up, f.upShape);
      const k = `lora_${component === 'unet' ? 'unet' : 'te'}_${module.replace(/\./g, '_')}`;
      kohya[`${k}.lora_down.weight`] = f32(f.down, f.downShape);
      kohya[`${k}.lora_up.weight`] = f32(f.up, f.upShape);
      kohya[`${k}.alpha`] = f32(Float32Array.of(1), []); // α = 1, r = 2: scale ½
    });
    await saveSafetensorsFile(join(dir, 'diffusers.safetensors'), diffusers);
    await saveSafetensorsFile(join(dir, 'kohya.safetensors'), kohya);
    await T.setBackend((await T.availableBackendNames()).includes('wasm') ? 'wasm' : 'js');
    base = await loadStableDiffusion(await diskFolder(TINY_SD));
  });
  afterAll(async () => {
    new StableDiffusion(base).dispose();
    await rm(dir, { recursive: true, force: true });
    expect(T.memory().tensors).toBe(0);
    await T.setBackend('js');
  });

  it('parses both layouts and the older diffusers names', () => {
    expect(parseLoraKey('lora_unet_mid_block_attentions_0_proj_in.alpha')).toEqual({
      component: 'unet',
      module: 'mid_block_attentions_0_proj_in',
      part: 'alpha',
      kohya: true,
    });
    expect(parseLoraKey('text_encoder.text_model.encoder.layers.3.mlp.fc1.lora.up.weight')).toMatchObject({
      component: 'textEncoder',
      module: 'text_model.encoder.layers.3.mlp.fc1',
      part: 'up',
    });
    expect(
      parseLoraKey('unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.down.weight'),
    ).toMatchObject({
      module: 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0',
      part: 'down',
    });
    expect(parseLoraKey('base_model.model.conv_in.lora_B.default.weight')).toMatchObject({
      module: 'conv_in',
      part: 'up',
    });
    expect(parseLoraKey('something.else')).toBeUndefined();
  });

  for (const [layout, weight, scale] of [
    ['diffusers', 0.7, 1],
    ['kohya', 1.5, 0.5],
  ] as const) {
    it(`${layout} layout, weight ${weight}: every updated weight equals W + ${weight}·${scale}·up·down`, async () => {
      const folder = await diskFolder(TINY_SD);
      const reader = await loadSafetensorsFile(join(dir, `${layout}.safetensors`));
      const styled = await loadStableDiffusion(folder, { loras: [{ reader, weight }] });
      await reader.close();
      for (let i = 0; i < MODULES.length; i++) {
        const [component, module, out] = MODULES[i];
        const name = `${module}.weight`;
        const pick = (m: typeof base) => (component === 'unet' ? m.unet.weights : m.textEncoder.weights);
        const shape = pick(base).shapeOf(name);
        const w = await pick(base).get(name, shape).data();
        const got = await pick(styled).get(name, shape).data();
        const f = factors(i);
        const inner = w.length / out;
        let err = 0;
        for (let o = 0; o < out; o++)
          for (let j = 0; j < inner; j++) {
            let d = 0;
            for (let r = 0; r < RANK; r++) d += f.up[o * RANK + r] * f.down[r * inner + j];
            err = Math.max(err, Math.abs(got[o * inner + j] - (w[o * inner + j] + weight * scale * d)));
          }
        expect(err, `${layout} ${name}`).toBeLessThan(1e-5);
      }
      // Untouched weights stay as they were.
      const other = 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k.weight';
      expect(await styled.unet.weights.get(other, [64, 64]).data()).toEqual(
        await base.unet.weights.get(other, [64, 64]).data(),
      );
      new StableDiffusion(styled).dispose();
    });
  }

  it('the styled UNet computes what a model from a hand-merged weights file computes', async () => {
    const merged = await mkdtemp(join(tmpdir(), 'sd-merged-'));
    try {
      await cp(TINY_SD, merged, { recursive: true });
      await rm(join(merged, 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
      const file = join(merged, 'unet', 'diffusion_pytorch_model.safetensors');
      const src = await loadSafetensorsFile(file);
      const tensors: Record<string, SafetensorsTensor> = {};
      for (const name of src.names) tensors[name] = await src.read(name);
      await src.close();
      MODULES.forEach(([component, module, out], i) => {
        if (component !== 'unet') return;
        const t = tensors[`${module}.weight`];
        const w = Float32Array.from(t.data as Float32Array);
        const f = factors(i);
        const inner = w.length / out;
        for (let o = 0; o < out; o++)
          for (let j = 0; j < inner; j++)
            for (let r = 0; r < RANK; r++) w[o * inner + j] += 0.7 * f.up[o * RANK + r] * f.down[r * inner + j];
        tensors[`${module}.weight`] = f32(w, t.shape);
      });
      await saveSafetensorsFile(file, tensors);
      const reader = await loadSafetensorsFile(join(dir, 'diffusers.safetensors'));
      const styled = await loadStableDiffusion(await diskFolder(TINY_SD), { loras: [{ reader, weight: 0.7 }] });
      await reader.close();
      const byHand = await loadStableDiffusion(await diskFolder(merged));
      const lat = T.randomNormal([1, 4, 4, 4], 0, 1, { rng: new T.Rng(1) });
      const ctx = T.randomNormal([1, 77, 32], 0, 1, { rng: new T.Rng(2) });
      const [a, b, c] = [styled, byHand, base].map((m) => m.unet.forward(lat, 400, ctx));
      const [da, db, dc] = [await a.data(), await b.data(), await c.data()];
      let same = 0;
      let changed = 0;
      for (let i = 0; i < da.length; i++) {
        same = Math.max(same, Math.abs(da[i] - db[i]));
        changed = Math.max(changed, Math.abs(da[i] - dc[i]));
      }
      expect(same).toBeLessThan(1e-4);
      expect(changed).toBeGreaterThan(1e-2);
      T.dispose([lat, ctx, a, b, c]);
      for (const m of [styled, byHand]) new StableDiffusion(m).dispose();
    } finally {
      await rm(merged, { recursive: true, force: true });
    }
  });

  it('refuses LoRAs for another architecture or with mismatched factors, naming the key', async () => {
    const bad = join(dir, 'bad.safetensors');
    await saveSafetensorsFile(bad, {
      'unet.down_blocks.5.attentions.0.to_q.lora_A.weight': f32(new Float32Array(8), [2, 4]),
      'unet.down_blocks.5.attentions.0.to_q.lora_B.weight': f32(new Float32Array(8), [4, 2]),
    });
    const targets = { unet: base.unet.weights, textEncoder: base.textEncoder.weights };
    let reader = await loadSafetensorsFile(bad);
    await expect(applyLoras([{ reader, weight: 1 }], targets)).rejects.toThrow(
      /updates down_blocks.5.attentions.0.to_q, which the UNet of this model does not have/,
    );
    await reader.close();
    await saveSafetensorsFile(bad, {
      'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': f32(new Float32Array(2 * 31), [2, 31]),
      'lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': f32(new Float32Array(64), [32, 2]),
    });
    reader = await loadSafetensorsFile(bad);
    await expect(applyLoras([{ reader, weight: 1 }], targets)).rejects.toThrow(
      /text_model.encoder.layers.0.self_attn.q_proj.weight is \[32, 32\] but the LoRA has down \[2, 31\]/,
    );
    await reader.close();
  });
});
