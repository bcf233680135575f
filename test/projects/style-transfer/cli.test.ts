/** style-transfer commands through the CLI's main() (in process), on tiny sizes. */
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { readImage } from '../../../node/image/codec.js';
import { defaultImagesDir } from '../../../node/paths.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-st-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const images = join(defaultImagesDir()!, 'content');

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    cwd: dir,
    stdout: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream,
    stderr: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WriteStream,
  });
  return { code, out, err };
}

describe('style-transfer CLI', () => {
  it('stylises the default content image and reports a JSON summary', async () => {
    const r = await cli(['style-transfer:transfer', '--size', '24', '--backend', 'js', '--json']);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.style).toBe('mosaic');
    expect(summary.backend).toBe('js');
    expect(summary.images[0].output).toBe(join(dir, 'astronaut-mosaic.png'));
    expect(summary.images[0].outputSize).toEqual({ width: 24, height: 24 });
    expect(Object.keys(summary.images[0].ms)).toEqual([
      'load-model',
      'preprocess',
      'stylize',
      'postprocess',
      'decode+encode',
    ]);
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

  it('exits 2 with a clear message for an unknown style, a missing file and a style image', async () => {
    const unknown = await cli(['style-transfer:transfer', '--style', 'picaso', '--backend', 'js']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown style 'picaso'/);
    const missing = await cli(['style-transfer:transfer', '--content', 'nope.png', '--backend', 'js']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope.png: no such file/);
    const arbitrary = await cli(['style-transfer:transfer', '--style-image', 'x.jpg', '--backend', 'js']);
    expect(arbitrary.code).toBe(2);
    expect(arbitrary.err).toMatch(/Magenta/);
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
  });
});
