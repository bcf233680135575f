/**
 * bench:sd on a small UNet config (tiny-sd's, 16×16 latents) so it runs in seconds: the step runs in child
 * processes (dist/bench/sd-step-child.js), the PyTorch peer (when Debian's python3-torch is here) over the
 * same generated weights agrees with every backend's output, and tiny-sd img2img is deterministic and agrees
 * across backends. The full SD-1.5-shaped run is a benchmark (bench/RESULTS.md), not a test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { PEER_PYTHON, peerEnv, runSdSuite, sdSummary } from '../../bench/sd-suite.js';
import * as T from '../../index.js';
import { repoRoot } from '../../node/paths.js';
import { modelsDir } from '../helpers/model-files.js';

const child = join(repoRoot(), 'dist', 'bench', 'sd-step-child.js');
const hasTorch = (() => {
  try {
    execFileSync(PEER_PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const available = await T.availableBackendNames();
const cpu = (['native', 'wasm'] as const).filter((b) => available.includes(b));

describe('bench:sd (small UNet config)', () => {
  it('peerEnv unsets the OpenBLAS overrides and pins OpenBLAS to one thread, for the peer only', () => {
    const base = { OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '1048576', PATH: '/bin' };
    const { env, described } = peerEnv(base);
    expect(env.OPENBLAS_CORETYPE).toBeUndefined();
    expect(env.OPENBLAS_L2_SIZE).toBeUndefined();
    expect(env.OPENBLAS_NUM_THREADS).toBe('1');
    expect(env.GLIBC_TUNABLES).toBe('glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824');
    expect(base.OPENBLAS_CORETYPE).toBe('Haswell');
    expect(described).toMatch(/^env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /);
  });

  it.skipIf(!existsSync(child))('measures each backend in a child process and checks it against PyTorch', async () => {
    const config = JSON.parse(readFileSync(join(modelsDir, 'tiny-sd', 'unet', 'config.json'), 'utf8'));
    const report = await runSdSuite({
      backends: [...cpu, 'js'],
      threads: [1],
      runs: 1,
      warmup: 0,
      seed: 7,
      noPeer: !hasTorch,
      unetConfig: { ...config, sample_size: 16 },
      img2img: { backends: cpu, size: 32, steps: 4 },
      img2imgRuns: 2,
      childScript: child,
      command: 'test',
    });
    const steps = report.records.filter((r) => r.op === 'unet-step (small config)');
    expect(steps.filter((r) => r.kind === 'toolkit').map((r) => r.backend)).toEqual(cpu);
    expect(report.unavailable.find((u) => u.backend === 'js')?.reason).toMatch(/hours/);
    for (const r of steps) {
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.peakMemoryBytes).toBeGreaterThan(1e7);
    }
    if (hasTorch) {
      expect(steps.some((r) => r.kind === 'peer')).toBe(true);
      // Every backend's output within 1e-3 of the scale of PyTorch's on the same generated weights.
      for (const r of steps.filter((x) => x.kind === 'toolkit')) {
        expect(r.notes.find((n) => n.startsWith('output vs pytorch'))).toMatch(/\(within /);
      }
    }
    const img = report.records.filter((r) => r.op === 'tiny-sd img2img');
    expect(img.map((r) => r.backend)).toEqual(cpu);
    for (const r of img) expect(r.notes[0]).toBe('identical output on every run (3)');
    for (const r of img.slice(1)) expect(r.notes[1]).toMatch(/target ≤ 1: met/);
    expect(sdSummary(report).split('\n').length).toBe(2 + report.records.length);
  });
});
