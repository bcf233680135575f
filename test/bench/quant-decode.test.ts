import { describe, expect, it } from 'vitest';
import { decodeMarkdown, runDecodeBench, weightBytes } from '../../bench/quant-decode.js';

describe('bench/quant-decode', () => {
  it('counts the bytes a decode step reads: f32 weights, or packed words plus f32 scales and biases', () => {
    expect(weightBytes('f32', 768, 768)).toBe(768 * 768 * 4);
    // 4 bits: half a byte per weight; group 64: two f32 values per 64 weights.
    expect(weightBytes('q4', 768, 768)).toBe(768 * 384 + 768 * 12 * 8);
    expect(weightBytes('q8', 32000, 768)).toBe(32000 * 768 + 32000 * 12 * 8);
  });

  it('measures every kind on a backend and tabulates GB/s against f32 from the same run', async () => {
    const report = await runDecodeBench({ backends: ['js'], runs: 2, warmup: 0, shapes: [[7, 64]] });
    expect(report.rows.map((r) => r.kind)).toEqual(['f32', 'q8', 'q4']);
    const f32 = report.rows[0];
    expect(f32.speedup).toBe(1);
    for (const r of report.rows) {
      expect(r.gbPerS).toBeCloseTo(r.bytes / r.stats.median / 1e6, 6);
      expect(r.stats.n).toBe(2);
    }
    const md = decodeMarkdown(report, 'node bench/quant-decode.mjs --backends js');
    expect(md).toContain('Reproduce: `node bench/quant-decode.mjs --backends js`');
    expect(md).toContain('| js | [7, 64] | q4 |');
  });
});
