/**
 * Pruning rules checked on small random matrices against their definitions: exact counts, every kept
 * score ≥ every pruned one (per matrix, per row for Wanda, across matrices for the global scope), N:M per
 * group of inputs; structured pruning computes the same MLP as the full one with the removed neurons'
 * outputs zeroed (an f64 forward pass written here).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../index.js';
import {
  neuronsToKeep,
  type PrunedMatrix,
  pruneNM,
  pruneUnstructured,
  sliceNeurons,
} from '../../../models/compression/prune.js';

function matrix(path: string, rows: number, cols: number, seed: number, norms?: boolean): PrunedMatrix {
  const rng = new Rng(seed);
  const data = Float32Array.from({ length: rows * cols }, () => rng.normal());
  const inputNorms = norms ? Float64Array.from({ length: cols }, () => 0.1 + Math.abs(rng.normal())) : undefined;
  return { path, rows, cols, data, inputNorms };
}

/** Scores of zeroed and kept entries of `m` given its original values. */
function split(m: PrunedMatrix, original: Float32Array, indices: number[]) {
  const score = (i: number) => Math.abs(original[i]) * (m.inputNorms ? m.inputNorms[i % m.cols] : 1);
  const pruned = indices.filter((i) => m.data[i] === 0).map(score);
  const kept = indices.filter((i) => m.data[i] !== 0).map(score);
  return { pruned, kept };
}

describe('unstructured pruning', () => {
  it('layer scope: exactly ⌊s·n⌋ zeros per matrix, none kept below a pruned one', () => {
    const ms = [matrix('a', 7, 33, 1), matrix('b', 16, 64, 2)];
    const originals = ms.map((m) => Float32Array.from(m.data));
    pruneUnstructured(ms, 0.3, 'layer');
    ms.forEach((m, i) => {
      const { pruned, kept } = split(m, originals[i], [...m.data.keys()]);
      expect(pruned.length).toBe(Math.floor(0.3 * m.data.length));
      expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...pruned));
    });
  });

  it('global scope: one threshold across matrices of different scales', () => {
    const ms = [matrix('a', 8, 32, 3), matrix('b', 8, 32, 4)];
    for (let i = 0; i < ms[1].data.length; i++) ms[1].data[i] *= 4;
    const originals = ms.map((m) => Float32Array.from(m.data));
    pruneUnstructured(ms, 0.5, 'global');
    const parts = ms.map((m, i) => split(m, originals[i], [...m.data.keys()]));
    const pruned = parts.flatMap((p) => p.pruned);
    const kept = parts.flatMap((p) => p.kept);
    expect(pruned.length).toBe(256);
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...pruned));
    // The small-scale matrix loses far more than its half (128).
    expect(parts[0].pruned.length).toBeGreaterThan(160);
  });

  it('Wanda: |w|·‖x‖ compared within each output row, ⌊s·in⌋ per row', () => {
    const m = matrix('w', 5, 40, 5, true);
    const original = Float32Array.from(m.data);
    pruneUnstructured([m], 0.5, 'layer');
    for (let r = 0; r < m.rows; r++) {
      const { pruned, kept } = split(
        m,
        original,
        Array.from({ length: m.cols }, (_, c) => r * m.cols + c),
      );
      expect(pruned.length).toBe(20);
      expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...pruned));
    }
  });
});

describe('N:M pruning', () => {
  it('2:4 zeroes the two smallest of every four consecutive inputs of each row', () => {
    const m = matrix('nm', 6, 16, 6);
    const original = Float32Array.from(m.data);
    pruneNM([m], 2, 4);
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < m.cols; c += 4) {
        const idx = [0, 1, 2, 3].map((j) => r * m.cols + c + j);
        const { pruned, kept } = split(m, original, idx);
        expect(pruned.length).toBe(2);
        expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...pruned));
      }
    }
  });

  it('refuses inputs that are not whole groups of M', () => {
    expect(() => pruneNM([matrix('odd', 2, 10, 7)], 2, 4)).toThrow(/odd: 10 inputs are not a multiple of 4 for 2:4/);
  });
});

describe('structured pruning', () => {
  it('the sliced MLP equals the full one with the removed neurons silenced', () => {
    const H = 8;
    const I = 12;
    const rng = new Rng(8);
    const r = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const mlp = { gate: r(I * H), up: r(I * H), down: r(H * I), hidden: H, intermediate: I };
    const kept = neuronsToKeep(mlp, 7);
    expect(kept).toHaveLength(7);
    const sliced = sliceNeurons(mlp, kept);
    const silu = (v: number) => v / (1 + Math.exp(-v));
    const forward = (
      gate: Float32Array,
      up: Float32Array,
      down: Float32Array,
      n: number,
      x: Float32Array,
      on: (i: number) => boolean,
    ) => {
      const h = Array.from({ length: n }, (_, i) => {
        if (!on(i)) return 0;
        let g = 0;
        let u = 0;
        for (let j = 0; j < H; j++) {
          g += gate[i * H + j] * x[j];
          u += up[i * H + j] * x[j];
        }
        return silu(g) * u;
      });
      return Array.from({ length: H }, (_, o) => h.reduce((a, v, i) => a + down[o * n + i] * v, 0));
    };
    const x = r(H);
    const want = forward(mlp.gate, mlp.up, mlp.down, I, x, (i) => kept.includes(i));
    const got = forward(sliced.gate, sliced.up, sliced.down, 7, x, () => true);
    for (let o = 0; o < H; o++) expect(got[o]).toBeCloseTo(want[o], 5);
  });
});
