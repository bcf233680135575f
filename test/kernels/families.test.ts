/**
 * The kernel-family lists are generated from the kernels/ folders (scripts/families.mjs), and
 * every backend registers its own kernel for every op: a family or op missing from a backend
 * would otherwise pass every other test by falling back to another backend.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import * as T from '../../index.js';
import { generate, sync } from '../../scripts/families.mjs';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Ops a backend intentionally has no kernel for, with the reason. Empty today: every backend
 * runs every op itself. An entry here is the only way a backend may skip an op.
 */
const intentionallyMissing: Readonly<Partial<Record<T.BackendName, Readonly<Record<string, string>>>>> = {};

describe('kernel registration', () => {
  const kernelOps = [...T.opDefinitions().values()].filter((d) => !d.view).map((d) => d.name);

  it('finds the op definitions of every family', () => {
    expect(kernelOps.length).toBeGreaterThan(50);
  });

  for (const backend of T.BACKEND_NAMES) {
    it(`${backend} registers a kernel for every op that is not a view`, () => {
      const allowed = intentionallyMissing[backend] ?? {};
      const missing = kernelOps.filter((op) => !T.hasKernel(op, backend) && !(op in allowed));
      expect(missing, `${backend} has no kernel for these ops (they would run on another backend)`).toEqual([]);
      const stale = Object.keys(allowed).filter((op) => T.hasKernel(op, backend) || !kernelOps.includes(op));
      expect(stale, 'allow-list entries that are no longer missing').toEqual([]);
    });
  }

  it('registers no kernel for an op nobody defined (a misspelt table key)', () => {
    const defined = new Set(T.opDefinitions().keys());
    expect(T.allOpNames().filter((op) => !defined.has(op))).toEqual([]);
  });
});

describe('scripts/families.mjs', () => {
  const temps: string[] = [];
  afterAll(() => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it('the committed generated files are current', () => {
    expect(sync(root, { check: true }), 'run npm run build and commit the generated files').toEqual([]);
  });

  /** A copy of the generator's inputs: kernels/, the wasm common module and the case files. */
  function scratchTree(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'eai-families-'));
    temps.push(dir);
    cpSync(path.join(root, 'kernels'), path.join(dir, 'kernels'), { recursive: true });
    cpSync(path.join(root, 'test/conformance/cases'), path.join(dir, 'test/conformance/cases'), { recursive: true });
    mkdirSync(path.join(dir, 'backends/wasm'), { recursive: true });
    cpSync(path.join(root, 'backends/wasm/common.as'), path.join(dir, 'backends/wasm/common.as'));
    return dir;
  }

  it('a new family folder reaches every list it has files for, and only those', () => {
    const dir = scratchTree();
    const fam = path.join(dir, 'kernels/quant-matmul');
    mkdirSync(fam);
    for (const f of ['quant-matmul.ts', 'ref.ts', 'wasm.ts', 'native.ts']) writeFileSync(path.join(fam, f), '');
    writeFileSync(
      path.join(fam, 'wasm.as'),
      'export function qmm_f32(x: usize): void {}\nexport function packQ(): void {}\n',
    );
    writeFileSync(path.join(fam, 'native.cc'), '');
    writeFileSync(path.join(dir, 'test/conformance/cases/quant-matmul.ts'), '');
    const out = generate(dir);
    expect(out.get('kernels/ops.ts')).toContain("export * from './quant-matmul/quant-matmul.js';");
    expect(out.get('backends/js/families.ts')).toContain(
      "import * as quantMatmul from '../../kernels/quant-matmul/ref.js';",
    );
    expect(out.get('backends/wasm/families.ts')).toContain('  quantMatmul,');
    expect(out.get('backends/native/families.ts')).toContain('  quantMatmul,');
    expect(out.get('backends/webgpu/families.ts')).not.toContain('quantMatmul');
    // Only the snake_case entry point is exported from the module; packQ stays a helper.
    expect(out.get('backends/wasm/kernels.as')).toContain(
      "export { qmm_f32 } from '../../kernels/quant-matmul/wasm.as';",
    );
    expect(out.get('native-metal/families.gypi')).toContain('"../kernels/quant-matmul/native.cc"');
    expect(out.get('native-metal/src/families.inc')).toContain('EAI_FAMILY(QuantMatmul)');
    expect(out.get('test/conformance/cases/index.ts')).toContain('  quantMatmul: quantMatmulCases,');
  });

  it('refuses a family without its reference kernels or conformance cases, naming the file', () => {
    const dir = scratchTree();
    mkdirSync(path.join(dir, 'kernels/half'));
    writeFileSync(path.join(dir, 'kernels/half/half.ts'), '');
    expect(() => generate(dir)).toThrow(/kernels\/half: kernels\/half\/ref\.ts is missing/);
    expect(() => generate(dir)).toThrow(/test\/conformance\/cases\/half\.ts is missing/);
  });

  it('the native build takes its family sources from the generated list', () => {
    const gyp = readFileSync(path.join(root, 'native-metal/binding.gyp'), 'utf8');
    expect(gyp).toContain('"includes": ["families.gypi"]');
    expect(gyp).not.toMatch(/kernels\/\w+\/native\.cc/);
  });
});
