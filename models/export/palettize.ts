/**
 * Weight palettization as coremltools' `palettize_weights(mode="kmeans")` does it for a tensor: a look-up
 * table of 2^bits values and one n-bit index per weight, the table found by k-means on the weights. For
 * float16 weights of 10 000 elements or more coremltools clusters with kmeans1d (exact 1-D k-means,
 * Grønlund et al. 2017, "Fast Exact k-Means, k-Medians and Bregman Divergence Clustering in 1D") on the
 * distinct values weighted by their counts; smaller ones go to scikit-learn's Lloyd k-means. Here the exact
 * clustering is used for every tensor: the same optimum where coremltools is exact, and never a worse one
 * (in squared error) where it is not.
 *
 * The exact clustering is dynamic programming over the sorted distinct values: D[m][i] = min over j of
 * D[m−1][j−1] + cost(j..i), with cost from prefix sums, and divide and conquer over i because the best j
 * never decreases as i grows (O(k·n·log n); SMAWK's O(k·n) measured slower here at these sizes). Values are clustered in float16 (at most 63 488 distinct finite
 * values, whatever the weights' count); each table entry is then the mean of the original weights in its
 * cluster. Indices are packed LSB-first across bytes, as `constexpr_lut_to_dense` reads them.
 * @module
 */
import { f16ArrayToF32, f32ArrayToF16 } from '../../core/dtype.js';

export interface Palette {
  /** 2^bits entries (unused ones 0), in ascending order. */
  readonly lut: Float32Array;
  /** One table index per weight. */
  readonly indices: Uint8Array;
  /** √(mean((lut[index] − weight)²)) over the weights, with the table rounded as stored. */
  readonly rmsError: number;
}

/**
 * Optimal 1-D k-means of sorted `values` with `weights`: the index of the first value of each cluster
 * (ascending, starting at 0), at most `k` clusters.
 */
export function kmeans1d(values: Float64Array, weights: Float64Array, k: number): number[] {
  const n = values.length;
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const W = new Float64Array(n + 1);
  const S = new Float64Array(n + 1);
  const Q = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    W[i + 1] = W[i] + weights[i];
    S[i + 1] = S[i] + weights[i] * values[i];
    Q[i + 1] = Q[i] + weights[i] * values[i] * values[i];
  }
  let prev = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = S[i + 1];
    prev[i] = Math.max(0, Q[i + 1] - (s * s) / W[i + 1]);
  }
  let cur = new Float64Array(n);
  const starts: Int32Array[] = [new Int32Array(n)];
  // Divide and conquer over i (the best j never decreases as i grows), with an explicit stack of
  // (lo, hi, optLo, optHi) ranges and the cost written out inline: this loop is the whole run time.
  const stack = new Int32Array(4 * 64);
  let lastArg = starts[0];
  for (let m = 1; m < k; m++) {
    const arg = new Int32Array(n);
    let sp = 0;
    stack[sp++] = m;
    stack[sp++] = n - 1;
    stack[sp++] = m;
    stack[sp++] = n - 1;
    while (sp > 0) {
      const optHi = stack[--sp];
      const optLo = stack[--sp];
      const hi = stack[--sp];
      const lo = stack[--sp];
      const mid = (lo + hi) >> 1;
      const wEnd = W[mid + 1];
      const sEnd = S[mid + 1];
      const qEnd = Q[mid + 1];
      let best = Number.POSITIVE_INFINITY;
      // With one cluster fewer the last cluster started no later: a second lower bound for j.
      const from = m > 1 && lastArg[mid] > optLo ? lastArg[mid] : optLo;
      let bestJ = from;
      const top = Math.min(mid, optHi);
      for (let j = from; j <= top; j++) {
        const s = sEnd - S[j];
        let c = qEnd - Q[j] - (s * s) / (wEnd - W[j]);
        if (c < 0) c = 0;
        c += prev[j - 1];
        if (c < best) {
          best = c;
          bestJ = j;
        }
      }
      cur[mid] = best;
      arg[mid] = bestJ;
      if (mid + 1 <= hi) {
        stack[sp++] = mid + 1;
        stack[sp++] = hi;
        stack[sp++] = bestJ;
        stack[sp++] = optHi;
      }
      if (lo <= mid - 1) {
        stack[sp++] = lo;
        stack[sp++] = mid - 1;
        stack[sp++] = optLo;
        stack[sp++] = bestJ;
      }
    }
    for (let i = 0; i < m; i++) cur[i] = Number.POSITIVE_INFINITY;
    starts.push(arg);
    lastArg = arg;
    [prev, cur] = [cur, prev];
  }
  const out: number[] = [];
  let i = n - 1;
  for (let m = k - 1; m >= 0; m--) {
    const j = m === 0 ? 0 : starts[m][i];
    out.push(j);
    i = j - 1;
  }
  return out.reverse();
}

/** Palettize `weights` to 2^bits entries; `fp16Table` rounds the table to float16 (the stored form). */
export function palettize(weights: Float32Array, bits: number, fp16Table: boolean): Palette {
  const size = 1 << bits;
  // Distinct float16 values, sorted, with their counts: a histogram over the 2^16 bit patterns.
  const bitsOf = f32ArrayToF16(weights);
  const histogram = new Int32Array(1 << 16);
  for (let i = 0; i < bitsOf.length; i++) histogram[bitsOf[i]]++;
  const patterns: number[] = [];
  for (let b = 0; b < histogram.length; b++) if (histogram[b] > 0) patterns.push(b);
  const asFloat = f16ArrayToF32(Uint16Array.from(patterns));
  for (const v of asFloat) {
    if (!Number.isFinite(v)) throw new RangeError('palettize: the weights hold NaN or infinity');
  }
  const order = Array.from(patterns.keys()).sort((a, b) => asFloat[a] - asFloat[b]);
  const distinct = Float64Array.from(order, (o) => asFloat[o]);
  const counts = Float64Array.from(order, (o) => histogram[patterns[o]]);
  const rank = new Int32Array(1 << 16);
  order.forEach((o, r) => {
    rank[patterns[o]] = r;
  });
  const group = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) group[i] = rank[bitsOf[i]];
  const starts = kmeans1d(distinct, counts, size);
  const clusterOf = new Int32Array(distinct.length);
  for (let c = 0; c < starts.length; c++) {
    const end = c + 1 < starts.length ? starts[c + 1] : distinct.length;
    for (let d = starts[c]; d < end; d++) clusterOf[d] = c;
  }
  const sums = new Float64Array(size);
  const ns = new Float64Array(size);
  const indices = new Uint8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const c = clusterOf[group[i]];
    indices[i] = c;
    sums[c] += weights[i];
    ns[c] += 1;
  }
  let lut: Float32Array = new Float32Array(size);
  for (let c = 0; c < starts.length; c++) lut[c] = sums[c] / ns[c];
  if (fp16Table) lut = f16ArrayToF32(f32ArrayToF16(lut));
  let se = 0;
  for (let i = 0; i < weights.length; i++) se += (lut[indices[i]] - weights[i]) ** 2;
  return { lut, indices, rmsError: Math.sqrt(se / Math.max(weights.length, 1)) };
}

/** n-bit indices packed LSB-first across bytes: ⌈bits·count/8⌉ bytes. */
export function packIndices(indices: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((bits * indices.length) / 8));
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    for (let b = 0; b < bits; b++) {
      if ((v >> b) & 1) {
        const p = i * bits + b;
        out[p >> 3] |= 1 << (p & 7);
      }
    }
  }
  return out;
}

/** The inverse of {@link packIndices}. */
export function unpackIndices(packed: Uint8Array, bits: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < bits; b++) {
      const p = i * bits + b;
      v |= ((packed[p >> 3] >> (p & 7)) & 1) << b;
    }
    out[i] = v;
  }
  return out;
}
