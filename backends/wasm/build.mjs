#!/usr/bin/env node
/**
 * Builds the wasm backend's kernels (npm run build:wasm; `prepare` runs it after tsc):
 * backends/wasm/kernels.as and the kernels/<family>/wasm.as files it imports, compiled by
 * AssemblyScript (an npm dev dependency, no system compiler) into one module:
 *
 *   dist/backends/wasm/kernels.wasm   SIMD128, memory imported as shared (threads)
 *   dist/backends/wasm/kernels.json   build stamp: source hash, compiler, flags
 *   backends/wasm/kernels.wasm        the same module beside the sources (gitignored), so code that
 *                                     loads `new URL('./kernels.wasm', import.meta.url)` finds it
 *                                     both from the sources (the demo, tests) and from dist/ (the package)
 *
 * AssemblyScript sources end in .as so tsc and biome leave them alone; asc only reads .ts
 * paths, so the compiler's file reader maps `x.as.ts` requests to `x.as`.
 * The stamp lets the tests fail on a module built from older sources.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = path.join(root, 'dist/backends/wasm');
const entry = 'backends/wasm/kernels.as';

/** Compiler flags: the stamp records them, so changing one marks the module stale too. */
export const ASC_FLAGS = [
  '--enable',
  'simd',
  '--enable',
  'threads',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory',
  '1',
  // 4 GiB: the wasm32 ceiling. The runtime creates a memory with a smaller maximum where needed.
  '--maximumMemory',
  '65536',
  '--runtime',
  'stub',
  '-O3',
  '--noAssert',
];

/** Every AssemblyScript source the module is built from, relative to the repository root. */
export async function wasmSources() {
  const files = [];
  for (const dir of ['backends/wasm', ...(await readdir(path.join(root, 'kernels'))).map((d) => `kernels/${d}`)]) {
    let names = [];
    try {
      names = await readdir(path.join(root, dir));
    } catch {
      continue;
    }
    for (const name of names) if (name.endsWith('.as')) files.push(`${dir}/${name}`);
  }
  return files.sort();
}

/** sha256 over the sources (path and content) and the flags: what kernels.json records. */
export async function sourceHash() {
  const hash = createHash('sha256');
  hash.update(ASC_FLAGS.join(' '));
  for (const file of await wasmSources()) {
    hash.update(`\0${file}\0`);
    hash.update(await readFile(path.join(root, file)));
  }
  return hash.digest('hex');
}

async function build() {
  let asc;
  try {
    asc = await import('assemblyscript/asc');
  } catch (err) {
    console.error(
      `build:wasm: cannot load the AssemblyScript compiler (${err.message}); run npm install (assemblyscript is a dev dependency)`,
    );
    process.exit(1);
  }
  await mkdir(outDir, { recursive: true });
  const outFile = path.join(outDir, 'kernels.wasm');
  const started = Date.now();
  const { error, stderr } = await asc.main([entry, '--baseDir', root, '--outFile', outFile, ...ASC_FLAGS], {
    readFile: async (name, baseDir) => {
      const file = path.resolve(baseDir, name.endsWith('.as.ts') ? name.slice(0, -3) : name);
      try {
        return await readFile(file, 'utf8');
      } catch {
        return null;
      }
    },
    baseDir: root,
  });
  if (error) {
    console.error(`build:wasm: AssemblyScript failed to compile ${entry}: ${error.message}\n${stderr.toString()}`);
    process.exit(1);
  }
  const bytes = await readFile(outFile);
  const stamp = {
    sources: await sourceHash(),
    files: await wasmSources(),
    compiler: `assemblyscript ${asc.version}`,
    flags: ASC_FLAGS,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  await writeFile(path.join(outDir, 'kernels.json'), `${JSON.stringify(stamp, null, 2)}\n`);
  await copyFile(outFile, path.join(root, 'backends/wasm/kernels.wasm'));
  console.log(`build:wasm: ${path.relative(root, outFile)} (${bytes.length} bytes) in ${Date.now() - started} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await build();
