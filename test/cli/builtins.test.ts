import { describe, expect, it } from 'vitest';
import { type DoctorDeps, formatDoctor, runDoctor, SIMD_PROBE } from '../../cli/builtins/doctor.js';
import { collectInfo, formatInfo } from '../../cli/builtins/info.js';
import type { Runtime } from '../../cli/runtime.js';
import * as core from '../../index.js';

const runtime: Runtime = core;

/** A Linux machine with nothing optional installed, unless `overrides` say otherwise. */
function bareMachine(overrides: Partial<DoctorDeps> = {}): DoctorDeps {
  return {
    runtime,
    env: { PATH: '/usr/bin' },
    platform: 'linux',
    nodeVersion: '20.19.0',
    execPath: '/opt/node/bin/node',
    repoRoot: '/nonexistent/repo',
    exists: () => false,
    which: () => undefined,
    resolvePackage: () => undefined,
    projectProblems: [],
    projectNames: ['lora'],
    ...overrides,
  };
}

const byId = <C extends { id: string }>(checks: readonly C[]) => new Map(checks.map((c) => [c.id, c]));

describe('doctor', () => {
  it('passes on a bare machine because the js backend computes correctly, and says how to fix the rest', async () => {
    const r = await runDoctor(bareMachine());
    const c = byId(r.checks);
    expect(r.ok).toBe(true);
    expect(c.get('js.compute')).toMatchObject({ status: 'ok', detail: 'add([1.5,-2,3], [2,4,-1]) = [3.5, 2, 2]' });
    expect(c.get('native.compiler')).toMatchObject({
      status: 'fail',
      fix: "apt-get install g++ (or your system's package)",
    });
    expect(c.get('native.python')).toMatchObject({ status: 'fail', fix: 'apt-get install python3' });
    expect(c.get('native.make')).toMatchObject({ status: 'fail' });
    expect(c.get('native.headers')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('/opt/node/include/node/node_api.h'),
    });
    expect(c.get('webgpu.package')).toMatchObject({ status: 'fail', fix: 'npm install webgpu' });
    expect(c.get('webgpu.vulkan')).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(
        /^apt-get install chromium, then export VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd.json/,
      ),
    });
    expect(c.get('models.dir')?.status).toBe('warn');
    const text = formatDoctor(r);
    expect(text).toContain('fix: npm install webgpu');
    expect(text).toContain('Result: the js backend works.');
  });

  it('finds the tools when they are there', async () => {
    const tools: Record<string, string> = {
      'clang++': '/usr/bin/clang++',
      python3: '/usr/bin/python3',
      make: '/usr/bin/make',
    };
    const r = await runDoctor(
      bareMachine({
        which: (c) => tools[c],
        exists: (p) => p === '/opt/node/include/node/node_api.h' || p === '/usr/lib/chromium/vk_swiftshader_icd.json',
        env: { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
        resolvePackage: () => '/repo/node_modules/webgpu/index.js',
      }),
    );
    const c = byId(r.checks);
    expect(c.get('native.compiler')).toMatchObject({ status: 'ok', detail: '/usr/bin/clang++' });
    expect(c.get('native.python')?.status).toBe('ok');
    expect(c.get('native.headers')?.status).toBe('ok');
    expect(c.get('webgpu.package')?.status).toBe('ok');
    expect(c.get('webgpu.vulkan')?.status).toBe('ok');
  });

  it('suggests setting VK_ICD_FILENAMES when SwiftShader is installed but unused', async () => {
    const r = await runDoctor(bareMachine({ exists: (p) => p === '/usr/lib/chromium/vk_swiftshader_icd.json' }));
    expect(byId(r.checks).get('webgpu.vulkan')).toMatchObject({
      status: 'warn',
      fix: 'export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json',
    });
  });

  it('fails when the js backend computes wrongly', async () => {
    const broken: Runtime = { ...runtime, add: (a, b) => core.sub(a, b) };
    const r = await runDoctor(bareMachine({ runtime: broken }));
    expect(r.ok).toBe(false);
    expect(byId(r.checks).get('js.compute')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('gave [-0.5, -6, 4]'),
    });
    expect(formatDoctor(r)).toContain('the js backend does not work');
  });

  it('reports workflows that failed to load', async () => {
    const r = await runDoctor(bareMachine({ projectProblems: [{ folder: 'lora', message: 'failed to load: boom' }] }));
    expect(byId(r.checks).get('projects.load')).toMatchObject({ status: 'warn', detail: 'lora: failed to load: boom' });
  });

  it('probes SIMD with a module that only SIMD engines accept', () => {
    expect(WebAssembly.validate(SIMD_PROBE)).toBe(true);
    // The same module returning i32 instead of v128 is invalid: the probe really depends on v128.
    const mutated = SIMD_PROBE.slice();
    mutated[14] = 0x7f;
    expect(WebAssembly.validate(mutated)).toBe(false);
  });
});

describe('info', () => {
  it('reports backends, kernels and live memory from the core', async () => {
    const before = core.memory().tensors;
    const t = core.tensor([1, 2, 3]);
    const r = await collectInfo(runtime, '9.9.9');
    expect(r.memory.tensors).toBe(before + 1);
    expect(r.memory.bytes).toBeGreaterThanOrEqual(12);
    core.dispose(t);
    expect(r.backends.js.available).toBe(true);
    expect(r.backends.js.kernels).toContain('add');
    expect(r.ops).toEqual(core.allOpNames());
    expect(r.currentBackend).toBe(core.getBackendName());
    const text = formatInfo(r);
    expect(text).toContain('efficientai-toolkit 9.9.9');
    expect(text).toMatch(/\* js\s+available, \d+\/\d+ kernels/);
    expect(text).toContain(`Node           ${process.version}`);
  });

  it('shows what a backend plug-in reports in details, and fallback counts', async () => {
    const r = await collectInfo(
      {
        ...runtime,
        backendAvailability: async () => ({
          ...(await core.backendAvailability()),
          webgpu: {
            available: false,
            reason: 'no adapter',
            autoRank: -1,
            details: { adapter: 'SwiftShader', maxStorageBufferBindingSize: 134217728 },
          },
        }),
        fallbackLedger: () => [
          { op: 'matmul', kind: 'fallback', from: 'webgpu', to: 'js', why: 'webgpu has no kernel for it', count: 3 },
        ],
      },
      '1.0.0',
    );
    const text = formatInfo(r);
    expect(text).toMatch(
      /webgpu\s+unavailable: no adapter\n\s+adapter: SwiftShader\n\s+maxStorageBufferBindingSize: 134217728/,
    );
    expect(text).toMatch(/matmul \(fallback\)\s+webgpu -> js, 3×: webgpu has no kernel for it/);
  });
});
