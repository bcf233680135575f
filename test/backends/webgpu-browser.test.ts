/**
 * The conformance suite a second time, in headless Chromium through Playwright: the same
 * case tables and harness, WebGPU from navigator.gpu (SwiftShader on machines without a
 * GPU), the js reference as the oracle, the page served by Vite from 127.0.0.1.
 * Needs /usr/bin/chromium (Debian's chromium package); CI makes it required with
 * EAI_REQUIRE_BACKENDS=webgpu, so a missing browser fails instead of skipping (test/helpers/requirements.ts).
 */
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Plugin } from 'vite';
import { createServer } from 'vite';
import { expect, it } from 'vitest';
import { CHROMIUM, chromiumSkipReason, titled } from '../helpers/requirements.js';

const root = resolve(import.meta.dirname, '../..');
const skip = chromiumSkipReason();

/** The page's script: every case on webgpu against the js oracle, as conformance.test.ts does. */
const ENTRY = `
import * as T from '/index.ts';
import { registerBrowserWebGPU } from '/backends/webgpu/browser.ts';
import { allCases } from '/test/conformance/cases/index.ts';
import { caseValues, compare, evaluate, toleranceFor } from '/test/conformance/harness.ts';

registerBrowserWebGPU();

async function oracle(c, values) {
  await T.setBackend('js');
  try {
    return await evaluate(c, values, 'f64', false);
  } finally {
    await T.setBackend('webgpu');
  }
}

window.runConformance = async () => {
  const avail = await T.probeBackend('webgpu');
  if (!avail.available) return { available: false, reason: avail.reason };
  T.setWarningHandler(() => {});
  const runsBefore = T.opRunCounts();
  const failures = [];
  let count = 0;
  for (const [family, cases] of Object.entries(allCases)) {
    for (const c of cases) {
      for (const dtype of c.dtypes ?? ['f32', 'f16']) {
        count++;
        const label = family + ': ' + c.name + ' [' + dtype + ']';
        try {
          await T.setBackend('webgpu');
          const values = caseValues(c, dtype, c.name.length * 7919 + dtype.length);
          if (c.throws) {
            let message = null;
            try {
              await evaluate(c, values, dtype);
            } catch (err) {
              message = String(err && err.message);
            }
            if (message === null || !c.throws.test(message)) failures.push(label + ': expected ' + c.throws + ', got ' + message);
            continue;
          }
          const got = await evaluate(c, values, dtype);
          const want = await oracle(c, values);
          got.forEach((g, i) => {
            const problem = compare(g, want[i], toleranceFor(c, dtype, g.dtype));
            if (problem) failures.push(label + ' output ' + i + ': ' + problem);
          });
        } catch (err) {
          failures.push(label + ': ' + (err && err.stack || err));
        }
      }
    }
  }
  const after = T.opRunCounts();
  const missing = [...T.opDefinitions().keys()].filter((op) => (after[op] ?? 0) - (runsBefore[op] ?? 0) === 0);
  return { available: true, details: avail.details, count, failures, missing };
};
`;

function conformancePage(): Plugin {
  return {
    name: 'eai-webgpu-conformance-page',
    resolveId: (id) => (id === '/@eai/conformance-entry.js' ? id : null),
    load: (id) => (id === '/@eai/conformance-entry.js' ? ENTRY : null),
    configureServer(server) {
      server.middlewares.use('/conformance.html', (_req, res) => {
        res.setHeader('content-type', 'text/html');
        res.end('<!doctype html><script type="module" src="/@eai/conformance-entry.js"></script>');
      });
    },
  };
}

interface PageResult {
  readonly available: boolean;
  readonly reason?: string;
  readonly details?: Record<string, unknown>;
  readonly count?: number;
  readonly failures?: string[];
  readonly missing?: string[];
}

it.skipIf(skip)(
  titled('the conformance suite passes on WebGPU in headless Chromium', skip),
  { timeout: 240_000 },
  async () => {
    const server = await createServer({
      root,
      configFile: false,
      logLevel: 'error',
      plugins: [conformancePage()],
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
      optimizeDeps: { noDiscovery: true, include: [] },
    });
    await server.listen();
    const address = server.httpServer?.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--enable-unsafe-webgpu',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`http://127.0.0.1:${port}/conformance.html`);
      await page.waitForFunction(() => 'runConformance' in window, undefined, { timeout: 120_000 });
      const result = (await page.evaluate(() =>
        (window as unknown as { runConformance(): Promise<unknown> }).runConformance(),
      )) as PageResult;
      expect(errors, 'page errors').toEqual([]);
      expect(result.available, `navigator.gpu: ${result.reason}`).toBe(true);
      expect(result.count).toBeGreaterThan(300);
      expect(result.failures?.join('\n')).toBe('');
      expect(result.missing, 'ops with no case in the browser run').toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
