/**
 * LoRAEmbedding (mlx-lm's LoRAEmbedding) against its formulas written in plain JavaScript: the looked-up
 * rows are E[id] + scale·A[id]·B, fuse() gives the table E + scale·A·B, and the tied head (as_linear)
 * is x·Eᵀ + scale·(x·Bᵀ)·Aᵀ, which equals x times the fused table transposed. Shapes and settings are
 * checked before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { DenseEmbedding } from '../../../core/nn/linear.js';
import { LoRAEmbedding } from '../../../core/nn/lora.js';
import * as T from '../../../index.js';

const [V, D, R] = [6, 4, 2];
const SCALE = 1.5;

function values(n: number, seed: number): number[] {
  const rng = new T.Rng(seed);
  return Array.from({ length: n }, () => rng.normal());
}
const E = values(V * D, 11);
const A = values(V * R, 12);
const B = values(R * D, 13);

/** The adapted table E + scale·A·B, [V, D], in plain JS. */
function fusedTable(): number[] {
  return E.map((e, i) => {
    const [v, d] = [Math.floor(i / D), i % D];
    let z = 0;
    for (let r = 0; r < R; r++) z += A[v * R + r] * B[r * D + d];
    return e + SCALE * z;
  });
}

function layer(): LoRAEmbedding {
  return new LoRAEmbedding(
    new DenseEmbedding(T.tensor(E, [V, D])),
    { rank: R, scale: SCALE, dropout: 0 },
    { loraA: T.tensor(A, [V, R]), loraB: T.tensor(B, [R, D]) },
  );
}

function close(got: ArrayLike<number>, want: readonly number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
}

describe('LoRAEmbedding', () => {
  it('looks up E[id] + scale·A[id]·B, and fuse() gives that table', async () => {
    const emb = layer();
    const ids = [3, 0, 5, 3];
    const table = fusedTable();
    const want = ids.flatMap((id) => table.slice(id * D, (id + 1) * D));
    const y = emb.forward(T.tensor(ids, [ids.length], 'i32'));
    close(await y.data(), want);
    expect(y.shape).toEqual([ids.length, D]);
    const fused = emb.fuse();
    close(await fused.weight.data(), table);
    expect(Object.keys(emb.parameters()).sort()).toEqual(['lora_a', 'lora_b', 'weight']);
    expect(Object.keys(emb.parameterEntries()).sort()).toEqual(['lora_a', 'lora_b', 'weight']);
    expect([emb.vocabSize, emb.dim]).toEqual([V, D]);
    T.dispose([y, fused.weight]);
    emb.dispose();
  });

  it('as a tied head computes x·(E + scale·A·B)ᵀ and owns no parameters', async () => {
    const emb = layer();
    const head = emb.asLinear();
    expect([head.inFeatures, head.outFeatures]).toEqual([D, V]);
    expect(head.parameters()).toEqual({});
    const x = values(3 * D, 14);
    const table = fusedTable();
    const want: number[] = [];
    for (let n = 0; n < 3; n++) {
      for (let v = 0; v < V; v++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += x[n * D + d] * table[v * D + d];
        want.push(s);
      }
    }
    const y = head.forward(T.tensor(x, [3, D]));
    close(await y.data(), want);
    y.dispose();
    head.dispose();
    emb.dispose();
  });

  it('starts as the base embedding (B is zero) and rejects bad settings and shapes', async () => {
    const base = new DenseEmbedding(T.tensor(E, [V, D]));
    const emb = new LoRAEmbedding(base, { rank: R, scale: SCALE, dropout: 0 }, undefined, new T.Rng(1));
    const y = emb.forward(T.tensor([2, 4], [2], 'i32'));
    close(await y.data(), [...E.slice(2 * D, 3 * D), ...E.slice(4 * D, 5 * D)]);
    y.dispose();
    emb.dispose();
    const table = T.tensor(E, [V, D]);
    expect(() => new LoRAEmbedding(new DenseEmbedding(table), { rank: 0, scale: 1, dropout: 0 })).toThrow(/rank 0/);
    expect(
      () =>
        new LoRAEmbedding(
          new DenseEmbedding(table),
          { rank: R, scale: 1, dropout: 0 },
          { loraA: T.zeros([V + 1, R]), loraB: T.zeros([R, D]) },
        ),
    ).toThrow(/lora_a/);
    T.dispose(table);
  });
});
