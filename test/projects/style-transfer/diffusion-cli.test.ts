/**
 * `style-transfer:transfer --method diffusion` through the CLI's main() on the bundled tiny-sd: the JSON
 * summary and the written image, --noise reproducing a run, the seed alias, the LoRA option, and the errors.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readImage } from '../../../node/image/codec.js';
import { saveSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { defaultImagesDir } from '../../../node/paths.js';
import { parseLoraArg } from '../../../projects/style-transfer/diffusion.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-sd-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const chelsea = join(defaultImagesDir()!, 'content', 'chelsea.png'); // 451×300

function cli(argv: string[], signal?: AbortSignal) {
  return runCli(argv, { cwd: dir, env: process.env, signal });
}

const BASE = ['--method', 'diffusion', '--content', chelsea, '--size', '24', '--steps', '4', '--backend', 'wasm'];

describe('style-transfer:transfer --method diffusion', () => {
  it('restyles with a named diffusion style and reports a JSON summary', async () => {
    const r = await cli(['style-transfer:transfer', ...BASE, '--style', 'watercolor', '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({
      method: 'diffusion',
      style: 'watercolor',
      strength: 0.6,
      steps: 4,
      denoisingSteps: 2,
      scheduler: 'ddim',
      guidance: 7.5,
      backend: 'wasm',
      output: join(dir, 'chelsea-watercolor.png'),
      inputSize: { width: 451, height: 300 },
      // 24 × 16 after fitting the long side to 24 and rounding to multiples of 16.
      outputSize: { width: 32, height: 16 },
    });
    expect(s.prompt).toMatch(/watercolor painting/);
    expect(s.model).toMatch(/^tiny-sd /);
    const img = await readImage(s.output);
    expect([img.width, img.height]).toEqual([32, 16]);
  });

  it('--noise reproduces a run exactly; another noise gives another picture', async () => {
    const values = new Float32Array(4 * 2 * 4); // [1, 4, 16/8, 32/8]
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 1.7);
    const noise = join(dir, 'noise.f32');
    await writeFile(noise, new Uint8Array(values.buffer));
    const run = async (out: string, extra: string[]) => {
      const r = await cli([
        'style-transfer:transfer',
        ...BASE,
        '--prompt',
        'a cat',
        '--scheduler',
        'euler',
        '--output',
        join(dir, out),
        ...extra,
      ]);
      expect(r.code, r.err).toBe(0);
      return (await readImage(join(dir, out))).data;
    };
    const a = await run('a.png', ['--noise', noise]);
    const b = await run('b.png', ['--noise', noise, '--seed', '99']); // the file overrides the seed
    const c = await run('c.png', ['--seed', '3']);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    await writeFile(noise, new Uint8Array(12));
    const bad = await cli(['style-transfer:transfer', ...BASE, '--prompt', 'a cat', '--noise', noise]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/noise: 3 values, but the latents are \[1, 4, 2, 4\] = 32 values \(128 bytes/);
  });

  it('works through the seed alias and its option names, with a LoRA file', async () => {
    const lora = join(dir, 'style.safetensors');
    await saveSafetensorsFile(lora, {
      'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': {
        dtype: 'F32',
        shape: [1, 64, 1, 1],
        data: new Float32Array(64).fill(0.1),
      },
      'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight': {
        dtype: 'F32',
        shape: [64, 1, 1, 1],
        data: new Float32Array(64).fill(0.1),
      },
    });
    const r = await cli([
      'coreml-stable-diffusion-style-transfer:transfer',
      '--method',
      'diffusion',
      '--content-image',
      chelsea,
      '--prompt',
      'an oil painting',
      '--size',
      '16',
      '--steps',
      '2',
      '--strength',
      '1',
      '--guidance',
      '1',
      '--lora',
      `${lora}:0.5`,
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ denoisingSteps: 2, loras: [{ path: lora, weight: 0.5 }] });
    expect(parseLoraArg('C:/x/y.safetensors')).toEqual({ path: 'C:/x/y.safetensors', weight: 1 });
  });

  it('explains what is missing or misplaced', async () => {
    let r = await cli(['style-transfer:transfer', ...BASE]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--method diffusion needs --prompt TEXT or --style NAME \(watercolor, /);
    r = await cli(['style-transfer:transfer', ...BASE, '--style', 'mosaic']);
    expect(r.err).toMatch(/unknown diffusion style 'mosaic'/);
    r = await cli(['style-transfer:transfer', '--content', chelsea, '--prompt', 'x', '--size', '16']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--prompt: only with --method diffusion/);
    r = await cli(['style-transfer:transfer', ...BASE, '--prompt', 'x', '--model', 'sd-9']);
    expect(r.err).toMatch(/--model sd-9: neither a diffusers folder nor a model registry entry/);
    r = await cli(['style-transfer:transfer', ...BASE, '--prompt', 'x', '--style-image', chelsea]);
    expect(r.err).toMatch(/not style images/);
    r = await cli(['style-transfer:transfer', ...BASE, '--prompt', 'x', '--scheduler', 'lms']);
    expect(r.code).toBe(2);
  });

  it('stops when cancelled and writes nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('interrupted by Ctrl-C'));
    const before = await readdir(dir);
    const r = await cli(
      ['style-transfer:transfer', ...BASE, '--prompt', 'x', '--output', join(dir, 'never.png')],
      controller.signal,
    );
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/interrupted/);
    expect(await readdir(dir)).toEqual(before);
  });
});
