/**
 * style-transfer:convert on a diffusers folder (tiny-sd at 64×64: 8×8 latents): the text encoder, UNet and
 * VAE encoder/decoder each written as ONNX, then run in onnxruntime-node on inputs other than the ones they
 * were traced on (another prompt, another timestep, other latents and images) and compared with the
 * toolkit's own model code on the same inputs — so a value the trace froze into a constant would show here.
 * Tolerance: max |Δ| ≤ 1e-4 of the output's scale (float32 files differ by summation order only; measured
 * ≤ 6e-6 relative, docs/conversion.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import { loadStableDiffusion, type StableDiffusionModel } from '../../../models/sd/load.js';
import { StableDiffusion } from '../../../models/sd/pipeline.js';
import { diskFolder } from '../../../node/io/model-folder.js';
import type { ConvertResult } from '../../../projects/style-transfer/convert.js';
import { modelsDir } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const TINY_SD = join(modelsDir, 'tiny-sd');
const SIZE = 64;
const h = SIZE / 8;
const dir = await mkdtemp(join(tmpdir(), 'eai-convert-sd-'));

/** Values in [-a, a], a pattern unlike convert's example inputs. */
function pattern(n: number, phase: number, a = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => a * Math.cos(i * 1.37 + phase) * Math.sin(i * 0.031 + 2 * phase));
}

async function runOrt(file: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run(feeds);
    return Object.values(out)[0].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** max |Δ| relative to max(max |reference|, 1). */
async function relativeMaxDiff(reference: T.Tensor, got: Float32Array): Promise<number> {
  const r = await reference.data();
  expect(got.length).toBe(r.length);
  let m = 0;
  let scale = 1;
  for (let i = 0; i < r.length; i++) {
    m = Math.max(m, Math.abs(r[i] - got[i]));
    scale = Math.max(scale, Math.abs(r[i]));
  }
  return m / scale;
}

describe('convert: a Stable Diffusion pipeline (tiny-sd) → one ONNX file per network', () => {
  let sd: StableDiffusionModel;
  let results: ConvertResult[];
  const file = (component: string) => join(dir, `tiny-sd_${component}.onnx`);

  beforeAll(async () => {
    const r = await runCli(
      [
        'style-transfer:convert',
        '--model-path',
        TINY_SD,
        '--output-path',
        join(dir, 'tiny-sd.onnx'),
        '--size',
        String(SIZE),
        '--json',
      ],
      { cwd: dir, env: process.env },
    );
    expect(r.code, r.err).toBe(0);
    results = JSON.parse(r.out) as ConvertResult[];
    sd = await loadStableDiffusion(await diskFolder(TINY_SD));
  });
  afterAll(async () => {
    new StableDiffusion(sd).dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the four networks with the shapes diffusers' classes take, each verified by convert itself", () => {
    expect(results.map((r) => [r.architecture, r.output])).toEqual([
      ['sd-text-encoder', file('text-encoder')],
      ['sd-unet', file('unet')],
      ['sd-vae-encoder', file('vae-encoder')],
      ['sd-vae-decoder', file('vae-decoder')],
    ]);
    const shapes = results.map((r) => [r.inputs.map((i) => i.shape), r.outputs.map((o) => o.shape)]);
    expect(shapes).toEqual([
      [[[1, 77]], [[1, 77, 32]]],
      [[[2, 4, h, h], [2], [2, 77, 32]], [[2, 4, h, h]]],
      [[[1, 3, SIZE, SIZE]], [[1, 4, h, h]]],
      [[[1, 4, h, h]], [[1, 3, SIZE, SIZE]]],
    ]);
    for (const r of results) expect(r.verification).toMatchObject({ runtime: 'onnxruntime-node (CPU)', ok: true });
  });

  it('text encoder: another prompt (int32 ids) gives the toolkit encoder’s last_hidden_state', async () => {
    const ids = sd.tokenizer.encodePadded('an oil painting of a harbour at night, stormy sea');
    const y = sd.textEncoder.forward([ids]);
    const got = await runOrt(file('text-encoder'), {
      input_ids: new ort.Tensor('int32', Int32Array.from(ids), [1, 77]),
    });
    expect(await relativeMaxDiff(y, got)).toBeLessThan(1e-4);
    y.dispose();
  });

  it('UNet: another timestep, latents and text embeddings give the toolkit UNet’s prediction', async () => {
    const sample = pattern(2 * 4 * h * h, 0.3);
    const x = T.tensor(sample, [2, 4, h, h]);
    const ctx = sd.textEncoder.forward([sd.tokenizer.encodePadded(''), sd.tokenizer.encodePadded('a red fox')]);
    const y = sd.unet.forward(x, 101, ctx);
    const got = await runOrt(file('unet'), {
      sample: new ort.Tensor('float32', sample, [2, 4, h, h]),
      timestep: new ort.Tensor('float32', Float32Array.of(101, 101), [2]),
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from(await ctx.data()), [2, 77, 32]),
    });
    expect(await relativeMaxDiff(y, got)).toBeLessThan(1e-4);
    T.dispose([x, ctx, y]);
  });

  it('VAE: encoding an image and decoding latents agree with Vae.encode / Vae.decode', async () => {
    const image = pattern(3 * SIZE * SIZE, 1.1, 0.95);
    const x = T.tensor(image, [1, 3, SIZE, SIZE]);
    const z = await sd.vae.encode(x);
    const zOrt = await runOrt(file('vae-encoder'), { image: new ort.Tensor('float32', image, [1, 3, SIZE, SIZE]) });
    expect(await relativeMaxDiff(z, zOrt)).toBeLessThan(1e-4);
    const latents = Float32Array.from(await z.data());
    const decoded = await sd.vae.decode(z);
    const yOrt = await runOrt(file('vae-decoder'), { latent: new ort.Tensor('float32', latents, [1, 4, h, h]) });
    expect(await relativeMaxDiff(decoded, yOrt)).toBeLessThan(1e-4);
    T.dispose([x, z, decoded]);
  });

  it('the UNet as a float16 .mlpackage: its interpreted program passes the PSNR check (≥ 35 dB)', async () => {
    const out = join(dir, 'unet.mlpackage');
    const r = await runCli(
      [
        'style-transfer:convert',
        '--model-path',
        TINY_SD,
        '--component',
        'unet',
        '--output-path',
        out,
        '--size',
        String(SIZE),
        '--json',
      ],
      { cwd: dir, env: process.env },
    );
    expect(r.code, r.err).toBe(0);
    const v = (JSON.parse(r.out) as ConvertResult).verification;
    expect(v).toMatchObject({ ok: true, tolerance: null, minPsnrDb: 35 });
    // Measured 48.8 dB, mean |Δ| 0.3% of the output scale.
    if ('skipped' in v) throw new Error(v.skipped);
    expect(v.psnrDb).toBeGreaterThan(40);
    expect(v.meanAbsDiff / v.outputMaxAbs).toBeLessThan(0.01);
  });

  it('the text encoder as a float32 .mlpackage: token ids declared float32 and cast to int32 reproduce the encoder', async () => {
    const r = await runCli(
      [
        'style-transfer:convert',
        '--model-path',
        TINY_SD,
        '--component',
        'text-encoder',
        '--precision',
        'float32',
        '--output-path',
        join(dir, 'text.mlpackage'),
        '--json',
      ],
      { cwd: dir, env: process.env },
    );
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out) as ConvertResult;
    expect(result.ops.gather).toBe(1);
    const v = result.verification;
    if ('skipped' in v) throw new Error(v.skipped);
    expect(v.ok).toBe(true);
    expect(v.maxAbsDiff).toBeLessThan(1e-4 * v.outputMaxAbs);
  });

  it('refuses an unknown component and a size the UNet cannot take, naming the fix', async () => {
    const bad = async (flags: string[]) =>
      runCli(['style-transfer:convert', '--model-path', TINY_SD, '--output-path', join(dir, 'x.onnx'), ...flags], {
        cwd: dir,
        env: process.env,
      });
    const unknown = await bad(['--component', 'decoder']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/text-encoder.*unet.*vae-encoder.*vae-decoder/);
    const odd = await bad(['--component', 'unet', '--size', '72']);
    expect(odd.code).toBe(2);
    expect(odd.err).toMatch(/--size 72x72.*multiples of 16/);
  });
});
