/**
 * The Stable Diffusion models against an independent PyTorch implementation (test/fixtures/sd/
 * make_tiny_sd_oracle.py, run with Debian's python3-torch; its outputs are the committed fixture
 * tiny-sd-oracle.safetensors): the text encoder, the UNet (SD 1.x paths, and the SD 2.x linear projections and
 * per-block head list on the same weights), the VAE, the scheduler schedules (float32 as diffusers computes
 * them) and whole img2img / txt2img runs with the tiny-sd README's conventions, on ../shared/models/tiny-sd.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import type { SafetensorsReader } from '../../../core/io/safetensors.js';
import * as T from '../../../index.js';
import { loadStableDiffusion, type StableDiffusionModel } from '../../../models/sd/load.js';
import { StableDiffusion } from '../../../models/sd/pipeline.js';
import {
  alphasCumprod,
  createScheduler,
  type SchedulerName,
  SD_SCHEDULER_CONFIG,
} from '../../../models/sd/schedulers/index.js';
import { diskFolder } from '../../../node/io/model-folder.js';
import { loadSafetensorsFile, saveSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { defaultModelsDir } from '../../../node/paths.js';

const FIXTURE = new URL('../../fixtures/sd/tiny-sd-oracle.safetensors', import.meta.url).pathname;
const TINY_SD = join(defaultModelsDir()!, 'tiny-sd');

let oracle: SafetensorsReader;
async function want(name: string): Promise<Float32Array> {
  const t = await oracle.readAsCore(name);
  return Float32Array.from(t.data);
}
async function wantShape(name: string): Promise<readonly number[]> {
  return oracle.entry(name).shape;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** The oracle's text conditioning, batch [uncond, cond]. */
async function context(): Promise<T.Tensor> {
  const empty = await want('text.empty');
  const cat = await want('text.cat');
  return T.tidy(() => T.concat([T.tensor(empty, [1, 77, 32]), T.tensor(cat, [1, 77, 32])], 0));
}

/** uint8 [H, W, 3] (the fixture's images) → [1, 3, H, W] f32 0..255. */
async function imageTensor(name: string): Promise<T.Tensor> {
  const [h, w] = await wantShape(name);
  const px = await want(name);
  const planes = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) planes[c * h * w + i] = px[3 * i + c];
  return T.tensor(planes, [1, 3, h, w]);
}

describe('tiny-sd against the PyTorch oracle', () => {
  let model: StableDiffusionModel;
  let sd: StableDiffusion;
  let backend: T.BackendName;

  beforeAll(async () => {
    oracle = await loadSafetensorsFile(FIXTURE);
    // wasm is the quickest CPU backend for these small shapes; the cross-backend test covers the others.
    backend = (await T.availableBackendNames()).includes('wasm') ? 'wasm' : 'js';
    await T.setBackend(backend);
    model = await loadStableDiffusion(await diskFolder(TINY_SD));
    sd = new StableDiffusion(model);
  });
  afterAll(async () => {
    sd.dispose();
    await oracle.close();
    expect(T.memory().tensors).toBe(0);
    await T.setBackend('js');
  });

  it('text encoder: last_hidden_state of "a photo of a cat" and "" (max |Δ| < 1e-4)', async () => {
    for (const [prompt, name] of [
      ['a photo of a cat', 'text.cat'],
      ['', 'text.empty'],
    ] as const) {
      const y = model.textEncoder.forward([model.tokenizer.encodePadded(prompt)]);
      expect(y.shape).toEqual([1, 77, 32]);
      const ref = await want(name);
      expect(maxAbsDiff(await y.data(), ref) / maxAbs(ref), name).toBeLessThan(1e-5);
      y.dispose();
    }
  });

  it('UNet: ε at t = 500 and at the float Euler timestep 795.12, batch [uncond, cond]', async () => {
    const lat = T.tensor(await want('unet.input'), [2, 4, 8, 8]);
    const ctx = await context();
    for (const [t, name] of [
      [500, 'unet.t500'],
      [795.1224365234375, 'unet.t795'],
    ] as const) {
      const y = model.unet.forward(lat, t, ctx);
      expect(y.shape).toEqual([2, 4, 8, 8]);
      const ref = await want(name);
      expect(maxAbsDiff(await y.data(), ref) / maxAbs(ref), name).toBeLessThan(1e-4);
      y.dispose();
    }
    // Slicing the attention queries (here 1 and 3 rows per call) changes nothing but the call count.
    for (const sliceSize of [1, 3]) {
      const y = model.unet.forward(lat, 500, ctx, { sliceSize });
      expect(maxAbsDiff(await y.data(), await want('unet.t500'))).toBeLessThan(1e-4);
      y.dispose();
    }
    T.dispose([lat, ctx]);
  });

  it('UNet, SD 2.x paths: linear proj_in/proj_out and attention_head_dim as a per-block head list', async () => {
    // The same weights with the 1×1 conv projections stored as linear [C, C] matrices, and 4 heads of 16
    // channels in the 64-channel blocks: what the oracle computed for "unet2.t500".
    const dir = await mkdtemp(join(tmpdir(), 'tiny-sd2-'));
    try {
      await cp(TINY_SD, dir, { recursive: true });
      const cfgPath = join(dir, 'unet', 'config.json');
      const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
      await writeFile(cfgPath, JSON.stringify({ ...cfg, use_linear_projection: true, attention_head_dim: [8, 4] }));
      const file = join(dir, 'unet', 'diffusion_pytorch_model.safetensors');
      const reader = await loadSafetensorsFile(file);
      const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
      for (const name of reader.names) {
        const t = await reader.read(name);
        const proj = /\.proj_(in|out)\.weight$/.test(name);
        tensors[name] = { dtype: 'F32', shape: proj ? t.shape.slice(0, 2) : t.shape, data: t.data as Float32Array };
      }
      await reader.close();
      await rm(join(dir, 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
      await saveSafetensorsFile(file, tensors);
      const m2 = await loadStableDiffusion(await diskFolder(dir));
      expect(m2.unet.config.heads).toEqual([8, 4]);
      const lat = T.tensor(await want('unet.input'), [2, 4, 8, 8]);
      const ctx = await context();
      const y = m2.unet.forward(lat, 500, ctx);
      const ref = await want('unet2.t500');
      expect(maxAbsDiff(await y.data(), ref) / maxAbs(ref)).toBeLessThan(1e-4);
      // And it is a different function from the SD 1.x reading of the same weights (heads matter).
      expect(maxAbsDiff(ref, await want('unet.t500'))).toBeGreaterThan(1e-2);
      T.dispose([lat, ctx, y]);
      new StableDiffusion(m2).dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('VAE: the mean latents of a 64×64 image and their decoding', async () => {
    const img = await imageTensor('vae.image');
    const x = T.tidy(() => T.sub(T.mul(img, 2 / 255), 1));
    const z = await model.vae.encode(x);
    expect(z.shape).toEqual([1, 4, 8, 8]);
    const refMean = await want('vae.mean');
    expect(maxAbsDiff(await z.data(), refMean) / maxAbs(refMean)).toBeLessThan(1e-4);
    const zRef = T.tensor(refMean, [1, 4, 8, 8]);
    const y = await model.vae.decode(zRef);
    expect(y.shape).toEqual([1, 3, 64, 64]);
    const refDec = await want('vae.decoded');
    expect(maxAbsDiff(await y.data(), refDec) / maxAbs(refDec)).toBeLessThan(1e-4);
    T.dispose([img, x, z, zRef, y]);
  });

  it('schedules: ᾱ, timesteps and σ exactly as diffusers computes them in float32', async () => {
    const ac = alphasCumprod(SD_SCHEDULER_CONFIG);
    const refAc = await want('schedule.alphas_cumprod');
    // Relative 1e-6: a few float32 ulps (torch's vectorised linspace rounds a few βs differently from a scalar
    // loop, and the product carries those differences along).
    let rel = 0;
    for (let i = 0; i < ac.length; i++) rel = Math.max(rel, Math.abs(ac[i] - refAc[i]) / refAc[i]);
    expect(rel).toBeLessThanOrEqual(1e-6);
    // The published check values (formats.md §6).
    expect(ac[0]).toBeCloseTo(0.99915, 5);
    expect(ac[999]).toBeCloseTo(0.0046601, 6);
    for (const n of [50, 10, 7]) {
      const check = async (name: SchedulerName, key: string, sigmas?: string) => {
        const s = createScheduler(SD_SCHEDULER_CONFIG, name, { rng: new T.Rng(0) });
        s.setTimesteps(n);
        expect(s.timesteps, `${name} ${n}`).toEqual(Array.from(await want(key)));
        if (sigmas) {
          const got = (s as unknown as { sigmas: number[] }).sigmas;
          expect(maxAbsDiff(got, await want(sigmas)), `${name} ${n} σ`).toBeLessThanOrEqual(2e-6);
        }
        s.dispose();
      };
      await check('ddim', `schedule.ddim${n}`);
      await check('pndm', `schedule.pndm${n}`);
      await check('euler', `schedule.euler${n}.t`, `schedule.euler${n}.sigma`);
      await check('dpm-solver++', `schedule.dpm${n}.t`, `schedule.dpm${n}.sigma`);
    }
  });

  /** mean and max |Δ| on the 0..255 scale between our image and the oracle's [1, 3, H, W] in 0..1. */
  async function compareImage(got: T.Tensor, name: string): Promise<{ mean: number; max: number }> {
    const a = await got.data();
    const b = await want(name);
    expect(a.length).toBe(b.length);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(Math.round(255 * a[i]) - Math.round(255 * b[i]));
      sum += d;
      max = Math.max(max, d);
    }
    return { mean: sum / a.length, max };
  }

  it('img2img at 64×64, 10 steps, strength 0.8, guidance 7.5: DDIM, Euler, PNDM and DPM-Solver++ match', async () => {
    const image = await imageTensor('vae.image');
    const noise = await want('noise.64');
    for (const [scheduler, key] of [
      ['ddim', 'ddim'],
      ['euler', 'euler'],
      ['pndm', 'pndm'],
      ['dpm-solver++', 'dpm'],
    ] as const) {
      const r = await sd.generate({ prompt: 'a photo of a cat', image, noise, steps: 10, strength: 0.8, scheduler });
      const d = await compareImage(r.image, `img2img.${key}`);
      expect(d.mean, `${scheduler} mean |Δ|`).toBeLessThanOrEqual(0.05);
      expect(d.max, `${scheduler} max |Δ|`).toBeLessThanOrEqual(1);
      r.image.dispose();
    }
    image.dispose();
  });

  it('v-prediction (img2img, no guidance) and txt2img at 32×32 match', async () => {
    const noise = await want('noise.32');
    const image = await imageTensor('image.32');
    const cfg = model.schedulerConfig;
    const v = new StableDiffusion({ ...model, schedulerConfig: { ...cfg, predictionType: 'v_prediction' } });
    for (const scheduler of ['ddim', 'euler'] as const) {
      const r = await v.generate({
        prompt: 'a photo of a cat',
        image,
        noise,
        steps: 6,
        strength: 0.7,
        guidance: 1,
        scheduler,
      });
      const d = await compareImage(r.image, `img2img.${scheduler}.v`);
      expect(d.mean, `${scheduler} v`).toBeLessThanOrEqual(0.05);
      expect(d.max).toBeLessThanOrEqual(1);
      r.image.dispose();
      const t = await sd.generate({ prompt: 'a photo of a cat', noise, steps: 5, width: 32, height: 32, scheduler });
      const dt = await compareImage(t.image, `txt2img.${scheduler}`);
      expect(dt.mean, `${scheduler} txt2img`).toBeLessThanOrEqual(0.05);
      expect(dt.max).toBeLessThanOrEqual(1);
      t.image.dispose();
    }
    image.dispose();
  });
});
