#!/usr/bin/env node
/**
 * Copies every WGSL file (kernels/**\/*.wgsl, backends/webgpu/wgsl/*.wgsl) into dist/ beside the
 * compiled module that declares it with `new URL('./x.wgsl', import.meta.url)`: tsc copies only
 * JavaScript, and both Node (reading the file) and bundlers such as Vite (emitting the asset)
 * resolve that URL next to the compiled code. `npm run build` runs it after tsc.
 */
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function wgslFiles(dir) {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(root, rel)).isDirectory()) return wgslFiles(rel);
    return name.endsWith('.wgsl') ? [rel] : [];
  });
}

const files = [...wgslFiles('kernels'), ...wgslFiles('backends/webgpu/wgsl')];
for (const file of files) {
  mkdirSync(path.join(root, 'dist', path.dirname(file)), { recursive: true });
  copyFileSync(path.join(root, file), path.join(root, 'dist', file));
}
console.log(`copy-wgsl: ${files.length} WGSL files into dist/`);
