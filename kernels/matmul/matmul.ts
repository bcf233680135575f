/**
 * Matrix products: batched `matmul` with NumPy broadcasting of the batch dims and
 * optional transposes of either operand's last two axes, and `linear` (x·Wᵀ + b,
 * PyTorch's weight layout) built on it.
 *
 * The op itself takes operands of rank ≥ 2; the public function handles 1-D operands
 * as NumPy does (a vector on the left is a row, on the right a column, and the added
 * axis is dropped from the result) by reshaping around the op.
 */
import type { TensorInfo } from '../../core/backend.js';
import type { DType } from '../../core/dtype.js';
import { defineOp, run1 } from '../../core/engine.js';
import { DTypeError, ShapeError } from '../../core/errors.js';
import { broadcastShapes, formatShape } from '../../core/shape.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import { add } from '../elementwise/elementwise.js';
import { reshape } from '../layout/layout.js';
import { sumTo } from '../reduce/reduce.js';

export interface MatmulAttrs {
  /** Use a's last two axes swapped: a is [..., K, M]. */
  readonly transposeA: boolean;
  /** Use b's last two axes swapped: b is [..., N, K]. */
  readonly transposeB: boolean;
}

export type MatmulOptions = Partial<MatmulAttrs>;

const MATMUL_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'f64', 'i32'];

/** M, K, N and the broadcast batch shape of a product; throws naming the shapes on a mismatch. */
export function matmulDims(
  a: TensorInfo,
  b: TensorInfo,
  { transposeA, transposeB }: MatmulAttrs,
): { m: number; k: number; n: number; batch: number[] } {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) {
    const flags = `${transposeA ? 'aᵀ' : 'a'} · ${transposeB ? 'bᵀ' : 'b'}`;
    throw new ShapeError(
      `matmul: inner dimensions differ for ${flags} with a ${formatShape(a.shape)} and b ${formatShape(b.shape)} (${k} vs ${kb})`,
    );
  }
  const batch = broadcastShapes('matmul (batch dims)', a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { m, k, n, batch };
}

export const matmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  infer([a, b], attrs) {
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new ShapeError(
        `matmul op: operands must have rank >= 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)} (the matmul() function accepts vectors)`,
      );
    }
    if (a.dtype !== b.dtype) {
      throw new DTypeError(`matmul: operands have dtypes ${a.dtype} and ${b.dtype}; cast one so they match`);
    }
    if (!MATMUL_DTYPES.includes(a.dtype)) {
      throw new DTypeError(
        `matmul: dtype ${a.dtype} is not supported (use ${MATMUL_DTYPES.join(', ')}); cast it first`,
      );
    }
    const { m, n, batch } = matmulDims(a, b, attrs);
    return [{ shape: [...batch, m, n], dtype: a.dtype }];
  },
  vjp([g], { inputs: [a, b], attrs: { transposeA: tA, transposeB: tB }, needsGrad: [na, nb] }) {
    // With C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, transposed back where
    // the operand was stored transposed; batch dims that broadcast are summed away. A frozen operand
    // (a base weight under LoRA) gets no gradient computed.
    const ga = na ? sumTo(tA ? matmulRaw(b, g, tB, true) : matmulRaw(g, b, false, !tB), a.shape) : null;
    if (!nb) return [ga, null];
    let gb: Tensor;
    if (!tA && b.rank === 2 && a.rank > 2) {
      // A shared matrix (a weight) against a batch: fold the batch into M so one
      // product gives the summed gradient instead of a batch of products to sum.
      const k = a.shape[a.rank - 1];
      const n = g.shape[g.rank - 1];
      const a2 = reshape(a, [-1, k]);
      const g2 = reshape(g, [-1, n]);
      gb = tB ? matmulRaw(g2, a2, true, false) : matmulRaw(a2, g2, true, false);
    } else {
      gb = tB ? matmulRaw(g, a, true, tA) : matmulRaw(a, g, !tA, false);
    }
    return [ga, sumTo(gb, b.shape)];
  },
  // dA reads B and dB reads A: keep each operand only when the other one's gradient is wanted.
  saves: ([na, nb]) => ({ inputs: [...(nb ? [0] : []), ...(na ? [1] : [])], outputs: [] }),
});

function matmulRaw(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor {
  return run1(matmulOp, [a, b], { transposeA, transposeB });
}

/**
 * Matrix product with NumPy matmul semantics: a [..., M, K] · b [..., K, N] → [..., M, N],
 * batch dims broadcast. A 1-D a is a row [1, K] and a 1-D b a column [K, 1]; the added
 * axis is removed from the result (two vectors give their dot product as a scalar).
 * `transposeA`/`transposeB` swap an operand's last two axes without a copy; they need
 * that operand to be a matrix (rank >= 2). Dtypes: f32, f16, bf16, f64, i32 (both the same).
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  if (a.rank === 0 || b.rank === 0) {
    throw new ShapeError(
      `matmul: operands must be vectors or matrices, got a ${formatShape(a.shape)} and b ${formatShape(b.shape)} (use mul for scalars)`,
    );
  }
  if ((a.rank === 1 && transposeA) || (b.rank === 1 && transposeB)) {
    const which =
      a.rank === 1 && transposeA
        ? `transposeA with a ${formatShape(a.shape)}`
        : `transposeB with b ${formatShape(b.shape)}`;
    throw new ShapeError(
      `matmul: ${which}: a vector has no axes to transpose; drop the flag or reshape it to a matrix`,
    );
  }
  if (a.rank >= 2 && b.rank >= 2) return matmulRaw(a, b, transposeA, transposeB);
  return tidy(() => {
    const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
    const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
    const y = matmulRaw(a2, b2, transposeA, transposeB);
    const shape = [...y.shape];
    if (b.rank === 1) shape.pop();
    if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1);
    return reshape(y, shape);
  });
}

/**
 * A fully connected layer in PyTorch's layout: x [..., in] · weightᵀ [in, out] + bias [out].
 * Leading dims are folded into one so the weight gradient is a single product.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (weight.rank !== 2) {
    throw new ShapeError(`linear: weight must be [out, in], got ${formatShape(weight.shape)}`);
  }
  const [out, inFeatures] = weight.shape;
  if (x.rank === 0 || x.shape[x.rank - 1] !== inFeatures) {
    throw new ShapeError(
      `linear: x ${formatShape(x.shape)} must end in the weight's in-features ${inFeatures} (weight ${formatShape(weight.shape)})`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== out)) {
    throw new ShapeError(
      `linear: bias must be [${out}] for weight ${formatShape(weight.shape)}, got ${formatShape(bias.shape)}`,
    );
  }
  return tidy(() => {
    const lead = x.shape.slice(0, -1);
    const x2 = x.rank === 2 ? x : reshape(x, [-1, inFeatures]);
    const y2 = matmulRaw(x2, weight, false, true);
    const y = bias ? add(y2, bias) : y2;
    return x.rank === 2 ? y : reshape(y, [...lead, out]);
  });
}
