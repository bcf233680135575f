import { describe, expect, it } from 'vitest';
import { makeRecord, withBaseline } from '../../bench/harness.js';
import { type BenchRecord, type BenchReport, EMULATED_LABEL, type MachineInfo } from '../../bench/record.js';
import { endMarker, peersSection, replaceSection, startMarker } from '../../bench/results-md.js';
import { summarize } from '../../bench/stats.js';
import { barChart, escapeHtml, htmlReport } from '../../bench/writers/html.js';
import { jsonReport, reportStem } from '../../bench/writers/json.js';
import { markdownReport, peersSummary } from '../../bench/writers/markdown.js';
import { testMachine } from '../helpers/bench.js';

// Angle brackets in the CPU name: the HTML writer must escape them.
const machine: MachineInfo = testMachine({ cpu: 'Test CPU <9000>' });

const swiftshader = {
  description: 'SwiftShader driver 5.0.0',
  vendor: 'google',
  architecture: 'swiftshader',
  isFallbackAdapter: true,
  emulated: true,
};

function rec(
  backend: string,
  ms: number,
  extra: Partial<Pick<BenchRecord, 'adapter' | 'notes' | 'threads' | 'kind'>> = {},
  op = 'matmul',
): BenchRecord {
  return makeRecord(
    {
      suite: 'ops',
      op,
      size: 256,
      shape: '[256,256]x[256,256]',
      backend,
      kind: extra.kind ?? 'toolkit',
      threads: extra.threads === undefined ? 1 : extra.threads,
      dtype: 'f32',
      flops: 2 * 256 ** 3,
      machine,
      adapter: extra.adapter ?? null,
      notes: extra.notes ?? [],
    },
    { samples: [ms], stats: summarize([ms]), warmup: 0, runs: 1 },
  );
}

const js = rec('js', 100);
const report: BenchReport = {
  suite: 'ops',
  command: 'efficientai-toolkit bench:ops --backends js,webgpu,wasm --ops matmul --sizes 256',
  machine,
  records: [
    withBaseline(js, js, 'js'),
    withBaseline(rec('webgpu', 25, { adapter: swiftshader, threads: null, notes: [EMULATED_LABEL] }), js, 'js'),
  ],
  unavailable: [{ backend: 'wasm', reason: 'no wasm backend is registered in this build' }],
  notes: ['a | note'],
};

describe('JSON writer', () => {
  it('round-trips the report and names files by suite and start time', () => {
    expect(JSON.parse(jsonReport(report))).toEqual(report);
    expect(reportStem(report)).toBe('bench-ops-2025-01-02T03-04-05Z');
  });
});

describe('Markdown writer', () => {
  const md = markdownReport(report);

  it('has the machine, the command, a header row and one row per record with hand-checked numbers', () => {
    expect(md).toContain('Machine: Test CPU <9000>, 2 cores (avx2 fma), Linux 6.0 x64, Node v20.0.0, load 0.5');
    expect(md).toContain(`Command: \`${report.command}\``);
    expect(md).toContain(
      '| op | shape | backend | threads | dtype | median ms | p90 ms | GFLOPS | ratio | runs | notes |',
    );
    // 2·256³ = 33554432 FLOPs in 100 ms = 0.336 GFLOPS; in 25 ms = 1.34 GFLOPS, 4× js.
    expect(md).toContain('| matmul | [256,256]x[256,256] | js | 1 | f32 | 100 | 100 | 0.336 | 1.00× vs js | 1 |  |');
    expect(md).toContain(`| webgpu (${EMULATED_LABEL}) | — | f32 | 25.0 | 25.0 | 1.34 | 4.00× vs js |`);
  });

  it('lists unavailable backends with their reason, the adapter, and escapes pipes', () => {
    expect(md).toContain('- wasm: no wasm backend is registered in this build');
    expect(md).toContain('WebGPU adapter: webgpu (CPU-emulated — not GPU speed): SwiftShader driver 5.0.0');
    expect(md).toContain('- a | note');
  });
});

describe('HTML writer', () => {
  const html = htmlReport(report);

  it('is one self-contained document with the table and an inline SVG chart', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<style>');
    expect(html).toContain('<table>');
    expect(html).toContain('<th>median ms</th>');
    expect(html).toMatch(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*<rect /s);
    // Nothing loaded from elsewhere.
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\(/i);
  });

  it('escapes text and carries the emulation label and the unavailable list', () => {
    expect(html).toContain('Test CPU &lt;9000&gt;');
    expect(html).not.toContain('Test CPU <9000>');
    expect(html).toContain(EMULATED_LABEL);
    expect(html).toContain('wasm: no wasm backend is registered in this build');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('draws bar lengths proportional to GFLOPS', () => {
    const svg = barChart(report.records);
    const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    // webgpu is 4× js: the longest bar (300 px) and a quarter of it.
    expect(widths).toEqual([75, 300]);
    expect(svg).toContain('GFLOPS (longer is faster)');
  });
});

describe('RESULTS.md sections', () => {
  it('replaces only the text between its markers', () => {
    const text = `# R\n\n${startMarker('peers')}\nold\n${endMarker('peers')}\n\nkeep\n`;
    expect(replaceSection(text, 'peers', 'new table')).toBe(
      `# R\n\n${startMarker('peers')}\nnew table\n${endMarker('peers')}\n\nkeep\n`,
    );
  });

  it('appends the section when the markers are missing and refuses broken markers', () => {
    expect(replaceSection('# R\n', 'peers', 'body')).toBe(
      `# R\n\n${startMarker('peers')}\nbody\n${endMarker('peers')}\n`,
    );
    expect(() => replaceSection(`${endMarker('peers')}\n${startMarker('peers')}`, 'peers', 'x')).toThrow(
      /must appear once each, start before end/,
    );
    expect(() => replaceSection(`${startMarker('peers')}\n`, 'peers', 'x')).toThrow(/fix the file by hand/);
  });

  it('writes the peers comparison with speed-ups, thread scaling and what was unavailable', () => {
    const peer = (backend: string, threads: number, ms: number) =>
      rec(backend, ms, { kind: backend.startsWith('onnx') ? 'peer' : 'toolkit', threads });
    const nodePeer1 = peer('onnxruntime-node', 1, 12);
    const native1 = withBaseline(peer('native', 1, 8), nodePeer1, 'onnxruntime-node 1t');
    const native2 = { ...peer('native', 2, 5), ratios: { 'native 1t': 1.6 } };
    const peersReport: BenchReport = {
      ...report,
      suite: 'peers',
      command: 'efficientai-toolkit bench:peers --sizes 256',
      records: [nodePeer1, peer('onnxruntime-node', 2, 6), peer('onnxruntime-web', 1, 30), native1, native2],
      unavailable: [{ backend: 'wasm', reason: 'not built' }],
    };
    const summary = peersSummary(peersReport);
    // native 8 ms vs 12 ms: 1.50×; wasm unavailable; onnxruntime-web 2t was not run.
    expect(summary).toContain('| matmul | [256,256]x[256,256] | 1 | 8.00 | 12.0 | 1.50× | unavailable | 30.0 | — |');
    expect(summary).toContain('| matmul | [256,256]x[256,256] | 2 | 5.00 | 6.00 | 1.20× | unavailable | not run | — |');
    expect(summary).toContain('| matmul | [256,256]x[256,256] | native 2t | 1.60× vs native 1t |');
    const noisy = makeRecord(
      { ...nodePeer1, notes: ['js: 1 run'], backend: 'native', kind: 'toolkit', threads: 1, size: 256 },
      { samples: [10, 10, 10, 10, 40], stats: summarize([10, 10, 10, 10, 40]), warmup: 0, runs: 5 },
    );
    const section = peersSection({ ...peersReport, records: [...peersReport.records, noisy] });
    expect(section).toContain('- noisy (p90 over 1.5× the median): matmul 256 native 1t 2.8×');
    expect(section).toContain('- matmul [256,256]x[256,256] native 1t: js: 1 run');
    expect(section).toContain('Measured 2025-01-02T03:04:05.678Z on Test CPU <9000>');
    expect(section).toContain('Reproduce: `efficientai-toolkit bench:peers --sizes 256`');
    expect(section).toContain('- wasm: not built');
  });
});
