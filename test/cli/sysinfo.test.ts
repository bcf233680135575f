import { describe, expect, it } from 'vitest';
import { ARM_FEATURES, parseCpuinfoFlags, parseSysctlFeatures, systemInfo, X86_FEATURES } from '../../cli/sysinfo.js';

describe('CPU feature parsing', () => {
  it('reads x86 flags from /proc/cpuinfo text', () => {
    const text = [
      'processor\t: 0',
      'model name\t: Example CPU',
      'flags\t\t: fpu vme sse4_1 sse4_2 avx f16c fma avx2 bmi2',
      '',
      'processor\t: 1',
    ].join('\n');
    expect(parseCpuinfoFlags(text, X86_FEATURES)).toEqual(['sse4_2', 'avx', 'avx2', 'fma', 'f16c']);
  });

  it('reads arm64 Features and does not mistake a prefix for a feature', () => {
    const text = 'processor\t: 0\nFeatures\t: fp asimd evtstrm aes asimdrdm\nCPU implementer\t: 0x41\n';
    expect(parseCpuinfoFlags(text, ARM_FEATURES)).toEqual(['asimd']);
  });

  it('returns nothing when there is no flags line', () => {
    expect(parseCpuinfoFlags('processor : 0\n', X86_FEATURES)).toEqual([]);
  });

  it('maps macOS sysctl names onto the Linux ones', () => {
    const text = 'FPU VME SSE3 SSE4.1 SSE4.2 AVX1.0 FMA F16C\nAVX2 BMI2 AVX512F';
    expect(parseSysctlFeatures(text, X86_FEATURES)).toEqual(['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f']);
  });
});

describe('systemInfo', () => {
  it('describes this machine consistently with Node', () => {
    const s = systemInfo();
    expect(s.platform).toBe(process.platform);
    expect(s.cpu.arch).toBe(process.arch);
    expect(s.node).toBe(process.version);
    expect(s.cpu.cores).toBeGreaterThan(0);
    expect(s.memory.freeBytes).toBeLessThanOrEqual(s.memory.totalBytes);
    if (process.arch === 'arm64') expect(s.cpu.features).toContain('neon');
    if (process.platform !== 'darwin') expect(s.appleSilicon).toBe(false);
  });
});
