// bench:ops in RESULTS.md (the real-GPU WebGPU section): the table, the adapter line, section ids.
import { describe, expect, it } from 'vitest';
import { makeRecord, withBaseline } from '../../bench/harness.js';
import type { AdapterInfo, BenchRecord, BenchReport, MachineInfo } from '../../bench/record.js';
import { checkSectionId, opsSection, replaceSection } from '../../bench/results-md.js';
import { summarize } from '../../bench/stats.js';

const machine: MachineInfo = {
  cpu: 'Test CPU',
  cores: 16,
  cpuFeatures: 'avx2 fma',
  os: 'Linux 6.0',
  arch: 'x64',
  node: 'v20.0.0',
  loadAverage: 0.1,
  date: '2025-01-02T03:04:05.678Z',
};

const gpu: AdapterInfo = {
  description: 'NVIDIA H100 80GB HBM3',
  vendor: 'nvidia',
  architecture: 'hopper',
  isFallbackAdapter: false,
  emulated: false,
};

function rec(backend: string, size: number, ms: number, adapter: AdapterInfo | null = null): BenchRecord {
  return makeRecord(
    {
      suite: 'ops',
      op: 'matmul',
      size,
      shape: `[${size},${size}]x[${size},${size}]`,
      backend,
      kind: 'toolkit',
      threads: null,
      dtype: 'f32',
      flops: 2 * size ** 3,
      machine,
      adapter,
      notes: [],
    },
    { samples: [ms], stats: summarize([ms]), warmup: 0, runs: 1 },
  );
}

describe('opsSection', () => {
  const js = rec('js', 256, 40);
  const report: BenchReport = {
    suite: 'ops',
    command: 'efficientai-toolkit bench:ops --backends webgpu,js --ops matmul --sizes 256,4096',
    machine,
    records: [
      withBaseline(js, js, 'js'),
      withBaseline(rec('webgpu', 256, 0.5, gpu), js, 'js'),
      rec('webgpu', 4096, 10, gpu),
    ],
    unavailable: [],
    notes: ['js skipped over 5 GFLOP'],
  };

  it('names the adapter once and gives the speed-up over js where js ran', () => {
    const section = opsSection(report);
    expect(section.match(/WebGPU adapter: /g)).toHaveLength(1);
    expect(section).toContain('WebGPU adapter: NVIDIA H100 80GB HBM3 (vendor nvidia, architecture hopper).');
    expect(section).toContain('| matmul | [256,256]x[256,256] | js | 40.0 | 40.0 | 1 | 0.839 | baseline |');
    expect(section).toContain('| matmul | [256,256]x[256,256] | webgpu | 0.500 | 0.500 | 1 | 67.1 | 80.0× |');
    expect(section).toContain('| matmul | [4096,4096]x[4096,4096] | webgpu | 10.0 | 10.0 | 1 | 13744 | — |');
    expect(section).toContain('- js skipped over 5 GFLOP');
    const missing = opsSection({
      ...report,
      unavailable: [{ backend: 'wasm', reason: 'not built (a\nRequire stack:\n- x.js)' }],
    });
    expect(missing).toContain('- wasm: not built (a Require stack: - x.js)');
    expect(replaceSection('# R\n', 'webgpu-ops', section)).toContain('<!-- bench:webgpu-ops:start -->');
  });

  it('labels a CPU-emulated adapter and accepts only plain section ids', () => {
    const emulated = { ...gpu, description: 'SwiftShader', emulated: true };
    const section = opsSection({ ...report, records: [rec('webgpu', 256, 5, emulated)] });
    expect(section).toContain(
      'WebGPU adapter: SwiftShader (vendor nvidia, architecture hopper; CPU-emulated — not GPU speed).',
    );
    expect(checkSectionId('webgpu-ops')).toBe('webgpu-ops');
    expect(() => checkSectionId('Web GPU')).toThrow(/not a section id/);
    expect(() => checkSectionId('x:start -->')).toThrow(RangeError);
  });
});
