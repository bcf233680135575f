/**
 * tiny-sd components: shapes of every output, the fp16 weight files (the same values rounded, so outputs
 * within fp16 rounding of the f32 files'), what the loaders refuse and how they say it, sliced and causal
 * attention against one unsliced call, tiled VAE processing against an untiled pass, and cancellation.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import { multiHeadAttention } from '../../../models/sd/attention.js';
import { loadStableDiffusion, readConfigs, type StableDiffusionModel } from '../../../models/sd/load.js';
import { StableDiffusion } from '../../../models/sd/pipeline.js';
import { tiled } from '../../../models/sd/tiling.js';
import { diskFolder } from '../../../node/io/model-folder.js';
import { defaultModelsDir } from '../../../node/paths.js';

const TINY_SD = join(defaultModelsDir()!, 'tiny-sd');

async function maxDiff(a: T.Tensor, b: T.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('tiny-sd components', () => {
  let model: StableDiffusionModel;
  beforeAll(async () => {
    await T.setBackend((await T.availableBackendNames()).includes('wasm') ? 'wasm' : 'js');
    model = await loadStableDiffusion(await diskFolder(TINY_SD));
  });
  afterAll(async () => {
    new StableDiffusion(model).dispose();
    expect(T.memory().tensors).toBe(0);
    await T.setBackend('js');
  });

  it('configs: tiny-sd is an SD 1.x layout (8 heads, conv projections, DDIM, scaling 0.18215)', async () => {
    const c = await readConfigs(await diskFolder(TINY_SD));
    expect(c.unet.blockOutChannels).toEqual([32, 64]);
    expect(c.unet.heads).toEqual([8, 8]);
    expect(c.unet.linearProjection).toBe(false);
    expect(c.unet.downCrossAttention).toEqual([false, true]);
    expect(c.unet.upCrossAttention).toEqual([true, false]);
    expect(c.vae.scalingFactor).toBe(0.18215);
    expect(c.vae.blockOutChannels).toEqual([32, 64, 64, 64]);
    expect(c.textEncoder).toMatchObject({ hiddenSize: 32, layers: 5, heads: 4, intermediateSize: 37 });
    expect(c.scheduler).toMatchObject({ className: 'DDIMScheduler', stepsOffset: 1, setAlphaToOne: false });
    expect(model.tokenizer.pad).toBe(49407);
  });

  it('shapes: text [B, 77, 32], UNet ε like its input, VAE moments [1, 8, H/8, W/8], latents and images', async () => {
    const ctx = model.textEncoder.forward([model.tokenizer.encodePadded(''), model.tokenizer.encodePadded('a cat')]);
    expect(ctx.shape).toEqual([2, 77, 32]);
    const lat = T.randomNormal([2, 4, 6, 4], 0, 1, { rng: new T.Rng(1) });
    const eps = model.unet.forward(lat, 981, ctx);
    expect(eps.shape).toEqual([2, 4, 6, 4]);
    const img = T.randomUniform([1, 3, 48, 32], -1, 1, { rng: new T.Rng(2) });
    const m = model.vae.moments(img);
    expect(m.shape).toEqual([1, 8, 6, 4]);
    const z = await model.vae.encode(img);
    expect(z.shape).toEqual([1, 4, 6, 4]);
    const y = await model.vae.decode(z);
    expect(y.shape).toEqual([1, 3, 48, 32]);
    expect(model.vae.factor).toBe(8);
    expect(new StableDiffusion(model).sizeMultiple).toBe(16);
    T.dispose([ctx, lat, eps, img, m, z, y]);
    // Shapes that do not fit say what would.
    const odd = T.zeros([1, 4, 5, 4]);
    const c1 = T.zeros([1, 77, 32]);
    expect(() => model.unet.forward(odd, 1, c1)).toThrow(/multiples of 2, got \[1, 4, 5, 4\]/);
    const lat4 = T.zeros([1, 4, 4, 4]);
    const c16 = T.zeros([1, 77, 16]);
    expect(() => model.unet.forward(lat4, 1, c16)).toThrow(/text context must be \[1, L, 32\]/);
    const img20 = T.zeros([1, 3, 20, 16]);
    await expect(model.vae.encode(img20)).rejects.toThrow(/multiples of 8/);
    T.dispose([odd, c1, lat4, c16, img20]);
  });

  it('the fp16 files give the same network within fp16 rounding', async () => {
    const half = await loadStableDiffusion(await diskFolder(TINY_SD), { preferFp16: true });
    const ids = [model.tokenizer.encodePadded('a photo of a cat')];
    const a = model.textEncoder.forward(ids);
    const b = half.textEncoder.forward(ids);
    const d = await maxDiff(a, b);
    expect(d).toBeGreaterThan(0); // really the other file
    expect(d).toBeLessThan(0.05);
    const lat = T.randomNormal([1, 4, 4, 4], 0, 1, { rng: new T.Rng(3) });
    const e1 = model.unet.forward(lat, 500, a);
    const e2 = half.unet.forward(lat, 500, a);
    expect(await maxDiff(e1, e2)).toBeLessThan(0.05);
    T.dispose([a, b, lat, e1, e2]);
    new StableDiffusion(half).dispose();
  });

  it('sliced and causal attention equal one unsliced call', async () => {
    const rng = new T.Rng(4);
    const q = T.randomNormal([2, 13, 12], 0, 1, { rng });
    const k = T.randomNormal([2, 13, 12], 0, 1, { rng });
    const v = T.randomNormal([2, 13, 12], 0, 1, { rng });
    for (const causal of [false, true]) {
      const whole = multiHeadAttention(q, k, v, 3, { causal });
      for (const sliceSize of [1, 4, 12]) {
        const sliced = multiHeadAttention(q, k, v, 3, { causal, sliceSize });
        expect(await maxDiff(whole, sliced), `causal ${causal}, slice ${sliceSize}`).toBeLessThan(1e-6);
        sliced.dispose();
      }
      whole.dispose();
    }
    // Causal really masks: the first query sees only the first key, so its output is v[0]'s heads.
    const c = multiHeadAttention(q, k, v, 3, { causal: true, sliceSize: 5 });
    const first = T.slice(c, [null, { start: 0, end: 1 }]);
    const v0 = T.slice(v, [null, { start: 0, end: 1 }]);
    expect(await maxDiff(first, v0)).toBeLessThan(1e-6);
    T.dispose([q, k, v, c, first, v0]);
  });

  it('tiling: blending equal tiles changes nothing, and the VAE tiled decode stays close to the whole pass', async () => {
    // A per-pixel map through tiles must equal the map of the whole image: blends mix equal values.
    const x = T.randomNormal([1, 2, 21, 13], 0, 1, { rng: new T.Rng(5) });
    const up = (t: T.Tensor) =>
      T.tidy(() => T.resize(T.mul(t, 3), [2 * t.shape[2], 2 * t.shape[3]], { mode: 'nearest' }));
    const whole = up(x);
    const pieces = await tiled(x, { tile: 8, scale: 2 }, up);
    expect(pieces.shape).toEqual(whole.shape);
    expect(await maxDiff(whole, pieces)).toBeLessThan(1e-6);
    T.dispose([x, whole, pieces]);
    // The real decoder: GroupNorm and attention see one tile at a time, so the tiled image differs from the
    // whole pass (much, with these random weights) but is still the same picture: correlated.
    const z = T.randomNormal([1, 4, 12, 12], 0, 0.5, { rng: new T.Rng(6) });
    const full = await model.vae.decode(z, { tileSize: Number.POSITIVE_INFINITY });
    const tiles = await model.vae.decode(z, { tileSize: 64 });
    expect(tiles.shape).toEqual([1, 3, 96, 96]);
    const d = await maxDiff(full, tiles);
    expect(d).toBeGreaterThan(0);
    const [a, b] = [await full.data(), await tiles.data()];
    const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / v.length;
    const [ma, mb] = [mean(a), mean(b)];
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) ** 2;
      sbb += (b[i] - mb) ** 2;
    }
    // 0.61 measured here (random weights; independent images would be near 0).
    expect(sab / Math.sqrt(saa * sbb)).toBeGreaterThan(0.5);
    // Tiled encoding gives latents of the right shape.
    const img = T.randomUniform([1, 3, 96, 80], -1, 1, { rng: new T.Rng(7) });
    const lat = await model.vae.encode(img, { tileSize: 48 });
    expect(lat.shape).toEqual([1, 4, 12, 10]);
    T.dispose([z, full, tiles, img, lat]);
  });

  it('a generation stops between steps when its signal aborts, freeing everything', async () => {
    const sd = new StableDiffusion(model);
    const before = T.memory().tensors;
    const controller = new AbortController();
    let seen = 0;
    const run = sd.generate({
      prompt: 'x',
      width: 16,
      height: 16,
      steps: 10,
      guidance: 1,
      signal: controller.signal,
      onStep: (s) => {
        seen = s;
        if (s === 2) controller.abort(new Error('stop here'));
      },
    });
    await expect(run).rejects.toThrow('stop here');
    expect(seen).toBe(2);
    expect(T.memory().tensors).toBe(before);
  });

  it('rejects bad options with the value and the fix', async () => {
    const sd = new StableDiffusion(model);
    const image = T.zeros([1, 3, 16, 16]);
    await expect(sd.generate({ prompt: '', image, strength: 0.1, steps: 5 })).rejects.toThrow(
      /strength 0.1 × steps 5 rounds down to 0 denoising steps/,
    );
    await expect(sd.generate({ prompt: '', width: 24, height: 16 })).rejects.toThrow(
      /24×16: both sides must be positive multiples of 16/,
    );
    await expect(sd.generate({ prompt: '', image, noise: new Float32Array(5) })).rejects.toThrow(
      /noise: 5 values, but the latents are \[1, 4, 2, 2\] = 16 values \(64 bytes/,
    );
    await expect(sd.generate({ prompt: '', image, guidance: -1 })).rejects.toThrow(/guidance -1 is out of range/);
    image.dispose();
  });
});

describe('loading refuses folders that do not fit, naming the file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tiny-sd-bad-'));
    await cp(TINY_SD, dir, { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const edit = async (file: string, change: (c: Record<string, unknown>) => Record<string, unknown>) => {
    const p = join(dir, file);
    const before = await readFile(p, 'utf8');
    await writeFile(p, JSON.stringify(change(JSON.parse(before))));
    return () => writeFile(p, before);
  };

  it('mismatched configs, unsupported architectures, missing files', async () => {
    let undo = await edit('unet/config.json', (c) => ({ ...c, cross_attention_dim: 768 }));
    await expect(loadStableDiffusion(await diskFolder(dir))).rejects.toThrow(
      /the UNet cross-attends to 768-wide text but the text encoder is 32 wide/,
    );
    await undo();
    undo = await edit('unet/config.json', (c) => ({ ...c, addition_embed_type: 'text_time' }));
    await expect(loadStableDiffusion(await diskFolder(dir))).rejects.toThrow(
      /addition_embed_type "text_time" \(SDXL-style added conditioning\) is not supported/,
    );
    await undo();
    undo = await edit('unet/config.json', (c) => ({ ...c, block_out_channels: [32, 96] }));
    await expect(loadStableDiffusion(await diskFolder(dir))).rejects.toThrow(
      /diffusion_pytorch_model.safetensors: tensor ".*" is \[.*\] but the config implies \[.*\]; the weights and config.json describe different models/,
    );
    await undo();
    await rm(join(dir, 'vae', 'diffusion_pytorch_model.safetensors'));
    await rm(join(dir, 'vae', 'diffusion_pytorch_model.fp16.safetensors'));
    await expect(loadStableDiffusion(await diskFolder(dir))).rejects.toThrow(
      /no vae\/diffusion_pytorch_model.safetensors or vae\/diffusion_pytorch_model.fp16.safetensors/,
    );
    await expect(diskFolder(join(dir, 'nope'))).rejects.toThrow(/no such model folder/);
    expect(T.memory().tensors).toBe(0);
  });
});
