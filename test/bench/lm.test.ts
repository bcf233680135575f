/**
 * bench:lm's pieces against independent counts: the synthetic config's parameter count (llama2.c's
 * stories110M is 110M with its tied head), the bytes and FLOPs formulas against a hand count, the bandwidth
 * reader's sum against a JS sum, the synthetic weights loading into a model, and the command end to end
 * on js with a tiny run.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { measureBandwidth, readerModule } from '../../bench/bandwidth.js';
import {
  bytesPerDecodedToken,
  greedyDecode,
  kvCacheBytes,
  layerParameters,
  prefillFlops,
  SYNTHETIC_110M,
  syntheticWeightSource,
  totalParameters,
} from '../../bench/lm.js';
import type { LmReport } from '../../bench/lm-suite.js';
import * as T from '../../index.js';
import type { LlamaConfig } from '../../models/llama/config.js';
import { LlamaModel } from '../../models/llama/model.js';
import { loadLlamaWeights } from '../../models/llama/weights.js';
import { runBenchJson } from '../helpers/bench.js';

describe('bench:lm model arithmetic', () => {
  it('the synthetic config is llama2.c stories110M-sized', () => {
    // 12 layers × (4·768² + 3·768·2048) + 32000·768 embedding + norms
    expect(layerParameters(SYNTHETIC_110M)).toBe(12 * (4 * 768 * 768 + 3 * 768 * 2048));
    expect(totalParameters(SYNTHETIC_110M)).toBe(12 * (4 * 768 * 768 + 3 * 768 * 2048) + 32000 * 768 + 25 * 768);
    expect(totalParameters(SYNTHETIC_110M) / 1e6).toBeCloseTo(109.5, 1);
    expect(bytesPerDecodedToken(SYNTHETIC_110M)).toBe(4 * (layerParameters(SYNTHETIC_110M) + 32000 * 768));
  });

  it('prefill FLOPs count projections, causal attention and one head product', () => {
    const c: LlamaConfig = { ...SYNTHETIC_110M, numLayers: 1, numHeads: 2, headDim: 4, hiddenSize: 8, vocabSize: 10 };
    // 3 tokens: query t sees t + 1 keys → 6 (q, k) pairs per head; q·k and p·v are 2·d FLOPs each per pair.
    const attention = 2 * 6 * 2 * 2 * 4;
    expect(prefillFlops(c, 3)).toBe(2 * 3 * layerParameters(c) + attention + 2 * 8 * 10);
  });

  it('KV cache bytes follow the cache growing in steps of 256 positions, capped at the context', () => {
    const perPosition = 12 * 2 * 12 * 64 * 4;
    expect(kvCacheBytes(SYNTHETIC_110M, 1)).toBe(256 * perPosition);
    expect(kvCacheBytes(SYNTHETIC_110M, 257)).toBe(512 * perPosition);
    expect(kvCacheBytes(SYNTHETIC_110M, 5000)).toBe(1024 * perPosition);
  });
});

describe('bench:lm bandwidth reader', () => {
  it('the assembled WebAssembly reader sums what it reads', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const values = new Float32Array(memory.buffer, 0, 64);
    values.forEach((_, i) => {
      values[i] = i;
    });
    const read = new WebAssembly.Instance(new WebAssembly.Module(readerModule(1)), { e: { m: memory } }).exports.r as (
      p: number,
      n: number,
    ) => number;
    // Lane 0 of the four accumulators: elements 0, 4, 8, … of the 256 bytes.
    expect(read(0, 256)).toBe(values.filter((_, i) => i % 4 === 0).reduce((a, b) => a + b, 0));
  });

  it('measures a positive read and copy bandwidth on two threads', async () => {
    const bw = await measureBandwidth(2, 4 * 2 ** 20, 2);
    expect(bw.threads).toBe(2);
    expect(bw.readGBs).toBeGreaterThan(0);
    expect(bw.copyGBs).toBeGreaterThan(0);
  });
});

describe('bench:lm synthetic model', () => {
  it('seeded random weights load into a model that decodes, and nothing leaks', async () => {
    await T.setBackend('js');
    const config: LlamaConfig = {
      ...SYNTHETIC_110M,
      hiddenSize: 16,
      intermediateSize: 24,
      numLayers: 2,
      numHeads: 2,
      numKvHeads: 2,
      headDim: 8,
      vocabSize: 40,
    };
    const decode = async () => {
      const model = new LlamaModel(config, await loadLlamaWeights(config, syntheticWeightSource(config, 7), 'test'));
      try {
        return await greedyDecode(model, [1, 5, 9], 4);
      } finally {
        model.dispose();
      }
    };
    const a = await decode();
    expect(a.stepMs).toHaveLength(4);
    expect(a.peakTensorBytes).toBeGreaterThan(4 * totalParameters(config) - 1);
    expect(T.memory().tensors).toBe(0);
  });
});

describe('bench:lm through the CLI', () => {
  it('decodes stories260K on js, checks the known continuation and reports the target', async () => {
    const report = (await runBenchJson('bench:lm', {
      backends: 'js',
      threads: '1',
      tokens: 4,
      runs: 1,
      warmup: 0,
      'no-large': true,
    })) as LmReport;
    expect(report.suite).toBe('lm');
    expect(report.records).toHaveLength(1);
    const [r] = report.records;
    expect(r).toMatchObject({ op: 'decode', shape: 'stories260K', backend: 'js', size: 4, runs: 1 });
    // The output matched the known continuation (a mismatch would be a note).
    expect(r.notes.filter((n) => n.includes('continuation'))).toEqual([]);
    expect(report.large).toEqual([]);
    expect(report.targetLines[0]).toMatch(/native 1 thread: not measured/);
  });
});
