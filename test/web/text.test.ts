/**
 * The demo's Text page end to end: build web/, serve it with `vite preview` on 127.0.0.1, open
 * text.html in headless Chromium on wasm (SwiftShader WebGPU is correct but slow), generate
 * greedily from "Once upon a time" and compare with the known continuation recorded in
 * ../shared/README.md (an independent oracle: llama2.c's run.c output for stories260K).
 * Streaming: the page appends each chunk as the worker sends it and counts them in
 * data-chunks; a MutationObserver records the output's length at each change.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumSkipReason, titled } from '../helpers/requirements.js';

const root = resolve(import.meta.dirname, '../..');
const configFile = join(root, 'web/vite.config.ts');
const SHARED_README = resolve(root, '../shared/README.md');
const PROMPT = 'Once upon a time';

/** The greedy continuation of PROMPT as ../shared/README.md states it: next token, then the text. */
function knownContinuation(): string {
  const readme = readFileSync(SHARED_README, 'utf8').replace(/\s+/g, ' ');
  const next = /stories260K, prompt "Once upon a time", greedy: the next token is "(.)"/.exec(readme);
  const rest = /the text continues "…([^"]+)"/.exec(readme);
  if (!next || !rest) throw new Error(`${SHARED_README} no longer states the stories260K continuation`);
  return `${PROMPT}${next[1]} ${rest[1]}`;
}

const skip = chromiumSkipReason();

describe.skipIf(skip)(titled('demo Text page (headless Chromium)', skip), () => {
  let outDir = '';
  let profile = '';
  let context: BrowserContext | undefined;
  let server: PreviewServer | undefined;
  let url = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (bash scripts/install-system-deps.sh chromium)`);
    outDir = mkdtempSync(join(tmpdir(), 'eai-web-text-'));
    profile = mkdtempSync(join(tmpdir(), 'eai-chromium-text-'));
    await build({ configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    server = await preview({
      configFile,
      logLevel: 'error',
      build: { outDir },
      preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
    });
    const address = server.httpServer.address();
    if (!address || typeof address === 'string') throw new Error('vite preview did not listen on a TCP port');
    url = `http://127.0.0.1:${address.port}/text.html`;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--enable-unsafe-webgpu'],
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    for (const dir of [outDir, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openPage(): Promise<Page> {
    const page = await context!.newPage();
    await page.goto(`${url}?backend=wasm`);
    await page.waitForSelector('#text-backend[data-state="ready"], #text-backend[data-state="error"]', {
      timeout: 60_000,
    });
    const error = await page.$('.alert-error');
    if (error) throw new Error(`the Text page showed an error: ${await error.textContent()}`);
    return page;
  }

  it('generates the known greedy continuation, streamed token by token', { timeout: 90_000 }, async () => {
    const page = await openPage();
    expect(await page.getAttribute('#text-backend', 'data-backend')).toBe('wasm');
    await page.fill('#text-prompt', PROMPT);
    await page.fill('#text-max-tokens', '40');
    await page.fill('#text-temperature', '0');
    await page.evaluate(() => {
      const out = document.getElementById('text-output')!;
      const lengths: number[] = [];
      (window as unknown as { lengths: number[] }).lengths = lengths;
      new MutationObserver(() => lengths.push(out.textContent?.length ?? 0)).observe(out, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await page.click('#text-run');
    await page.waitForSelector('#text-output[data-state="done"], #text-output[data-state="error"]', {
      timeout: 60_000,
    });
    const text = (await page.textContent('#text-output'))!.replace(/\s+/g, ' ');
    const expected = knownContinuation();
    expect(text.startsWith(expected), `page: ${text}\nknown: ${expected}`).toBe(true);
    const chunks = Number(await page.getAttribute('#text-output', 'data-chunks'));
    const lengths = await page.evaluate(() => (window as unknown as { lengths: number[] }).lengths);
    // 40 tokens arrive as many chunks, each growing the text (not one block at the end).
    expect(chunks).toBeGreaterThanOrEqual(10);
    expect(new Set(lengths).size).toBeGreaterThanOrEqual(10);
    expect(await page.textContent('#text-rate')).toMatch(/tokens\/s/);
    await page.close();
  });

  it('Cancel stops a long generation', { timeout: 90_000 }, async () => {
    const page = await openPage();
    await page.fill('#text-max-tokens', '500');
    await page.fill('#text-temperature', '0');
    await page.click('#text-run');
    await page.waitForFunction(() => Number(document.getElementById('text-output')!.dataset.chunks) >= 2);
    await page.click('#text-cancel');
    await page.waitForSelector('#text-output:not([data-state="running"])', { timeout: 30_000 });
    expect(await page.getAttribute('#text-output', 'data-state')).toBe('cancelled');
    expect(await page.textContent('#text-rate')).toMatch(/cancelled/);
    await page.close();
  });
});
