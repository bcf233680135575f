/**
 * Palettization: the exact 1-D k-means against brute-force dynamic programming (every split point tried), the
 * index packing against coremltools' documented bit layout for constexpr_lut_to_dense, and the table itself.
 */
import { describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ArrayToF16 } from '../../../core/dtype.js';
import { Rng } from '../../../core/random.js';
import { kmeans1d, packIndices, palettize, unpackIndices } from '../../../models/export/palettize.js';

/** Minimum within-cluster sum of squares of sorted weighted values in k clusters, by trying every split. */
function bruteForce(values: number[], weights: number[], k: number): number {
  const n = values.length;
  const cost = (j: number, i: number) => {
    let w = 0;
    let s = 0;
    for (let t = j; t <= i; t++) {
      w += weights[t];
      s += weights[t] * values[t];
    }
    const mean = s / w;
    let c = 0;
    for (let t = j; t <= i; t++) c += weights[t] * (values[t] - mean) ** 2;
    return c;
  };
  const D: number[][] = Array.from({ length: k }, () => new Array<number>(n).fill(Number.POSITIVE_INFINITY));
  for (let i = 0; i < n; i++) D[0][i] = cost(0, i);
  for (let m = 1; m < k; m++) {
    for (let i = m; i < n; i++) {
      for (let j = m; j <= i; j++) D[m][i] = Math.min(D[m][i], D[m - 1][j - 1] + cost(j, i));
    }
  }
  return D[k - 1][n - 1];
}

function clusterCost(values: number[], weights: number[], starts: number[]): number {
  let total = 0;
  for (let c = 0; c < starts.length; c++) {
    const end = c + 1 < starts.length ? starts[c + 1] : values.length;
    let w = 0;
    let s = 0;
    for (let t = starts[c]; t < end; t++) {
      w += weights[t];
      s += weights[t] * values[t];
    }
    for (let t = starts[c]; t < end; t++) total += weights[t] * (values[t] - s / w) ** 2;
  }
  return total;
}

describe('exact 1-D k-means', () => {
  it('finds the optimum brute force finds, on 40 random weighted sets', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 40; trial++) {
      const n = 5 + (trial % 30);
      const k = 2 + (trial % 6);
      const values = Array.from({ length: n }, () => rng.normal() * (trial % 3 === 0 ? 5 : 1)).sort((a, b) => a - b);
      const weights = Array.from({ length: n }, () => 1 + Math.floor(rng.uniform() * 5));
      const starts = kmeans1d(Float64Array.from(values), Float64Array.from(weights), k);
      expect(starts[0]).toBe(0);
      expect(starts.length).toBeLessThanOrEqual(k);
      for (let c = 1; c < starts.length; c++) expect(starts[c]).toBeGreaterThan(starts[c - 1]);
      const got = clusterCost(values, weights, starts);
      const best = bruteForce(values, weights, Math.min(k, n));
      expect(got).toBeLessThanOrEqual(best * (1 + 1e-9) + 1e-12);
    }
  });

  it('gives every distinct value its own entry when there are no more of them than entries', () => {
    const w = Float32Array.from([0.5, -0.25, 0.5, 0.125, -0.25, 0.5]);
    const p = palettize(w, 2, true);
    expect(p.rmsError).toBe(0);
    for (let i = 0; i < w.length; i++) expect(p.lut[p.indices[i]]).toBe(w[i]);
  });

  it('tables ascend, and a weight maps to an entry of its own cluster: error shrinks with more bits', () => {
    const rng = new Rng(3);
    const w = Float32Array.from({ length: 5000 }, () => rng.normal() * 0.05);
    let last = Number.POSITIVE_INFINITY;
    for (const bits of [2, 4, 6, 8]) {
      const p = palettize(w, bits, true);
      expect(p.lut.length).toBe(1 << bits);
      const used = p.lut.slice(0, Math.max(...p.indices) + 1);
      for (let i = 1; i < used.length; i++) expect(used[i]).toBeGreaterThan(used[i - 1]);
      // Stored as fp16: the table holds only fp16 values.
      expect(Array.from(f16ArrayToF32(f32ArrayToF16(p.lut)))).toEqual(Array.from(p.lut));
      expect(p.rmsError).toBeLessThan(last);
      last = p.rmsError;
    }
    expect(last).toBeLessThan(0.05 * 0.01);
  });
});

describe('index packing (constexpr_lut_to_dense, iOS 16)', () => {
  it("matches coremltools' documented example: n_bits 2, shape (5,) → 2 bytes, LSB first", () => {
    // indices = | 01 10 11 00 | xx xx xx 11 |  (i3 i2 i1 i0 | -- -- -- i4), bits written MSB → LSB
    const packed = packIndices(Uint8Array.from([0b00, 0b11, 0b10, 0b01, 0b11]), 2);
    expect(Array.from(packed)).toEqual([0b01101100, 0b00000011]);
    expect(Array.from(unpackIndices(packed, 2, 5))).toEqual([0, 3, 2, 1, 3]);
  });

  it('round-trips 6-bit indices across byte boundaries', () => {
    const idx = Uint8Array.from({ length: 37 }, (_, i) => (i * 29) % 64);
    const packed = packIndices(idx, 6);
    expect(packed.length).toBe(Math.ceil((6 * 37) / 8));
    expect(Array.from(unpackIndices(packed, 6, 37))).toEqual(Array.from(idx));
  });
});
