import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BenchReport, EMULATED_LABEL } from '../../bench/record.js';
import { expectEveryBackendAccountedFor, runBenchJson } from '../helpers/bench.js';
import { argvOf, runCli } from '../helpers/run-cli.js';

describe('bench:ops through the CLI', () => {
  it('measures js at a tiny size and writes one well-formed JSON report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eai-bench-'));
    const report = await runBenchJson('bench:ops', {
      backends: 'js',
      ops: 'matmul,conv2d,add,softmax',
      sizes: '4,8',
      runs: 2,
      warmup: 1,
      out: dir,
    });
    expect(report.suite).toBe('ops');
    expect(report.unavailable).toEqual([]);
    expect(report.records).toHaveLength(8);
    expect(report.command).toContain('bench:ops --backends js --ops matmul,conv2d,add,softmax --sizes 4,8');
    const mm8 = report.records.find((r) => r.op === 'matmul' && r.size === 8)!;
    expect(mm8).toMatchObject({ backend: 'js', kind: 'toolkit', threads: 1, dtype: 'f32', runs: 2, warmup: 1 });
    expect(mm8.shape).toBe('[8,8]x[8,8]');
    expect(mm8.flops).toBe(2 * 8 ** 3);
    expect(mm8.gflops).toBeCloseTo(mm8.flops! / (mm8.medianMs * 1e6), 9);
    expect(mm8.minMs).toBeLessThanOrEqual(mm8.medianMs);
    expect(mm8.medianMs).toBeLessThanOrEqual(mm8.p90Ms);
    // js is its own baseline.
    expect(mm8).toMatchObject({ baseline: 'js', ratio: 1, adapter: null });
    expect(mm8.machine.cpu.length).toBeGreaterThan(0);
    expect(mm8.machine.node).toBe(process.version);
    const conv4 = report.records.find((r) => r.op === 'conv2d' && r.size === 4)!;
    expect(conv4.shape).toBe('[1,32,4,4]x[32,32,3,3]');
    expect(conv4.flops).toBe(2 * 32 * 4 * 4 * 32 * 9);
    expect(report.records.find((r) => r.op === 'softmax')!.gflops).toBeNull();
    // --out wrote the same report as JSON, plus Markdown and HTML.
    const stem = `bench-ops-${report.machine.date.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}`;
    expect(JSON.parse(readFileSync(join(dir, `${stem}.json`), 'utf8'))).toEqual(report);
    expect(readFileSync(join(dir, `${stem}.md`), 'utf8')).toContain('| matmul | [8,8]x[8,8] | js |');
    expect(readFileSync(join(dir, `${stem}.html`), 'utf8')).toContain('<svg');
  });

  it('measures or lists with a reason every backend asked for, never dropping one', async () => {
    const { code, out } = await runCli(
      argvOf('bench:ops', {
        backends: 'all',
        ops: 'matmul',
        sizes: 4,
        runs: 1,
        warmup: 0,
        json: true,
        'log-level': 'error',
      }),
    );
    expect(code).toBe(0);
    const report = JSON.parse(out) as BenchReport;
    expectEveryBackendAccountedFor(report, ['js', 'wasm', 'webgpu', 'native']);
    // Whatever adapter WebGPU found, an emulated one carries the label in its record.
    for (const r of report.records.filter((x) => x.adapter?.emulated)) expect(r.notes).toContain(EMULATED_LABEL);
    expect(report.records.find((r) => r.backend === 'js')?.ratio).toBe(1);
  });

  it('rejects an unknown backend name, naming the choices', async () => {
    const { code, err } = await runCli(['bench:ops', '--backends', 'js,tpu', '--sizes', '4']);
    expect(code).toBe(2);
    expect(err).toMatch(/unknown backend 'tpu'.*js, wasm, webgpu, native, or all/);
  });

  it('rejects unknown ops and bad sizes as usage errors', async () => {
    expect((await runCli(['bench:ops', '--backends', 'js', '--ops', 'matmull'])).err).toMatch(
      /unknown op 'matmull'.*matmul/,
    );
    expect((await runCli(['bench:ops', '--backends', 'js', '--sizes', '4,x'])).code).toBe(2);
  });
});

describe('bench:peers through the CLI', () => {
  it('measures the peers and js at tiny sizes and rewrites only its section of the results file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eai-bench-'));
    const results = join(dir, 'RESULTS.md');
    writeFileSync(results, '# Results\n\nprose\n\n<!-- bench:peers:start -->\nold\n<!-- bench:peers:end -->\n\ntail\n');
    const report = await runBenchJson('bench:peers', {
      sizes: 8,
      threads: 1,
      'conv-size': 4,
      runs: 1,
      warmup: 0,
      rounds: 1,
      'write-results': true,
      'results-file': results,
    });
    const labels = report.records.map((r) => `${r.op} ${r.backend} ${r.threads}`);
    for (const op of ['matmul', 'conv2d']) {
      expect(labels).toContain(`${op} onnxruntime-node 1`);
      expect(labels).toContain(`${op} onnxruntime-web 1`);
      expect(labels).toContain(`${op} js 1`);
    }
    expectEveryBackendAccountedFor(report, ['native', 'wasm']);
    // Every side computed the same product as onnxruntime-node.
    expect(report.records.flatMap((r) => r.notes).filter((n) => n.includes('output differs'))).toEqual([]);
    const text = readFileSync(results, 'utf8');
    expect(text.startsWith('# Results\n\nprose\n\n<!-- bench:peers:start -->\n')).toBe(true);
    expect(text.endsWith('<!-- bench:peers:end -->\n\ntail\n')).toBe(true);
    expect(text).not.toContain('\nold\n');
    expect(text).toContain(report.machine.cpu);
    expect(text).toContain(`Reproduce: \`${report.command}\``);
    expect(text).toContain('| matmul | [8,8]x[8,8] | 1 |');
    expect(existsSync(join(dir, 'RESULTS.md'))).toBe(true);
  });
});
