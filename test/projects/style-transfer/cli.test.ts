/** style-transfer commands through the CLI's main() (in process), on tiny sizes. */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readImage } from '../../../node/image/codec.js';
import { defaultImagesDir } from '../../../node/paths.js';
import { parseBlend } from '../../../projects/style-transfer/transfer.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-st-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const shared = defaultImagesDir()!;
const images = join(shared, 'content');
const starry = join(shared, 'style', 'vangogh_starry_night.jpg');

function cli(argv: string[]) {
  return runCli(argv, { cwd: dir, env: process.env });
}

describe('style-transfer CLI', () => {
  it('stylises the default content image and reports a JSON summary', async () => {
    const r = await cli(['style-transfer:transfer', '--size', '24', '--backend', 'js', '--json']);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.style).toBe('mosaic');
    expect(summary.backend).toBe('js');
    expect(summary.images[0].output).toBe(join(dir, 'stylized', 'astronaut-mosaic.png'));
    expect(summary.images[0].outputSize).toEqual({ width: 24, height: 24 });
    expect(Object.keys(summary.images[0].ms)).toEqual([
      'load-model',
      'preprocess',
      'predict-style',
      'stylize',
      'postprocess',
      'decode+encode',
    ]);
    expect(summary.arbitrary).toBeUndefined();
    const written = await readImage(summary.images[0].output);
    expect([written.width, written.height]).toEqual([24, 24]);
  });

  it('runs a folder in batch mode through the seed alias and its option names', async () => {
    const folder = join(dir, 'batch');
    await mkdir(folder);
    await copyFile(join(images, 'chelsea.png'), join(folder, 'a.png'));
    await copyFile(join(images, 'rocket.jpg'), join(folder, 'b.jpg'));
    const out = join(dir, 'out');
    const r = await cli([
      'coreml-stable-diffusion-style-transfer:transfer',
      '--content-image',
      folder,
      '--style',
      'candy',
      '--size',
      '20',
      '--output',
      out,
      '--backend',
      'js',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['a-candy.png', 'b-candy.png']);
    expect(JSON.parse(r.out).images.map((i: { outputSize: unknown }) => i.outputSize)).toEqual([
      { width: 20, height: 13 },
      { width: 20, height: 13 },
    ]);
  });

  it('exits 2 with a clear message for an unknown style, missing files, conflicting styles and bad weights', async () => {
    const unknown = await cli(['style-transfer:transfer', '--style', 'picaso', '--backend', 'js']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /unknown style 'picaso': not a named style \(candy, .*\) and no image file by that name/,
    );
    const missing = await cli(['style-transfer:transfer', '--content', 'nope.png', '--backend', 'js']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope.png: no such file/);
    const noStyle = await cli(['style-transfer:transfer', '--style-image', 'x.jpg', '--backend', 'js']);
    expect(noStyle.code).toBe(2);
    expect(noStyle.err).toContain(`${join(dir, 'x.jpg')}: no such style image file`);
    const both = await cli(['style-transfer:transfer', '--style', 'candy', '--style-image', starry, '--backend', 'js']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/give one of --style, --style-image or --blend/);
    const negative = await cli(['style-transfer:transfer', '--blend', `${starry}:-2`, '--backend', 'js']);
    expect(negative.code).toBe(2);
    expect(negative.err).toMatch(/the weight -2 must be ≥ 0/);
  });

  it('takes any image as the style: --style PATH, --strength and the JSON summary', async () => {
    const r = await cli([
      'style-transfer:transfer',
      '--content',
      join(images, 'chelsea.png'),
      '--style',
      starry,
      '--strength',
      '0.6',
      '--style-size',
      '32',
      '--size',
      '24',
      '--backend',
      'js',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.style).toBe('vangogh_starry_night');
    expect(summary.arbitrary).toEqual({
      styleImages: [{ path: starry, weight: 1 }],
      strength: 0.6,
      styleSize: 32,
      weights: 'int8',
    });
    expect(summary.images[0].output).toBe(join(dir, 'stylized', 'chelsea-vangogh_starry_night.png'));
    expect(summary.images[0].outputSize).toEqual({ width: 24, height: 16 });
    const written = await readImage(summary.images[0].output);
    expect([written.width, written.height]).toEqual([24, 16]);
  });

  it('blends style images with --blend PATH:WEIGHT through the seed alias, and --style-image', async () => {
    const wave = join(shared, 'style', 'hokusai_great_wave.jpg');
    const blend = await cli([
      'coreml-stable-diffusion-style-transfer:transfer',
      '--content-image',
      join(images, 'chelsea.png'),
      '--blend',
      `${wave}:1`,
      '--blend',
      `${starry}:0`,
      '--style-size',
      '32',
      '--size',
      '20',
      '--output',
      join(dir, 'blend.png'),
      '--backend',
      'js',
      '--json',
    ]);
    expect(blend.code, blend.err).toBe(0);
    expect(JSON.parse(blend.out).style).toBe('hokusai_great_wave+vangogh_starry_night');
    const single = await cli([
      'coreml-stable-diffusion-style-transfer:transfer',
      '--content-image',
      join(images, 'chelsea.png'),
      '--style-image',
      wave,
      '--style-size',
      '32',
      '--size',
      '20',
      '--output',
      join(dir, 'single.png'),
      '--backend',
      'js',
    ]);
    expect(single.code, single.err).toBe(0);
    // Weight 0 drops the second image: the blend is the single style, byte for byte.
    expect((await readImage(join(dir, 'blend.png'))).data).toEqual((await readImage(join(dir, 'single.png'))).data);
  });

  it('stops on a cancelled signal: exit 130, nothing written', async () => {
    const controller = new AbortController();
    controller.abort();
    const out = join(dir, 'cancelled.png');
    const r = await runCli(['style-transfer:transfer', '--size', '24', '--backend', 'js', '--output', out], {
      cwd: dir,
      env: process.env,
      signal: controller.signal,
    });
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/cancelled/);
    expect(existsSync(out)).toBe(false);
  });

  it('parses --blend values: the weight after the last colon, else the whole value is the path', () => {
    expect(parseBlend('a.jpg:0.25')).toEqual({ path: 'a.jpg', weight: 0.25 });
    expect(parseBlend('dir:x/a.jpg:2')).toEqual({ path: 'dir:x/a.jpg', weight: 2 });
    expect(parseBlend('C:\\art\\a.jpg')).toMatchObject({ path: 'C:\\art\\a.jpg', weight: 1 });
    expect(parseBlend('a.jpg')).toEqual({ path: 'a.jpg', weight: 1 });
    // A non-numeric tail is kept as the other reading, for the error when no file has the whole name.
    expect(parseBlend('a.jpg:abc')).toEqual({
      path: 'a.jpg:abc',
      weight: 1,
      badWeight: { path: 'a.jpg', text: 'abc' },
    });
    expect(() => parseBlend('a.jpg:-1')).toThrow(/the weight -1 must be ≥ 0/);
  });

  it('lists the named styles with licences', async () => {
    const r = await cli(['style-transfer:styles', '--json']);
    expect(r.code).toBe(0);
    const styles = JSON.parse(r.out);
    expect(styles.map((s: { name: string }) => s.name)).toEqual([
      'candy',
      'mosaic',
      'pointilism',
      'rain-princess',
      'udnie',
    ]);
    expect(new Set(styles.map((s: { license: string }) => s.license))).toEqual(new Set(['BSD-3-Clause']));
    const human = await cli(['style-transfer:styles']);
    expect(human.out).toMatch(/Arbitrary style: any image is a style with --style PATH/);
    expect(human.out).toMatch(
      /int8 +Arbitrary style from any image \(int8 weights\), model magenta-arbitrary +\(Apache-2.0; Magenta/,
    );
    expect(human.out).toMatch(/fp16 .*model magenta-arbitrary-fp16/);
  });
});
