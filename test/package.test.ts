/**
 * The package as a user gets it: `npm pack`, the tarball installed into a fresh project (offline:
 * its dependencies are copied in from this checkout, see beforeAll), then its entry points used the way a user would: the tensor core
 * and the workflow APIs imported from Node by name (deep imports refused), the bin run, the types
 * checked by tsc (a wrong call must fail to compile), and a Vite page built that imports the
 * browser entries. The native addon's install step runs with EAI_SKIP_NATIVE=1 (building it is
 * test/backends/native.test.ts's job). Needs dist/ built (npm run build, build:wasm; CI's npm ci does).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumSkipReason, titled } from './helpers/requirements.js';

const root = path.resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = mkdtempSync(path.join(tmpdir(), 'eai-package-'));
const app = path.join(work, 'app');

function run(command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  if (r.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${r.status ?? r.signal}) in ${cwd}:\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}

interface LockedPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * The node_modules folders the package's dependencies install into, closed over their own
 * dependencies, as package-lock.json records them (a name resolves from the nearest
 * node_modules up, as Node and npm resolve it).
 */
function runtimeDependencyDirs(): string[] {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockedPackage>;
  };
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
      const key = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock.packages[key]) return key;
      if (!base) return undefined;
    }
  };
  const seen = new Set<string>();
  const visit = (from: string, name: string, optional: boolean) => {
    const key = resolve(from, name);
    // An optional dependency for another platform is not in the lock: nothing to copy.
    if (!key && optional) return;
    if (!key) throw new Error(`package-lock.json has no ${name} for ${from || 'the root'}: run npm install`);
    if (seen.has(key)) return;
    seen.add(key);
    const entry = lock.packages[key];
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(key, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(key, dep, true);
  };
  for (const name of Object.keys(lock.packages[''].dependencies ?? {})) visit('', name, false);
  return [...seen];
}

beforeAll(() => {
  for (const built of ['dist/index.js', 'dist/kernels/matmul/matmul.wgsl', 'dist/backends/wasm/kernels.wasm']) {
    if (!existsSync(path.join(root, built)))
      throw new Error(`${built} is missing: run npm run build && npm run build:wasm`);
  }
  // --ignore-scripts: dist/ is already built; `prepare` would rebuild everything.
  run(npm, ['pack', '--ignore-scripts', '--pack-destination', work], root);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'eai-package-test', private: true, type: 'module' }),
  );
  // Offline: the package's runtime dependencies (and theirs) are copied from this checkout's
  // node_modules at the versions package-lock.json pins, so npm finds every one of them satisfied
  // and only unpacks the tarball, without a registry or a warm cache.
  for (const dir of runtimeDependencyDirs()) {
    cpSync(path.join(root, dir), path.join(app, dir), { recursive: true, verbatimSymlinks: true });
  }
  run(npm, ['install', path.join(work, tarball), '--offline', '--no-audit', '--no-fund'], app, {
    EAI_SKIP_NATIVE: '1',
  });
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('imports by name from Node: the core, the Node backends and each workflow API, exporting what the sources do; deep imports are refused', async () => {
    writeFileSync(
      path.join(app, 'use.mjs'),
      `
import { readFileSync } from 'node:fs';
import * as T from 'efficientai-toolkit';
const out = {};
const a = T.tensor([1, 2, 3, 4], [2, 2]);
out.js = [T.getBackendName(), ...(await T.matmul(a, a).data())];
await import('efficientai-toolkit/backends/node');
await T.setBackend('wasm');
const b = T.tensor([1, 2, 3, 4], [2, 2]);
out.wasm = [T.getBackendName(), ...(await T.matmul(b, b).data())];
const { exports } = JSON.parse(readFileSync('node_modules/efficientai-toolkit/package.json', 'utf8'));
out.names = {};
for (const key of Object.keys(exports).filter((k) => k !== './package.json')) {
  const spec = 'efficientai-toolkit' + key.slice(1);
  out.names[key] = Object.keys(await import(spec)).sort();
}
const st = await import('efficientai-toolkit/style-transfer');
out.styles = st.NAMED_STYLES.length;
try { await import('efficientai-toolkit/dist/core/tensor.js'); out.deep = 'allowed'; } catch (e) { out.deep = e.code; }
out.native = (await T.backendAvailability()).native.reason;
console.log(JSON.stringify(out));
`,
    );
    const out = JSON.parse(run(process.execPath, ['use.mjs'], app).trim().split('\n').pop()!) as {
      js: unknown[];
      wasm: unknown[];
      names: Record<string, string[]>;
      styles: number;
      deep: string;
      native: string;
    };
    expect(out.js).toEqual(['js', 7, 10, 15, 22]);
    expect(out.wasm).toEqual(['wasm', 7, 10, 15, 22]);
    expect(out.styles).toBe(5);
    // Each entry exports what its source module does (a stale dist or a wrong exports path fails).
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { default: string }>;
    };
    const sources: Record<string, string[]> = {};
    for (const [key, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      const source = path.join(root, target.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
      sources[key] = Object.keys(await import(source)).sort();
    }
    expect(out.names).toEqual(sources);
    expect(out.names['./style-transfer']).toEqual(
      expect.arrayContaining(['StyleTransferPipeline', 'StableDiffusion', 'loadStableDiffusion', 'DIFFUSION_STYLES']),
    );
    expect(out.names['./lora/node']).toEqual(expect.arrayContaining(['loadLanguageModel', 'startServer']));
    expect(out.deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    // The install step ran from the tarball and recorded why there is no addon.
    expect(out.native).toMatch(/EAI_SKIP_NATIVE=1/);
  }, 60_000);

  it('runs the bin', () => {
    const bin = path.join(app, 'node_modules', '.bin', 'efficientai-toolkit');
    expect(run(bin, ['--version'], app).trim()).toBe(
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version,
    );
    const info = JSON.parse(run(bin, ['info', '--json'], app)) as { backends: Record<string, { available: boolean }> };
    expect(info.backends.js.available).toBe(true);
    expect(info.backends.wasm.available).toBe(true);
  });

  it("ships types: tsc accepts a right call and the README's library example, and rejects a wrong call", () => {
    // The README's TypeScript examples, compiled against the installed package as a user copies them.
    const examples = [...readFileSync(path.join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map(
      (m) => m[1],
    );
    expect(examples.length).toBeGreaterThan(0);
    const readmeFiles = examples.map((code, i) => {
      const specs = [...code.matchAll(/(?:from|import) '([^']+)'/g)].map((m) => m[1]);
      expect(specs.filter((spec) => !spec.startsWith('efficientai-toolkit'))).toEqual([]);
      writeFileSync(path.join(app, `readme-${i}.ts`), `${code}\nexport {};\n`);
      return `readme-${i}.ts`;
    });
    writeFileSync(
      path.join(app, 'use-types.ts'),
      `
import { tensor, type Tensor } from 'efficientai-toolkit';
import { StyleTransferPipeline } from 'efficientai-toolkit/style-transfer';
import { registryModelSource } from 'efficientai-toolkit/style-transfer/node';
const t: Tensor = tensor([1, 2], [2]);
const side: number = t.shape[0];
const pipeline: StyleTransferPipeline = new StyleTransferPipeline(registryModelSource);
// @ts-expect-error a string is not tensor data
tensor('not numbers');
export { pipeline, side };
`,
    );
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['use-types.ts', ...readmeFiles],
      }),
    );
    run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  });

  it('bundles the browser entries with Vite: nothing Node-only, the wasm module and the WGSL shipped as assets', () => {
    writeFileSync(path.join(app, 'index.html'), '<!doctype html><script type="module" src="./page.js"></script>\n');
    writeFileSync(
      path.join(app, 'page.js'),
      `
import * as T from 'efficientai-toolkit';
import 'efficientai-toolkit/backends/browser';
import { NAMED_STYLES, StyleTransferPipeline } from 'efficientai-toolkit/style-transfer';
import { TextGenerator } from 'efficientai-toolkit/lora';
try {
  const a = T.tensor([1, 2, 3, 4], [2, 2]);
  const js = [T.getBackendName(), ...(await T.matmul(a, a).data())];
  await T.setBackend('wasm');
  const b = T.tensor([1, 2, 3, 4], [2, 2]);
  const wasm = [T.getBackendName(), ...(await T.matmul(b, b).data())];
  window.result = { js, wasm, styles: NAMED_STYLES.length, api: [typeof StyleTransferPipeline, typeof TextGenerator] };
} catch (e) {
  window.result = { error: String(e) };
}
`,
    );
    const log = run(
      process.execPath,
      [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'info'],
      app,
    );
    expect(log).not.toMatch(/externalized for browser compatibility|doesn't exist at build time/);
    const assets = readdirSync(path.join(app, 'dist', 'assets'));
    expect(assets.some((f) => f.endsWith('.wasm'))).toBe(true);
    expect(assets.some((f) => f.endsWith('.wgsl'))).toBe(true);
  });

  const noBrowser = chromiumSkipReason();
  it.skipIf(noBrowser)(
    titled('the built page runs in Chromium: the core on js, and wasm from the bundled kernels.wasm', noBrowser),
    async () => {
      expect(existsSync(path.join(app, 'dist', 'index.html')), 'the Vite build above did not run').toBe(true);
      const server = await preview({
        root: app,
        configFile: false,
        logLevel: 'error',
        preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
      });
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox'] });
      try {
        const address = server.httpServer.address();
        if (!address || typeof address === 'string') throw new Error('vite preview did not listen on a TCP port');
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${address.port}/`);
        await page.waitForFunction(() => 'result' in window, undefined, { timeout: 30_000 });
        const result = await page.evaluate(() => (window as unknown as { result: unknown }).result);
        expect(result).toEqual({
          js: ['js', 7, 10, 15, 22],
          wasm: ['wasm', 7, 10, 15, 22],
          styles: 5,
          api: ['function', 'function'],
        });
      } finally {
        await browser.close();
        await server.close();
      }
    },
    60_000,
  );
});
