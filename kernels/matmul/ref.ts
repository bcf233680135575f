/** Reference kernel for matmul: a triple loop per broadcast batch, accumulating in doubles. */
import { broadcastStrides, sizeOf } from '../../core/shape.js';
import { allocOutput, type RefKernel, type RefKernelTable } from '../host.js';
import { type MatmulAttrs, matmulDims } from './matmul.js';

const matmul: RefKernel<MatmulAttrs> = ([a, b], attrs, [out]) => {
  const y = allocOutput(out);
  const { m, k, n, batch } = matmulDims(a, b, attrs);
  const { transposeA, transposeB } = attrs;
  // Element (i, p) of op(A) and (p, j) of op(B) within one matrix.
  const aRow = transposeA ? 1 : k;
  const aCol = transposeA ? m : 1;
  const bRow = transposeB ? 1 : n;
  const bCol = transposeB ? k : 1;
  // Batch strides in whole matrices: 0 where an operand's batch dim broadcasts.
  const aBatch = broadcastStrides(a.shape.slice(0, -2), batch);
  const bBatch = broadcastStrides(b.shape.slice(0, -2), batch);
  const batches = sizeOf(batch);
  const index = new Array<number>(batch.length).fill(0);
  const ad = a.data;
  const bd = b.data;
  for (let t = 0; t < batches; t++) {
    let aMatrix = 0;
    let bMatrix = 0;
    for (let d = 0; d < batch.length; d++) {
      aMatrix += index[d] * aBatch[d];
      bMatrix += index[d] * bBatch[d];
    }
    const aBase = aMatrix * m * k;
    const bBase = bMatrix * k * n;
    const yBase = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += ad[aBase + i * aRow + p * aCol] * bd[bBase + p * bRow + j * bCol];
        y[yBase + i * n + j] = acc;
      }
    }
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  return [y];
};

/** silu(x·Wgᵀ)·(x·Wuᵀ) row by row, in doubles. */
const swiglu: RefKernel<unknown> = ([x, wg, wu], _attrs, [out]) => {
  const y = allocOutput(out);
  const [hidden, k] = wg.shape;
  const rows = k === 0 ? x.data.length : x.data.length / k;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < hidden; j++) {
      let a = 0;
      let u = 0;
      for (let p = 0; p < k; p++) {
        const xv = x.data[r * k + p];
        a += xv * wg.data[j * k + p];
        u += xv * wu.data[j * k + p];
      }
      y[r * hidden + j] = (a / (1 + Math.exp(-a))) * u;
    }
  }
  return [y];
};

export const refKernels: RefKernelTable = { matmul, swiglu };
