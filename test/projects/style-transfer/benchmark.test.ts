/**
 * style-transfer:benchmark through the CLI (in process), on tiny inputs: the seed command on a package
 * converted by style-transfer:convert, a named style on two backends, and the defaults (no arguments but
 * sizes). Checks the report's content (per-image statistics, throughput, peak memory) and that the JSON,
 * Markdown and HTML files are bench/'s writers' output.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../../bench/record.js';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import { defaultImagesDir } from '../../../node/paths.js';
import { modelsDir } from '../../helpers/model-files.js';
import { argvOf, runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-stbench-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const images = join(dir, 'images');
await mkdir(images);
for (const name of ['chelsea.png', 'rocket.jpg'])
  await copyFile(join(defaultImagesDir()!, 'content', name), join(images, name));

const run = (argv: string[]) => runCli(argv, { cwd: dir, env: process.env });
const available = await T.availableBackendNames();
// The js backend runs the reference kernels (float64 loops): correct, and minutes slower than the others.
const fast = available.includes('native') ? 'native' : available.includes('wasm') ? 'wasm' : 'js';
/** One timed run per image, no warm-up, on the fastest backend here. */
const QUICK = { runs: 1, warmup: 0, backends: fast } as const;

type Result = BenchReport & { files: { json: string; markdown: string; html: string } };

function checkRecords(report: BenchReport, runsPerBackend: number): void {
  for (const r of report.records) {
    expect(r.suite).toBe('style-benchmark');
    expect(r.runs).toBe(runsPerBackend);
    expect(r.medianMs).toBeGreaterThan(0);
    expect(r.p90Ms).toBeGreaterThanOrEqual(r.medianMs);
    expect(r.peakMemoryBytes).toBeGreaterThan(0);
    expect(r.notes.some((n) => /^throughput \d+\.\d\d images\/s/.test(n))).toBe(true);
    expect(r.notes.some((n) => /^peak tensor memory \d+\.\d MB/.test(n))).toBe(true);
  }
}

describe('style-transfer:benchmark', () => {
  it('the seed command runs on a package convert wrote, and writes JSON, Markdown and HTML', async () => {
    const pkg = join(dir, 'model.mlpackage');
    const c = await run([
      'coreml-stable-diffusion-style-transfer:convert',
      '--model-path',
      join(modelsDir, 'fast-neural-style-pth', 'candy.pth'),
      '--output-path',
      pkg,
      '--size',
      '24',
    ]);
    expect(c.code, c.err).toBe(0);
    const r = await run(
      argvOf('coreml-stable-diffusion-style-transfer:benchmark', {
        'model-path': pkg,
        'test-images': images,
        ...QUICK,
        json: true,
      }),
    );
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as Result;
    expect(report.records).toHaveLength(1);
    const [record] = report.records;
    expect(record.op).toBe('coreml-mil model.mlpackage');
    expect(record.shape).toBe('[1,3,24,24]');
    expect(record.backend).toBe(fast);
    expect(record.flops).toBeGreaterThan(0);
    checkRecords(report, 2);
    // Core ML itself runs only on macOS; elsewhere the report says so instead of leaving it out.
    if (process.platform !== 'darwin') {
      expect(report.unavailable).toContainEqual({
        backend: 'coreml',
        reason: `Core ML runs only on macOS (this is ${process.platform})`,
      });
    }
    const files = await readdir(join(dir, 'style-benchmark'));
    expect(
      files
        .filter((f) => f.startsWith('bench-style-benchmark-'))
        .map((f) => f.split('.').pop())
        .sort(),
    ).toEqual(['html', 'json', 'md']);
    expect(JSON.parse(await readFile(report.files.json, 'utf8')).records[0].op).toBe(record.op);
    expect(await readFile(report.files.markdown, 'utf8')).toContain('| coreml-mil model.mlpackage |');
    expect(await readFile(report.files.html, 'utf8')).toContain('<svg');
  });

  it('a named style on the compiled CPU backends, with the unavailable ones listed', async () => {
    const r = await run([
      'style-transfer:benchmark',
      '--model-path',
      'candy',
      '--test-images',
      images,
      '--size',
      '20',
      '--runs',
      '2',
      '--warmup',
      '0',
      '--backends',
      'native,wasm',
      '--output',
      join(dir, 'out2'),
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as Result;
    expect(report.records.map((x) => x.backend)).toEqual(
      ['native', 'wasm'].filter((b) => available.includes(b as T.BackendName)),
    );
    expect(report.unavailable.map((u) => u.backend)).toEqual(
      ['native', 'wasm'].filter((b) => !available.includes(b as T.BackendName)),
    );
    checkRecords(report, 4);
    expect(report.records[0].op).toBe('neural fast-style TransformerNet from the bundled style candy');
  });

  it('an .onnx file runs as the toolkit network it describes', async () => {
    const onnx = join(modelsDir, 'fast-neural-style', 'udnie.onnx');
    const r = await run(
      argvOf('style-transfer:benchmark', { 'model-path': onnx, 'test-images': images, size: 16, ...QUICK, json: true }),
    );
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as Result;
    expect(report.records.map((x) => x.op)).toEqual(['neural fast-style TransformerNet from udnie.onnx']);
    checkRecords(report, 2);
  });

  it('runs on its defaults (the bundled style and sample images) and prints the Markdown table', async () => {
    const r = await run(argvOf('style-transfer:benchmark', { size: 16, ...QUICK }));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('## bench:style-benchmark');
    expect(r.out).toContain('neural fast-style TransformerNet from the bundled style mosaic');
    expect(r.out).toMatch(/Wrote .*style-benchmark[/\\]bench-style-benchmark-.*\.json/);
  });

  it('refuses a missing image folder and an unknown backend', async () => {
    const a = await run(['style-transfer:benchmark', '--test-images', join(dir, 'nope')]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--test-images .*nope: no such file or folder/);
    const b = await run(['style-transfer:benchmark', '--backends', 'tpu']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/unknown backend 'tpu'/);
  });
});
