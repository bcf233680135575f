/**
 * The import layering the design relies on, read from the sources' static imports:
 * - core/ is a core: nothing from Node, no backend, and no op family except in core/nn/ and core/optim/
 *   (layers and optimizers, which ARCHITECTURE.md puts in the core, are built from the ops);
 * - bench/ does not import projects/ (projects/bench imports bench/, so it goes one way);
 * - the browser entries (index.ts, backends/browser.ts) reach no `node:` module, no Node-only
 *   package and no Node-only folder (node/, cli/, backends/native/).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/** Static runtime imports of a TypeScript file (type-only imports are erased, so they do not count). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm)) {
    if (!m[1]) out.push(m[2]);
  }
  return out;
}

/** A relative specifier as a repository path (`.js` → `.ts` where the source is TypeScript). */
function resolveLocal(from: string, spec: string): string {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  return target.endsWith('.js') ? target.replace(/\.js$/, '.ts') : target;
}

function tsFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(root, rel)).isDirectory()) return tsFiles(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

const NODE_ONLY_PACKAGES = ['webgpu', 'onnxruntime-node', 'pngjs', 'jpeg-js', 'node-addon-api'];
const NODE_ONLY_DIRS = ['node/', 'cli/', 'backends/native/', 'projects/'];

describe('import layering', () => {
  it('core/ imports only core/ (core/nn/ and core/optim/ also the ops in kernels/) and npm packages, never node:', () => {
    const allowed = (file: string, target: string) =>
      target.startsWith('core/') ||
      ((file.startsWith('core/nn/') || file.startsWith('core/optim/')) && target === 'kernels/ops.ts');
    const bad = tsFiles('core').flatMap((file) =>
      importsOf(file)
        .filter((s) => s.startsWith('node:') || (s.startsWith('.') && !allowed(file, resolveLocal(file, s))))
        .map((s) => `${file} imports ${s}`),
    );
    expect(bad).toEqual([]);
  });

  it('bench/ never imports projects/', () => {
    const bad = tsFiles('bench').flatMap((file) =>
      importsOf(file)
        .filter((s) => s.startsWith('.') && resolveLocal(file, s).startsWith('projects/'))
        .map((s) => `${file} imports ${s}`),
    );
    expect(bad).toEqual([]);
  });

  it('the browser entries reach nothing Node-only', () => {
    const seen = new Set<string>();
    const bad: string[] = [];
    const queue = ['index.ts', 'backends/browser.ts'];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of importsOf(file)) {
        if (spec.startsWith('node:') || NODE_ONLY_PACKAGES.includes(spec)) bad.push(`${file} imports ${spec}`);
        if (!spec.startsWith('.')) continue;
        const target = resolveLocal(file, spec);
        if (NODE_ONLY_DIRS.some((d) => target.startsWith(d))) bad.push(`${file} imports ${target}`);
        if (target.endsWith('.ts')) queue.push(target);
      }
    }
    expect(seen.size).toBeGreaterThan(50);
    expect(bad).toEqual([]);
  });
});
