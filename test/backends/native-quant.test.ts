/**
 * The native quantized kernels beyond conformance: the decode path (a matrix-vector product
 * for 1–4 rows of x, with AVX2 code decoding that permutes x) and the prefill path (the packed
 * SGEMM with dequantized B panels) against the js reference for every bit width, on the
 * baseline and AVX2 instruction sets and any thread count; and the quantized ops run the native
 * code itself (not its reference fallback) for f32 and half-precision inputs.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { loadNativeAddon } from '../../backends/native/index.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const skip = await backendSkipReason('native');
const loaded = loadNativeAddon();
const addon = loaded.ok ? loaded.addon : null;

async function onJs<R>(fn: () => Promise<R>): Promise<R> {
  const previous = T.getBackendName();
  await T.setBackend('js');
  try {
    return await fn();
  } finally {
    await T.setBackend(previous);
  }
}

describe(titled('native quantized matmul', skip), () => {
  it.skipIf(skip)(
    'matches the reference for every bit width, 1–5 and 9 rows, both ISAs, any thread count',
    async () => {
      const a = addon!;
      const isas = a.info().cpuFeatures.includes('avx2') ? ['baseline', 'avx2', 'auto'] : ['baseline', 'auto'];
      const threads = a.info().threads;
      const [n, k, groupSize] = [37, 192, 64];
      const rng = new T.Rng(5);
      try {
        for (const bits of T.QUANT_BITS) {
          const words = Uint32Array.from({ length: (n * k * bits) / 32 }, () => rng.int(2 ** 32));
          const scales = Float32Array.from({ length: (n * k) / groupSize }, () => 0.1 * (rng.uniform() - 0.5));
          const biases = Float32Array.from({ length: (n * k) / groupSize }, () => rng.uniform() - 0.5);
          for (const m of [1, 2, 3, 4, 5, 9]) {
            const x = Float32Array.from({ length: m * k }, () => rng.normal());
            const want = await onJs(async () => {
              const q: T.QuantizedWeight = {
                weight: T.tensor(words, [n, (k * bits) / 32], 'u32'),
                scales: T.tensor(scales, [n, k / groupSize]),
                biases: T.tensor(biases, [n, k / groupSize]),
                bits,
                groupSize: groupSize as T.QuantGroupSize,
              };
              return T.quantizedMatmul(T.tensor(x, [m, k]), q).data();
            });
            for (const isa of isas) {
              a.setIsa(isa as 'auto');
              const got = new Float32Array(m * n);
              a.quantizedMatmul(x, words, scales, biases, got, m, n, k, groupSize, bits, true);
              for (let i = 0; i < got.length; i++) {
                expect(Math.abs(got[i] - want[i]), `${bits} bits, ${m} rows, ${isa}, element ${i}`).toBeLessThan(
                  1e-4 * (1 + Math.abs(want[i])),
                );
              }
              // Threads split the rows of W, never a sum: bit-for-bit the same answer.
              a.setThreads(1);
              const single = new Float32Array(m * n);
              a.quantizedMatmul(x, words, scales, biases, single, m, n, k, groupSize, bits, true);
              a.setThreads(3);
              const three = new Float32Array(m * n);
              a.quantizedMatmul(x, words, scales, biases, three, m, n, k, groupSize, bits, true);
              expect(three).toEqual(single);
              a.setThreads(threads);
            }
          }
        }
      } finally {
        a.setIsa('auto');
        a.setThreads(threads);
      }
    },
    60_000,
  );

  it.skipIf(skip)('rejects inconsistent arguments instead of reading out of bounds', () => {
    const a = addon!;
    const words = new Uint32Array(16);
    const s = new Float32Array(2);
    expect(() =>
      a.quantizedMatmul(new Float32Array(64), words, s, s, new Float32Array(2), 1, 2, 64, 64, 7, true),
    ).toThrow(/bits must be 2, 3, 4, 5, 6 or 8/);
    expect(() =>
      a.quantizedMatmul(new Float32Array(64), words, s, s, new Float32Array(3), 1, 3, 64, 64, 4, true),
    ).toThrow(/packed weight must be/);
    expect(() => a.affineDequantize(words, s, new Float32Array(1), new Float32Array(128), 64, 64, 4)).toThrow(
      /one value per group/,
    );
  });

  it.skipIf(skip)('runs its own kernels (no reference fallback) for f32 and half-precision inputs', async () => {
    const previous = T.getBackendName();
    await T.setBackend('native');
    try {
      const before = T.fallbackLedger();
      T.tidy(() => {
        for (const dtype of ['f32', 'f16', 'bf16'] as const) {
          const q = T.quantize(T.randomNormal([33, 128], 0, 1, { dtype }), { bits: 4, groupSize: 32 });
          T.dequantize(q);
          T.quantizedMatmul(T.randomNormal([7, 128], 0, 1, { dtype }), q);
          T.quantizedMatmul(T.randomNormal([1, 33], 0, 1, { dtype }), q, { transpose: false });
          T.quantizedEmbedding(T.tensor([0, 5, 32], [3], 'i32'), q);
        }
      });
      expect(T.ledgerDelta(before, T.fallbackLedger())).toEqual([]);
    } finally {
      await T.setBackend(previous);
    }
  });
});
