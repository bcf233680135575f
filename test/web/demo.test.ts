/**
 * The browser demo end to end: build web/ with Vite, serve the build with `vite preview` on
 * 127.0.0.1 (random port), open it in headless Chromium, upload a photo, pick a style and a
 * size, press Stylize, and read the output canvas.
 *
 * Oracle: the Node pipeline (StyleTransferPipeline, the same code the page's worker runs) on a
 * CPU backend in this process, fed the same PNG decoded by pngjs. The page prefers wasm; the
 * oracle prefers native (independent C++ kernels), then wasm, then js.
 *
 * Tolerance, on the 0..255 scale: PNG is lossless and the page decodes without colour
 * management (colorSpaceConversion: 'none'), so both sides start from identical pixels (checked
 * below: a difference there would show up everywhere, not in a few pixels); resizing happens
 * inside the pipeline's tensor ops on both sides. What differs is float summation order
 * between backends (conv accumulation, instance-norm statistics), worth about 1e-2 before
 * rounding (the model README: outputs match onnxruntime to about 1e-2). Rounding to 8 bits
 * turns that into at most 1 level on the few pixels whose value sits near a .5 boundary.
 * We allow max |Δ| ≤ 2 (the tolerance for cross-implementation outputs) and require
 * mean |Δ| < 0.05 — a decode, resize or colour-space mismatch moves thousands of pixels by
 * several levels and fails both.
 *
 * Chromium: /usr/bin/chromium (EAI_CHROMIUM overrides). When it is missing the test fails on
 * CI (CI or EAI_REQUIRE_BACKENDS=webgpu) and elsewhere is skipped, with the reason in its title.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import * as T from '../../index.js';
import { readImage } from '../../node/image/codec.js';
import { registryModelSource } from '../../projects/style-transfer/node-models.js';
import { StyleTransferPipeline } from '../../projects/style-transfer/pipeline.js';
import { CHROMIUM, chromiumSkipReason, titled } from '../helpers/requirements.js';

const root = resolve(import.meta.dirname, '../..');
const configFile = join(root, 'web/vite.config.ts');
const CONTENT = resolve(root, process.env.EAI_IMAGES_DIR ?? '../shared/images', 'content/chelsea.png');
const STYLE = 'mosaic';
const ARTIFACTS = join(root, 'test-artifacts');
const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
];

interface Served {
  readonly server: PreviewServer;
  readonly url: string;
}

/** `vite preview` of the build in `outDir`; `isolate: false` serves it without COOP/COEP. */
async function serve(outDir: string, isolate: boolean): Promise<Served> {
  const previous = process.env.EAI_WEB_ISOLATION;
  process.env.EAI_WEB_ISOLATION = isolate ? '1' : '0';
  try {
    const server = await preview({
      configFile,
      logLevel: 'error',
      build: { outDir },
      preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
    });
    const address = server.httpServer.address();
    if (!address || typeof address === 'string') throw new Error('vite preview did not listen on a TCP port');
    return { server, url: `http://127.0.0.1:${address.port}/` };
  } finally {
    if (previous === undefined) delete process.env.EAI_WEB_ISOLATION;
    else process.env.EAI_WEB_ISOLATION = previous;
  }
}

interface EngineReport {
  readonly backend: string;
  readonly detail: string;
  readonly crossOriginIsolated: boolean;
  readonly threads: number | null;
}

/** Open the page with a backend preference; resolves once the worker has started. */
async function open(page: Page, url: string, query: string): Promise<EngineReport> {
  await page.goto(`${url}?${query}`);
  await page.waitForSelector('#backend-badge[data-state="ready"], #backend-badge[data-state="error"]');
  const report = await page.evaluate(
    () => (window as unknown as { styleDemo: { report: EngineReport | null } }).styleDemo.report,
  );
  if (!report) throw new Error(`the demo's engine did not start: ${await page.textContent('#alerts')}`);
  return report;
}

/**
 * The backend the test runs the page on: wasm when it starts in this browser (fast), else js at
 * a smaller size. The auto order would pick CPU-emulated WebGPU next, which is correct but takes
 * minutes at these sizes under SwiftShader.
 */
async function openFastest(page: Page, url: string): Promise<{ report: EngineReport; size: number }> {
  const report = await open(page, url, 'backend=wasm');
  if (report.backend === 'wasm') return { report, size: 256 };
  console.warn(`demo test: wasm did not start in Chromium (${report.detail}); running on js at 128 px`);
  return { report: await open(page, url, 'backend=js&size=128'), size: 128 };
}

async function stylize(
  page: Page,
  style: string,
  size: number,
): Promise<{ width: number; height: number; data: Uint8Array }> {
  await page.setInputFiles('#content-input', CONTENT);
  await page.waitForSelector('#dropzone[data-state="loaded"]');
  await page.click(`[data-style="${style}"]`);
  await page.check(`#size-${size}`);
  await page.click('#run');
  await page.waitForSelector('#result[data-state="done"], .alert-error', { timeout: 90_000 });
  const error = await page.$('.alert-error');
  if (error) throw new Error(`the demo showed an error: ${await error.textContent()}`);
  const pixels = await page.evaluate(() => {
    const canvas = document.getElementById('output-canvas') as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D context on the output canvas');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return { width: canvas.width, height: canvas.height, data: Array.from(data) };
  });
  return { ...pixels, data: Uint8Array.from(pixels.data) };
}

/** The Node pipeline's output for the same file, style and size, on the first CPU backend that starts. */
async function nodeOracle(
  style: string,
  size: number,
): Promise<{ backend: string; data: Uint8Array; width: number; height: number }> {
  let backend = '';
  for (const name of ['native', 'wasm', 'js']) {
    if ((await T.probeBackend(name as T.BackendName)).available) {
      try {
        backend = await T.setBackend(name);
        break;
      } catch {
        // try the next one
      }
    }
  }
  const pipeline = new StyleTransferPipeline(registryModelSource);
  try {
    const result = await pipeline.transfer(await readImage(CONTENT), { kind: 'named', name: style }, { size });
    return { backend, data: Uint8Array.from(result.image.data), ...result.output };
  } finally {
    pipeline.dispose();
  }
}

/** Max and mean |Δ| over the RGB channels (alpha is 255 on both sides and checked separately). */
function difference(a: Uint8Array, b: Uint8Array): { max: number; mean: number; changed: number; alphaOk: boolean } {
  let max = 0;
  let sum = 0;
  let changed = 0;
  let alphaOk = true;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(a[i + c] - b[i + c]);
      sum += d;
      if (d > 0) changed++;
      if (d > max) max = d;
    }
    if (a[i + 3] !== 255 || b[i + 3] !== 255) alphaOk = false;
  }
  const values = (a.length / 4) * 3;
  return { max, mean: sum / values, changed: changed / values, alphaOk };
}

const haveChromium = existsSync(CHROMIUM);
const skip = chromiumSkipReason();

describe.skipIf(skip)(titled('browser demo (headless Chromium)', skip), () => {
  let outDir = '';
  let profile = '';
  let context: BrowserContext | undefined;
  const servers: PreviewServer[] = [];

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(
        `${CHROMIUM} is missing: the demo test needs Debian's chromium (bash scripts/install-system-deps.sh chromium) or EAI_CHROMIUM`,
      );
    }
    outDir = mkdtempSync(join(tmpdir(), 'eai-web-dist-'));
    profile = mkdtempSync(join(tmpdir(), 'eai-chromium-'));
    await build({ configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    for (const s of servers) await s.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('stylizes an uploaded photo and the canvas matches the Node pipeline', { timeout: 90_000 }, async () => {
    const { server, url } = await serve(outDir, true);
    servers.push(server);
    const page = await context!.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    const { report, size } = await openFastest(page, url);
    // Served with COOP/COEP, the page is cross-origin isolated and wasm may use threads.
    expect(report.crossOriginIsolated).toBe(true);

    const got = await stylize(page, STYLE, size);
    const ranOn = await page.getAttribute('#ran-on', 'data-backend');
    expect(ranOn).toBe(report.backend);
    expect(await page.textContent('#result')).toMatch(/Stylize\s*[\d.]+\s*m?s/);

    // The download button saves exactly the canvas's pixels as a PNG named after the photo and style.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe(`chelsea-${STYLE}.png`);
    const saved = PNG.sync.read(readFileSync(await download.path()));
    expect([saved.width, saved.height]).toEqual([got.width, got.height]);
    expect(Buffer.compare(saved.data, Buffer.from(got.data))).toBe(0);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });

    const want = await nodeOracle(STYLE, size);
    expect({ width: got.width, height: got.height }).toEqual({ width: want.width, height: want.height });
    const diff = difference(got.data, want.data);
    console.info(
      `demo test: Chromium ran ${report.backend} (${report.detail}); Node oracle on ${want.backend}; ` +
        `${got.width}×${got.height}, max |Δ| ${diff.max}, mean |Δ| ${diff.mean.toFixed(4)}, ` +
        `${(diff.changed * 100).toFixed(3)}% of values differ`,
    );
    expect(diff.alphaOk).toBe(true);
    expect(diff.max).toBeLessThanOrEqual(2);
    expect(diff.mean).toBeLessThan(0.05);
    expect(pageErrors).toEqual([]);
  });

  it('without COOP/COEP it still works, on one wasm thread, and says why', { timeout: 60_000 }, async () => {
    const { server, url } = await serve(outDir, false);
    servers.push(server);
    const page = await context!.newPage();
    const { report } = await openFastest(page, url);
    expect(report.crossOriginIsolated).toBe(false);
    if (report.backend === 'wasm') {
      expect(report.threads).toBe(1);
      expect(await page.textContent('#alerts')).toContain('WebAssembly runs on one thread');
    }

    // A file the browser cannot decode is reported in the page, not only in the console.
    await page.setInputFiles('#content-input', {
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('this is not a PNG'),
    });
    await page.waitForSelector('.alert-error');
    expect(await page.textContent('.alert-error')).toContain('notes.png could not be decoded');
    // So is an image past the size limit (16,385 pixels wide: a few bytes of PNG).
    const wide = new PNG({ width: 16_385, height: 1 });
    wide.data.fill(255);
    await page.setInputFiles('#content-input', {
      name: 'wide.png',
      mimeType: 'image/png',
      buffer: PNG.sync.write(wide),
    });
    await page.waitForFunction(() => document.querySelector('.alert-error')?.textContent?.includes('wide.png'));
    expect(await page.textContent('.alert-error')).toMatch(/That image is too large.*16385×1/);

    // And a tiny run on one thread gives the same picture as the Node pipeline.
    await page.goto(`${url}?backend=${report.backend}&size=64`);
    await page.waitForSelector('#backend-badge[data-state="ready"]');
    const got = await stylize(page, 'candy', 64);
    const want = await nodeOracle('candy', 64);
    const diff = difference(got.data, want.data);
    expect(diff.max).toBeLessThanOrEqual(2);
    expect(diff.mean).toBeLessThan(0.05);
  });
});
