/**
 * The native build on every platform, checked here on Linux: every source binding.gyp names (its
 * own lists, the macOS-only block and the generated families.gypi) exists, every source file of
 * the addon is named, and the Apple Objective-C++ sources parse: clang -fsyntax-only against
 * declaration-only stand-ins for the Apple headers (test/fixtures/apple-sdk). A Mac build that
 * names a missing file fails silently at npm install (the addon is then just unavailable), so
 * only a check like this one sees it. Parsing is not building: linking and running on a Mac stay
 * unverified. CI installs clang (.ci/run); elsewhere a missing clang is a skip with the reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requiredBackends, titled } from '../helpers/requirements.js';

const root = path.resolve(import.meta.dirname, '../..');
const nativeDir = path.join(root, 'native-metal');

/** A .gyp/.gypi file as data: JSON once its `#` comments are gone. */
function readGyp(file: string): unknown {
  const text = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/^\s*#.*$/, ''))
    .join('\n');
  return JSON.parse(text);
}

/** Every path in any "sources" list, and every "includes" file, anywhere in the tree (both branches of conditions). */
function collect(node: unknown, out: { sources: string[]; includes: string[] }): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, out);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'sources' && Array.isArray(value)) out.sources.push(...(value as string[]));
      else if (key === 'includes' && Array.isArray(value)) out.includes.push(...(value as string[]));
      else collect(value, out);
    }
  }
}

function buildSources(): string[] {
  const out = { sources: [] as string[], includes: [] as string[] };
  collect(readGyp(path.join(nativeDir, 'binding.gyp')), out);
  for (const include of out.includes) collect(readGyp(path.join(nativeDir, include)), out);
  return out.sources.map((s) => path.resolve(nativeDir, s));
}

function which(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

describe('native-metal/binding.gyp', () => {
  const sources = buildSources();

  it('names only files that exist', () => {
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter((s) => !existsSync(s)).map((s) => path.relative(root, s))).toEqual([]);
  });

  it('names every source of the addon: src/*.cc, src/apple/*.mm and each kernels/<family>/native.cc', () => {
    const onDisk = [
      ...readdirSync(path.join(nativeDir, 'src'))
        .filter((f) => f.endsWith('.cc'))
        .map((f) => path.join(nativeDir, 'src', f)),
      ...readdirSync(path.join(nativeDir, 'src/apple'))
        .filter((f) => f.endsWith('.mm'))
        .map((f) => path.join(nativeDir, 'src/apple', f)),
      ...readdirSync(path.join(root, 'kernels'))
        .map((d) => path.join(root, 'kernels', d, 'native.cc'))
        .filter((f) => existsSync(f)),
    ];
    expect(onDisk.filter((f) => !sources.includes(f)).map((f) => path.relative(root, f))).toEqual([]);
  });

  const clang = which('clang++');
  const required = requiredBackends.includes('native');
  const skip = clang || required ? null : 'clang++ is not installed (bash scripts/install-system-deps.sh clang)';
  it.skipIf(skip)(titled('the Apple sources parse (clang -fsyntax-only with stand-in Apple headers)', skip), () => {
    if (!clang) throw new Error('clang++ is missing: CI installs it (bash scripts/install-system-deps.sh clang)');
    const napi = (createRequire(import.meta.url)('node-addon-api') as { include_dir: string }).include_dir;
    const nodeHeaders = path.resolve(path.dirname(process.execPath), '..', 'include', 'node');
    const apple = sources.filter((s) => s.endsWith('.mm'));
    expect(apple.length).toBeGreaterThanOrEqual(3);
    const failures: string[] = [];
    for (const file of apple) {
      const r = spawnSync(
        clang,
        [
          '-x',
          'objective-c++',
          '-std=c++17',
          '-fobjc-arc',
          '-fobjc-runtime=macosx-11.0',
          '-fsyntax-only',
          '-Wall',
          '-Werror',
          '-DEAI_APPLE=1',
          '-DNAPI_VERSION=8',
          '-DNAPI_CPP_EXCEPTIONS',
          '-DNODE_ADDON_API_CPP_EXCEPTIONS_ALL',
          '-isystem',
          path.join(root, 'test/fixtures/apple-sdk'),
          '-isystem',
          napi,
          '-isystem',
          nodeHeaders,
          '-I',
          path.join(nativeDir, 'src'),
          file,
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) failures.push(`${path.relative(root, file)}:\n${r.stderr}`);
    }
    expect(failures.join('\n')).toBe('');
  });
});
