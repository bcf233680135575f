// style-transfer:transfer and the user's files, through the in-process CLI: where outputs go, what it refuses
// to overwrite, batches that meet a bad file, transparency, errors a user can act on, and the warning before
// a run of minutes. Tiny sizes on the js backend, the default style (mosaic).
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeImage, readImage } from '../../../node/image/codec.js';
import { defaultImagesDir } from '../../../node/paths.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'eai-st-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shared = defaultImagesDir()!;
const chelsea = join(shared, 'content', 'chelsea.png');
const starry = join(shared, 'style', 'vangogh_starry_night.jpg');

function cli(argv: string[], options: { signal?: AbortSignal } = {}) {
  return runCli(['style-transfer:transfer', '--backend', 'js', ...argv], {
    cwd: dir,
    env: process.env,
    ...options,
  });
}

/** A width × height PNG with a horizontal colour ramp and `alpha(x, y)` as its alpha channel. */
function png(path: string, width: number, height: number, alpha = (_x: number, _y: number) => 255): string {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      data.set([(x * 255) / width, (y * 255) / height, 128, alpha(x, y)], i);
    }
  }
  writeFileSync(path, encodeImage({ width, height, data }, 'png'));
  return path;
}

describe('style-transfer:transfer outputs', () => {
  it('writes into ./stylized/ by default, and into an existing folder given as --output', async () => {
    const r = await cli(['--content', chelsea, '--size', '16', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).images[0].output).toBe(join(dir, 'stylized', 'chelsea-mosaic.png'));
    const folder = join(dir, 'existing');
    mkdirSync(folder);
    const into = await cli(['--content', chelsea, '--size', '16', '--output', folder, '--json']);
    expect(into.code, into.err).toBe(0);
    expect(readdirSync(folder)).toEqual(['chelsea-mosaic.png']);
  });

  it('refuses to overwrite the content image unless --force, and a file --output for a folder of inputs', async () => {
    const photo = join(dir, 'photo.png');
    copyFileSync(chelsea, photo);
    const before = readFileSync(photo);
    const refused = await cli(['--content', photo, '--output', photo, '--size', '16']);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`--output ${photo} is the content image itself`);
    expect(refused.err).toContain('--force');
    expect(readFileSync(photo)).toEqual(before);
    const forced = await cli(['--content', photo, '--output', photo, '--size', '16', '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect((await readImage(photo)).width).toBe(16);

    const folder = join(dir, 'inputs');
    mkdirSync(folder);
    copyFileSync(chelsea, join(folder, 'a.png'));
    const wrong = await cli(['--content', folder, '--output', join(dir, 'x.png'), '--size', '16']);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('--content is a folder');
    expect(wrong.err).toContain('not an image file name');
    expect(existsSync(join(dir, 'x.png'))).toBe(false);
  });
});

describe('style-transfer:transfer batches', () => {
  const folder = join(dir, 'batch');
  mkdirSync(folder);
  copyFileSync(chelsea, join(folder, 'a.png'));
  writeFileSync(join(folder, 'b.png'), 'not a png');
  png(join(folder, 'c.png'), 400, 2); // 16×1 at --size 16: too thin for the networks

  it('stops at the first bad image, naming it; --keep-going writes the rest and lists the failures (exit 1)', async () => {
    const out = join(dir, 'batch-out');
    const stopped = await cli(['--content', folder, '--output', out, '--size', '16']);
    expect(stopped.code).toBe(2);
    expect(stopped.err).toContain(`${join(folder, 'b.png')}: not a PNG or JPEG file`);

    const going = await cli(['--content', folder, '--output', out, '--size', '16', '--keep-going', '--json']);
    expect(going.code).toBe(1);
    const summary = JSON.parse(going.out);
    expect(summary.images.map((i: { input: string }) => i.input)).toEqual([join(folder, 'a.png')]);
    expect(summary.failures.map((f: { input: string }) => f.input)).toEqual([
      join(folder, 'b.png'),
      join(folder, 'c.png'),
    ]);
    expect(summary.failures[1].error).toMatch(
      /c\.png: the content image is 400×2: .* at least 5×5; use a size of 900 or more/,
    );
    expect(readdirSync(out)).toEqual(['a-mosaic.png']);
    // Progress counts every image, good or bad: a third at a time.
    expect(going.err).toContain('33% (1/3 images');
  });
});

describe('style-transfer:transfer transparency', () => {
  it("keeps the content image's alpha channel in the PNG, scaled like its colours", async () => {
    const alpha = (x: number, y: number) => (x * 16 + y * 3) % 256;
    const content = png(join(dir, 'alpha.png'), 32, 32, alpha);
    const same = await cli(['--content', content, '--size', '32', '--output', join(dir, 'alpha-32.png')]);
    expect(same.code, same.err).toBe(0);
    const out32 = await readImage(join(dir, 'alpha-32.png'));
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) expect(out32.data[4 * (y * 32 + x) + 3]).toBe(alpha(x, y));
    }
    // Halving averages 2×2 blocks (the area filter), so each output alpha is its block's mean.
    const half = await cli(['--content', content, '--size', '16', '--output', join(dir, 'alpha-16.png')]);
    expect(half.code, half.err).toBe(0);
    const out16 = await readImage(join(dir, 'alpha-16.png'));
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const mean =
          (alpha(2 * x, 2 * y) + alpha(2 * x + 1, 2 * y) + alpha(2 * x, 2 * y + 1) + alpha(2 * x + 1, 2 * y + 1)) / 4;
        expect(Math.abs(out16.data[4 * (y * 16 + x) + 3] - mean)).toBeLessThanOrEqual(0.5);
      }
    }
  });
});

describe('style-transfer:transfer errors', () => {
  it('says a --blend weight is bad when the file before the colon exists', async () => {
    const r = await cli(['--blend', `${starry}:abc`]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`'abc' is not a weight; give a number ≥ 0 after the last colon, e.g. ${starry}:0.5`);
  });

  it.skipIf(process.platform !== 'linux')(
    'names the output and the reason when it cannot be written, not the temp file',
    async () => {
      const r = await cli(['--content', chelsea, '--size', '16', '--output', '/sys/out.png']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error: .*chelsea\.png: cannot write \/sys\/out\.png: permission denied/);
      expect(r.err).not.toMatch(/\.tmp|AtomicWriteError/);
    },
  );

  it('announces a run of minutes with a faster way before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await cli(['--content', chelsea, '--size', '512'], { signal: controller.signal });
    expect(r.code).toBe(130);
    // chelsea is 451×300: 512×341 on js is ~54 GFLOP at ~0.34 GFLOP/s.
    expect(r.err).toMatch(
      /warning: this run will take about \d+ min: the image is 5\d GFLOP of work, and the js backend runs about 0.34 GFLOP\/s/,
    );
    expect(r.err).toMatch(/Faster: .*--size 256 \(about \d+ s\)/);
  });
});
