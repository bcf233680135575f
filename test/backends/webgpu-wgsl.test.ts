/**
 * Every WGSL source compiles on a real WebGPU device (Dawn in Node): each .wgsl file as
 * written (with the files it includes), and every specialisation the kernels declare, with failures reported as
 * file:line:col. A deliberately broken fixture proves the check can fail.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { backendVariants, type WebGPUBackend } from '../../backends/webgpu/backend.js';
import { families } from '../../backends/webgpu/families.js';
import { declaredShaders, type ShaderVariant, withIncludes } from '../../backends/webgpu/shaders.js';
import { checkPipeline, checkSource, checkVariant } from '../../backends/webgpu/validate.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const root = resolve(import.meta.dirname, '../..');
const skip = await backendSkipReason('webgpu');

function wgslFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return wgslFiles(path);
    return e.name.endsWith('.wgsl') ? [relative(root, path)] : [];
  });
}

const sourceFiles = [...wgslFiles(join(root, 'kernels')), ...wgslFiles(join(root, 'backends/webgpu'))].sort();

/** A file's text with its `// @include`s appended, as the backend loads it. */
function source(file: string): string {
  const read = (path: string) => readFileSync(join(root, path), 'utf8');
  return withIncludes(file, read(file), read);
}

function allVariants(): ShaderVariant[] {
  return [...backendVariants(), ...Object.values(families).flatMap((f) => f.gpuVariants())];
}

it('every .wgsl file in the tree is declared by a kernel module', () => {
  const declared = new Set(declaredShaders().map((s) => s.name));
  expect(sourceFiles.length).toBeGreaterThan(5);
  expect(sourceFiles.filter((f) => !declared.has(f))).toEqual([]);
});

describe.skipIf(skip)(titled('WGSL compiles on the device', skip), () => {
  let device!: GPUDevice;
  beforeAll(async () => {
    device = ((await T.initBackend('webgpu')) as unknown as WebGPUBackend).device;
  });

  it('each file as written, with its includes', async () => {
    const failures: string[] = [];
    for (const file of sourceFiles) {
      const error = await checkSource(device, file, source(file));
      if (error) failures.push(error);
    }
    expect(failures.join('\n')).toBe('');
  });

  it('each declared specialisation', async () => {
    const failures: string[] = [];
    const variants = allVariants();
    expect(variants.length).toBeGreaterThan(50);
    for (const v of variants) {
      const error = await checkVariant(device, v, source(v.shader.name));
      if (error) failures.push(error);
    }
    expect(failures.join('\n')).toBe('');
  });

  it('each entry point of each file builds a compute pipeline', async () => {
    const failures: string[] = [];
    const seen = new Set<string>();
    for (const v of allVariants()) {
      const key = `${v.shader.name}#${v.entry ?? 'main'}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const error = await checkPipeline(device, v, source(v.shader.name));
      if (error) failures.push(error);
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(failures.join('\n')).toBe('');
  });

  it('a broken shader fails with its file, line and column', async () => {
    const file = 'test/fixtures/wgsl/broken.wgsl';
    const error = await checkSource(device, file, readFileSync(join(root, file), 'utf8'));
    expect(error).toMatch(/^test\/fixtures\/wgsl\/broken\.wgsl:7:16: .*undefined_name/);
  });

  it('a missing entry point fails pipeline creation', async () => {
    const [v] = backendVariants();
    const error = await checkPipeline(
      device,
      { ...v, entry: 'no_such_entry' },
      readFileSync(join(root, v.shader.name), 'utf8'),
    );
    expect(error).toMatch(/no_such_entry/);
  });
});
