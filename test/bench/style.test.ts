/**
 * bench:style at a tiny size through the CLI, on js and the other CPU backends (wasm, native)
 * where they are available (WebGPU is left out here: on an emulated adapter its shader compiles
 * alone take seconds):
 * well-formed JSON, every runtime's output checked against onnxruntime-node running the same ONNX
 * file (the independent oracle), the targets judged honestly, and the results file rewritten only
 * between its markers. No timing assertions: the numbers only have to exist and be consistent.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchRecord, BenchReport } from '../../bench/record.js';
import { styleSection } from '../../bench/results-md.js';
import { checkOutput, STYLE_TOLERANCE, styleTargets, transformerNetFlops } from '../../bench/style.js';
import { compareStyle } from '../../bench/style-suite.js';
import { styleSummary } from '../../bench/writers/markdown.js';
import {
  type CaseFields,
  expectEveryBackendAccountedFor,
  runBenchJson,
  testMachine,
  timedRecord,
} from '../helpers/bench.js';
import { runCli } from '../helpers/run-cli.js';

const machine = testMachine({ cpuFeatures: 'avx2', os: 'Linux', loadAverage: 1 });

function rec(backend: string, kind: 'toolkit' | 'peer', threads: number | null, ms: number, size = 512): BenchRecord {
  const mosaic: CaseFields = {
    suite: 'style',
    op: 'fast-style:mosaic',
    size,
    shape: `[1,3,${size},${size}]`,
    dtype: 'f32',
    flops: null,
    machine,
    adapter: null,
  };
  return timedRecord(mosaic, backend, kind, threads, ms);
}

describe('bench:style through the CLI', () => {
  it('measures the CPU backends and both peers at 16², each output checked against onnxruntime-node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eai-bench-style-'));
    const results = join(dir, 'RESULTS.md');
    writeFileSync(results, '# Results\n\n<!-- bench:style:start -->\nold\n<!-- bench:style:end -->\n\ntail\n');
    const report = await runBenchJson('bench:style', {
      sizes: 16,
      threads: 1,
      backends: 'js,wasm,native',
      runs: 1,
      rounds: 1,
      warmup: 0,
      'write-results': true,
      'results-file': results,
    });
    expect(report.suite).toBe('style');
    expect(report.command).toContain('bench:style --style mosaic --sizes 16 --backends js,wasm,native --threads 1');
    expectEveryBackendAccountedFor(report, ['js', 'wasm', 'native']);
    const labels = report.records.map((r) => `${r.backend} ${r.threads}`);
    expect(labels).toContain('onnxruntime-node 1');
    expect(labels).toContain('onnxruntime-web 1');
    expect(labels).toContain('js 1');
    for (const r of report.records) {
      expect(r).toMatchObject({ op: 'fast-style:mosaic', size: 16, shape: '[1,3,16,16]', dtype: 'f32', runs: 1 });
      expect(r.flops).toBe(transformerNetFlops(16, 16));
      expect(r.medianMs).toBeGreaterThan(0);
      if (r.backend === 'onnxruntime-node') {
        expect(r.check).toBeUndefined();
        expect(r.notes).toContain('the reference of the agreement check');
        continue;
      }
      // The oracle: onnxruntime-node ran the same file on the same input.
      expect(r.check, r.backend).toMatchObject({
        reference: 'onnxruntime-node 1t',
        tolerance: STYLE_TOLERANCE,
        ok: true,
      });
      expect(r.check!.maxAbsDiff).toBeLessThanOrEqual(STYLE_TOLERANCE);
      expect(r.check!.maxAbsDiff8bit).toBeLessThanOrEqual(STYLE_TOLERANCE);
    }
    // js and the toolkit's CPU backends are compared with the peers at 1 thread.
    const js = report.records.find((r) => r.backend === 'js')!;
    expect(js.baseline).toBe('onnxruntime-node 1t');
    expect(Object.keys(js.ratios)).toContain('onnxruntime-web 1t');
    // The input and what is timed are stated.
    expect(report.notes.some((n) => n.startsWith('timed: the network forward only'))).toBe(true);
    expect(report.notes.some((n) => n.includes('astronaut.png'))).toBe(true);
    expect(report.notes.some((n) => n.startsWith('load average'))).toBe(true);
    // 512² was not measured: the targets say so instead of passing or failing.
    expect(report.targets).toHaveLength(2);
    for (const t of report.targets!) expect(t).toMatchObject({ size: 512, met: null, timeRatio: null });

    const text = readFileSync(results, 'utf8');
    expect(text.startsWith('# Results\n\n<!-- bench:style:start -->\nMeasured ')).toBe(true);
    expect(text.endsWith('<!-- bench:style:end -->\n\ntail\n')).toBe(true);
    expect(text).not.toContain('\nold\n');
    expect(text).toContain(`Reproduce: \`${report.command}\``);
    expect(text).toContain('Timed: the network forward only');
    expect(text).toMatch(/\| 16² \| onnxruntime-node 1t \| [\d.]+ \|/);
  });

  it('rejects sizes that are not multiples of 4 and unknown styles as usage errors', async () => {
    const bad = await runCli(['bench:style', '--sizes', '30', '--log-level', 'error']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/size 30 must be a multiple of 4/);
    const style = await runCli(['bench:style', '--style', 'monet', '--sizes', '32', '--log-level', 'error']);
    expect(style.code).toBe(2);
    expect(style.err).toMatch(/unknown style 'monet'.*mosaic/);
  });
});

describe('the agreement check', () => {
  it('takes the largest difference on the raw output and on the 8-bit image', () => {
    const ref = Float32Array.from([0, 100, 254.4, -30, 300]);
    const out = Float32Array.from([0.5, 101.25, 254.6, -10, 280]);
    // Raw: |−10 − (−30)| = 20. 8-bit: 254.4→254, 254.6→255 (1); −30 and −10 both clamp to 0; 300 and 280 to 255.
    expect(checkOutput(out, ref, 'onnxruntime-node 1t')).toEqual({
      reference: 'onnxruntime-node 1t',
      maxAbsDiff: 20,
      maxAbsDiff8bit: 1,
      tolerance: 2,
      ok: false,
    });
    expect(checkOutput(Float32Array.from([1, 2]), Float32Array.from([1, 3.5]), 'r').ok).toBe(true);
  });

  it('fails on NaN and on outputs of another size', () => {
    expect(checkOutput(Float32Array.from([Number.NaN]), Float32Array.from([1]), 'r').ok).toBe(false);
    expect(checkOutput(Float32Array.from([1, 2]), Float32Array.from([1, 2, 3]), 'r').ok).toBe(false);
  });
});

describe('style-transfer FLOPs, ratios and targets', () => {
  it('counts the 16 convolutions by hand at 256²', () => {
    // 9×9 3→32 at 256², 3×3 32→64 at 128², 3×3 64→128 at 64², ten 3×3 128→128 at 64²,
    // 3×3 128→64 at 128², 3×3 64→32 at 256², 9×9 32→3 at 256²; a multiply-add is 2.
    const expected =
      2 * 81 * 3 * 32 * 256 ** 2 +
      2 * 9 * 32 * 64 * 128 ** 2 +
      2 * 9 * 64 * 128 * 64 ** 2 +
      10 * 2 * 9 * 128 * 128 * 64 ** 2 +
      2 * 9 * 128 * 64 * 128 ** 2 +
      2 * 9 * 64 * 32 * 256 ** 2 +
      2 * 81 * 32 * 3 * 256 ** 2;
    expect(transformerNetFlops(256, 256)).toBe(expected);
    expect(expected).toBe(20_157_825_024);
    expect(transformerNetFlops(512, 512)).toBe(4 * expected);
  });

  it('compares each runtime with the peers at its own thread count', () => {
    const out = compareStyle([
      rec('onnxruntime-node', 'peer', 1, 100),
      rec('onnxruntime-web', 'peer', 1, 400),
      rec('native', 'toolkit', 1, 80),
      rec('onnxruntime-node', 'peer', 2, 60),
      rec('onnxruntime-web', 'peer', 2, 300),
      rec('native', 'toolkit', 2, 50),
      rec('js', 'toolkit', 1, 10_000),
      rec('webgpu', 'toolkit', null, 1000),
    ]);
    const by = (b: string, t: number | null) => out.find((r) => r.backend === b && r.threads === t)!;
    expect(by('native', 1)).toMatchObject({ baseline: 'onnxruntime-node 1t', ratio: 1.25 });
    expect(by('native', 1).ratios).toEqual({ 'onnxruntime-web 1t': 5 });
    expect(by('native', 2)).toMatchObject({ baseline: 'onnxruntime-node 2t', ratio: 1.2 });
    expect(by('native', 2).ratios).toEqual({ 'onnxruntime-web 2t': 6, 'native 1t': 1.6 });
    expect(by('onnxruntime-web', 2)).toMatchObject({ baseline: 'onnxruntime-node 2t', ratio: 0.2 });
    expect(by('js', 1)).toMatchObject({ baseline: 'onnxruntime-node 1t', ratio: 0.01 });
    expect(by('webgpu', null)).toMatchObject({ baseline: null, ratio: null, ratios: {} });
  });

  it('judges each target on the fastest CPU backend at the same thread count, never on WebGPU', () => {
    const records = [
      rec('onnxruntime-node', 'peer', 1, 100),
      rec('onnxruntime-web', 'peer', 1, 400),
      rec('native', 'toolkit', 1, 90),
      rec('wasm', 'toolkit', 1, 250),
      rec('onnxruntime-node', 'peer', 2, 60),
      rec('onnxruntime-web', 'peer', 2, 300),
      rec('native', 'toolkit', 2, 70),
      rec('webgpu', 'toolkit', null, 1),
      rec('native', 'toolkit', 2, 1, 256), // another size: ignored
    ];
    const t = styleTargets(records, [1, 2]);
    expect(t.map((x) => [x.threads, x.peer, x.runtime, x.timeRatio, x.met])).toEqual([
      [1, 'onnxruntime-node 1t', 'native 1t', 0.9, true],
      [1, 'onnxruntime-web 1t', 'native 1t', 0.225, true],
      [2, 'onnxruntime-node 2t', 'native 2t', 70 / 60, false],
      [2, 'onnxruntime-web 2t', 'native 2t', 70 / 300, true],
    ]);
    // A runtime whose output disagrees with the oracle is not a candidate.
    const wrong = {
      ...records[2],
      check: { reference: 'r', maxAbsDiff: 9, maxAbsDiff8bit: 9, tolerance: 2, ok: false },
    };
    const t2 = styleTargets([records[0], records[1], wrong, records[3]], [1]);
    expect(t2[0]).toMatchObject({ runtime: 'wasm 1t', timeRatio: 2.5, met: false });
    expect(styleTargets([records[0]], [1])[1]).toMatchObject({
      met: null,
      reason: expect.stringContaining('no CPU backend'),
    });
  });
});

describe('the bench:style summary', () => {
  it('puts each comparison in its own column and states every verdict', () => {
    const records = compareStyle([
      { ...rec('onnxruntime-node', 'peer', 1, 100), notes: ['the reference of the agreement check'] },
      rec('onnxruntime-web', 'peer', 1, 400),
      {
        ...rec('native', 'toolkit', 1, 125),
        check: { reference: 'onnxruntime-node 1t', maxAbsDiff: 0.0123, maxAbsDiff8bit: 1, tolerance: 2, ok: true },
      },
      rec('onnxruntime-web', 'peer', 2, 200),
      { ...rec('js', 'toolkit', 1, 50_000), notes: ['js: 1 run, no warm-up (slow reference kernels)'] },
    ]);
    const report: BenchReport = {
      suite: 'style',
      command: 'efficientai-toolkit bench:style',
      machine,
      records,
      unavailable: [{ backend: 'wasm', reason: 'not built' }],
      notes: [],
      targets: styleTargets(records, [1, 2]),
    };
    const text = styleSummary(report);
    const row = (label: string) => text.split('\n').find((l) => l.includes(`| ${label} |`))!;
    // native 1t: 100/125 = 0.8× onnxruntime-node's speed, 400/125 = 3.2× onnxruntime-web's.
    expect(row('native 1t')).toBe(
      '| 512² | native 1t | 125 | 125 | 1 | — | 0.800× vs onnxruntime-node 1t | 3.20× vs onnxruntime-web 1t | — | 0.0123 | 1 |',
    );
    expect(row('onnxruntime-node 1t')).toContain('| reference | — |');
    // onnxruntime-web 2t: compared with no toolkit peer column, only with its own 1 thread (400/200 = 2×).
    expect(row('onnxruntime-web 2t')).toContain('| — | — | 2.00× vs onnxruntime-web 1t | — | — |');
    // 125/100 = 1.25× onnxruntime-node's time (NOT met); 125/400 = 0.3125× onnxruntime-web's (met); 2 threads: not judged.
    expect(text).toContain('| 1 | ≤ 1.0× onnxruntime-node 1t at 512² | native 1t | 1.25× | NOT met |');
    expect(text).toContain('| 1 | ≤ 0.5× onnxruntime-web 1t at 512² | native 1t | 0.313× | met |');
    expect(text).toMatch(
      /\| 2 \| ≤ 1\.0× onnxruntime-node 2t at 512² \| — \| — \| not judged: .*onnxruntime-node 2t not measured/,
    );
    const section = styleSection(report);
    expect(section).toContain('Reproduce: `efficientai-toolkit bench:style`');
    expect(section).toContain('- wasm: not built');
    expect(section).toContain('Timed: the network forward only');
    // A record's note that names its backend is not prefixed with the backend twice.
    expect(section).toContain('- fast-style:mosaic [1,3,512,512] js: 1 run, no warm-up (slow reference kernels)');
    expect(section).not.toContain('js: js:');
  });
});
