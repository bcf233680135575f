#!/usr/bin/env node
// Builds the native addon at install time with node-gyp against the local Node headers,
// so nothing is downloaded. It NEVER fails the install: without a C++ compiler, make,
// python or headers, or when compilation fails, it prints one line saying why, records
// the reason in build-status.json (the backend's probe reports it), and exits 0.
//
//   node native-metal/build.mjs          build (npm install runs this)
//   EAI_SKIP_NATIVE=1                    skip the build
//   EAI_NODEDIR=<dir>                    Node headers to use (contains include/node/node_api.h)
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const statusFile = path.join(here, 'build-status.json');
const logFile = path.join(here, 'build-log.txt');
const addon = path.join(here, 'build', 'Release', 'eai_native.node');
const isWindows = process.platform === 'win32';

function say(line) {
  console.log(`efficientai-toolkit: ${line}`);
}

function record(status) {
  try {
    writeFileSync(statusFile, `${JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2)}\n`);
  } catch {
    // A read-only install location: the probe then reports the missing binary without the reason.
  }
}

function skip(reason) {
  record({ ok: false, reason });
  say(`native addon not built: ${reason}. The js/wasm/webgpu backends still work.`);
  process.exit(0);
}

/** The first executable called `name` on PATH (with PATHEXT on Windows), or null. */
function which(name) {
  const exts = isWindows ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = path.join(dir, name + ext);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** node-gyp as npm ships it (npm sets npm_config_node_gyp for lifecycle scripts), else next to node. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(here, '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

/** A directory with include/node/node_api.h for this Node, so node-gyp needs no download. */
function findNodeDir() {
  const candidates = [
    process.env.EAI_NODEDIR,
    process.env.npm_config_nodedir,
    path.resolve(path.dirname(process.execPath), '..'),
  ];
  return candidates.find((d) => d && existsSync(path.join(d, 'include', 'node', 'node_api.h'))) ?? null;
}

function main() {
  if (process.env.EAI_SKIP_NATIVE === '1') skip('skipped because EAI_SKIP_NATIVE=1');
  if (!existsSync(path.join(here, 'binding.gyp'))) skip(`binding.gyp is missing from ${here}`);
  if (!isWindows) {
    const cxx = process.env.CXX
      ? which(process.env.CXX.split(' ')[0])
      : (which('c++') ?? which('g++') ?? which('clang++'));
    if (!cxx) skip('no C++ compiler found (c++, g++ or clang++ on PATH, or $CXX); install one, e.g. build-essential');
    if (!which('make')) skip('make was not found on PATH');
  }
  const python = process.env.PYTHON ?? which('python3') ?? which('python');
  if (!python) skip('python3 was not found on PATH (node-gyp needs it)');
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) skip('node-gyp was not found (it ships with npm)');
  const nodeDir = findNodeDir();
  if (!nodeDir)
    skip(`no Node headers next to ${process.execPath} (set EAI_NODEDIR to a directory with include/node/node_api.h)`);

  const jobs = String(Math.max(1, typeof availableParallelism === 'function' ? availableParallelism() : cpus().length));
  const args = [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, `--python=${python}`, '-j', jobs];
  if (existsSync(path.join(here, 'build'))) rmSync(path.join(here, 'build'), { recursive: true, force: true });
  mkdirSync(here, { recursive: true });
  say('building the native addon (node-gyp, C++)…');
  const result = spawnSync(process.execPath, args, {
    cwd: here,
    encoding: 'utf8',
    env: { ...process.env, npm_config_nodedir: nodeDir },
    timeout: 15 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const log = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  try {
    writeFileSync(logFile, log);
  } catch {
    // the log is a convenience
  }
  if (result.error || result.status !== 0 || !existsSync(addon)) {
    const why = result.error ? result.error.message : `node-gyp exited with ${result.status}`;
    const firstError = log.split('\n').find((l) => /\berror\b/i.test(l) && !/gyp ERR!/.test(l));
    skip(
      `the C++ build failed (${why}${firstError ? `: ${firstError.trim().slice(0, 160)}` : ''}; full log in ${logFile})`,
    );
  }
  record({ ok: true, addon });
  say(`native addon built: ${addon}`);
}

try {
  main();
} catch (err) {
  skip(`the build script failed: ${err instanceof Error ? err.message : String(err)}`);
}
