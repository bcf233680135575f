/**
 * Pruning of Linear weights (formats.md §5), on the host over f32 matrices [rows, cols] (row-major):
 * - unstructured: the lowest scores zeroed, per matrix (`layer` scope) or across every pruned matrix at one
 *   threshold (`global`);
 * - N:M: in each row, the N lowest scores of every M consecutive input columns zeroed (2:4 keeps two of four);
 * - structured: whole FFN neurons removed (rows of gate/up, columns of down), giving a smaller dense model.
 * Scores are |W| (magnitude) or Wanda's |W_ij|·‖X_j‖₂ (input norms from calibration; Wanda compares within
 * each output row).
 * @module
 */

export interface PrunedMatrix {
  readonly path: string;
  readonly rows: number;
  readonly cols: number;
  /** Pruned in place. */
  readonly data: Float32Array;
  /** ‖X_j‖₂ per input column (Wanda); absent: magnitude. */
  readonly inputNorms?: Float64Array;
}

function scores(m: PrunedMatrix): Float64Array {
  const s = new Float64Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const i = r * m.cols + c;
      s[i] = Math.abs(m.data[i]) * (m.inputNorms ? m.inputNorms[c] : 1);
    }
  }
  return s;
}

/** Zeroes the `k` lowest-scoring entries among `idx` (ties broken by position, so the count is exact). */
function zeroLowest(data: Float32Array, s: Float64Array, idx: number[], k: number): void {
  idx.sort((a, b) => s[a] - s[b] || a - b);
  for (let i = 0; i < k; i++) data[idx[i]] = 0;
}

/**
 * Unstructured pruning to `sparsity` of each matrix (`layer`), or of all of them together (`global`). Wanda
 * scores (inputNorms given) are compared within each output row, as Wanda does.
 */
export function pruneUnstructured(
  matrices: readonly PrunedMatrix[],
  sparsity: number,
  scope: 'layer' | 'global',
): void {
  if (scope === 'global') {
    const all = matrices.map(scores);
    const total = all.reduce((a, s) => a + s.length, 0);
    const flat = new Float64Array(total);
    let at = 0;
    for (const s of all) {
      flat.set(s, at);
      at += s.length;
    }
    const k = Math.floor(sparsity * total);
    if (k === 0) return;
    // Entries strictly below the k-th smallest score go, then ties at it in order until k are gone.
    const threshold = Float64Array.from(flat).sort()[k - 1];
    let below = 0;
    for (const v of flat) if (v < threshold) below++;
    let ties = k - below;
    matrices.forEach((m, mi) => {
      const s = all[mi];
      for (let i = 0; i < s.length; i++) {
        if (s[i] < threshold) m.data[i] = 0;
        else if (s[i] === threshold && ties > 0) {
          m.data[i] = 0;
          ties--;
        }
      }
    });
    return;
  }
  for (const m of matrices) {
    const s = scores(m);
    if (m.inputNorms) {
      const k = Math.floor(sparsity * m.cols);
      for (let r = 0; r < m.rows; r++) {
        zeroLowest(
          m.data,
          s,
          Array.from({ length: m.cols }, (_, c) => r * m.cols + c),
          k,
        );
      }
    } else {
      zeroLowest(
        m.data,
        s,
        Array.from({ length: s.length }, (_, i) => i),
        Math.floor(sparsity * s.length),
      );
    }
  }
}

/** N:M pruning: in every row, the `n` lowest scores of each `m` consecutive input columns are zeroed. */
export function pruneNM(matrices: readonly PrunedMatrix[], n: number, m: number): void {
  for (const x of matrices) {
    if (x.cols % m !== 0) throw new RangeError(`${x.path}: ${x.cols} inputs are not a multiple of ${m} for ${n}:${m}`);
    const s = scores(x);
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < x.cols; c += m) {
        zeroLowest(
          x.data,
          s,
          Array.from({ length: m }, (_, j) => r * x.cols + c + j),
          n,
        );
      }
    }
  }
}

/** One MLP block's matrices: gate and up [I, H], down [H, I]. */
export interface MlpMatrices {
  readonly gate: Float32Array;
  readonly up: Float32Array;
  readonly down: Float32Array;
  readonly hidden: number;
  readonly intermediate: number;
}

/**
 * The `keep` FFN neurons of a block with the largest ‖gate_i‖·‖up_i‖·‖down_:,i‖ (a neuron's output scales
 * with each), in their original order.
 */
export function neuronsToKeep(mlp: MlpMatrices, keep: number): number[] {
  const { hidden: H, intermediate: I } = mlp;
  const norm = (a: Float32Array, start: number, count: number, stride: number) => {
    let s = 0;
    for (let j = 0; j < count; j++) s += a[start + j * stride] ** 2;
    return Math.sqrt(s);
  };
  const score = Array.from(
    { length: I },
    (_, i) => norm(mlp.gate, i * H, H, 1) * norm(mlp.up, i * H, H, 1) * norm(mlp.down, i, H, I),
  );
  return Array.from({ length: I }, (_, i) => i)
    .sort((a, b) => score[b] - score[a] || a - b)
    .slice(0, keep)
    .sort((a, b) => a - b);
}

/** The block with only neurons `kept`: gate/up [k, H], down [H, k]. */
export function sliceNeurons(
  mlp: MlpMatrices,
  kept: readonly number[],
): { gate: Float32Array; up: Float32Array; down: Float32Array } {
  const { hidden: H, intermediate: I } = mlp;
  const k = kept.length;
  const gate = new Float32Array(k * H);
  const up = new Float32Array(k * H);
  const down = new Float32Array(H * k);
  kept.forEach((i, n) => {
    gate.set(mlp.gate.subarray(i * H, (i + 1) * H), n * H);
    up.set(mlp.up.subarray(i * H, (i + 1) * H), n * H);
    for (let h = 0; h < H; h++) down[h * k + n] = mlp.down[h * I + i];
  });
  return { gate, up, down };
}

/** Fraction of exact zeros. */
export function sparsityOf(data: Float32Array): number {
  let z = 0;
  for (const v of data) if (v === 0) z++;
  return data.length === 0 ? 0 : z / data.length;
}
