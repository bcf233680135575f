// `--help` stays fast because it loads no workflow's implementation: every projects/*/commands.ts imports
// only light modules at the top and loads its work with `await import()` in `run` (cli/README.md). This
// runs the built CLI (npm test runs tsc first) in a fresh process that records every module it loads,
// so a workflow added later that imports the tensor core, a backend, a model or a package from its
// commands.ts fails here, with the import chain that pulled the module in.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist');
const register = join(root, 'test', 'helpers', 'module-log', 'register.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'eai-lazy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Loaded {
  readonly url: string;
  readonly parent: string | null;
}

/** The modules `efficientai-toolkit ...args` loads, each with the module that first imported it. */
function modulesLoadedBy(args: readonly string[]): Promise<Map<string, string | null>> {
  const log = join(scratch, `${args.join('_').replace(/[^\w]/g, '')}.json`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', pathToFileURL(register).href, join(root, 'bin', 'efficientai-toolkit.js'), ...args],
      { cwd: scratch, env: { ...process.env, EAI_MODULE_LOG: log } },
      (error, _out, err) => {
        if (error) return reject(new Error(`${args.join(' ')} failed: ${err}`));
        const parents = new Map<string, string | null>();
        for (const { url, parent } of JSON.parse(readFileSync(log, 'utf8')) as Loaded[]) {
          if (!parents.has(url)) parents.set(url, parent);
        }
        resolve(parents);
      },
    );
  });
}

/** A path relative to dist/ (or the package name for node_modules), for rules and messages. */
function label(url: string): string {
  if (!url.startsWith('file:')) return url;
  const path = fileURLToPath(url);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return `package ${pkg[1]}`;
  return relative(path.startsWith(dist) ? dist : root, path);
}

/**
 * Catalogues in models/ that help text needs: constants and types only. They must stay leaves (load no
 * other module at run time), which the test checks, so they cannot pull a model in.
 */
const CATALOGUES = new Set(['models/styles.js', 'models/sd/schedulers/scheduler.js']);

/** Why a module is too heavy for `--help`, or undefined when it is light. */
function heavy(name: string): string | undefined {
  if (name.startsWith('package ')) return 'an npm package';
  if (CATALOGUES.has(name)) return undefined;
  if (/^(backends|kernels|models|web)\//.test(name)) return 'a backend, kernel or model';
  if (name.startsWith('core/') && name !== 'core/errors.js' && name !== 'core/shape.js') return 'the tensor core';
  if (name.startsWith('bench/') && name !== 'bench/catalog.js') return 'benchmark code';
  return undefined;
}

function chain(parents: Map<string, string | null>, url: string): string {
  const names: string[] = [];
  for (let u: string | null | undefined = url; u && names.length < 20; u = parents.get(u)) names.unshift(label(u));
  return names.join(' → ');
}

describe('lazy loading', () => {
  it("--help loads every workflow's commands.ts but no workflow's implementation, core, backend or package", async () => {
    if (!existsSync(join(dist, 'cli', 'main.js'))) {
      throw new Error('dist/cli/main.js is missing: run `npx tsc -p tsconfig.json` (npm test does) before these tests');
    }
    for (const args of [['--help'], ['style-transfer:transfer', '--help']]) {
      const parents = await modulesLoadedBy(args);
      const names = [...parents.keys()].map(label);
      // The discovery really ran: every workflow folder's commands.js was loaded.
      const folders = readdirSync(join(dist, 'projects')).filter((f) =>
        existsSync(join(dist, 'projects', f, 'commands.js')),
      );
      expect(folders).toContain('style-transfer');
      for (const folder of folders) expect(names).toContain(`projects/${folder}/commands.js`);
      const catalogueImports = [...parents.entries()]
        .filter(([, parent]) => parent !== null && CATALOGUES.has(label(parent)))
        .map(([url]) => chain(parents, url));
      expect(catalogueImports, 'a catalogue module must not import anything at run time').toEqual([]);
      const offenders = [...parents.keys()]
        .filter((url) => heavy(label(url)) !== undefined)
        .map((url) => `${heavy(label(url))}: ${chain(parents, url)}`);
      expect(
        offenders,
        `${args.join(' ')}: commands.ts must import only light modules; load the implementation with await import() in run`,
      ).toEqual([]);
    }
  });
});
