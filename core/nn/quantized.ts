/**
 * MLX's quantized layers (`nn.QuantizedLinear`, `nn.QuantizedEmbedding`) as drop-ins for the dense ones of
 * ./linear.ts: the weight stays packed (u32 words with per-group scales and biases) and every product
 * dequantizes on the fly, so a 4-bit model holds and streams about an eighth of the f32 bytes.
 * @module
 */
import { add, dequantize, type QuantizedWeight, quantizedEmbedding, quantizedMatmul } from '../../kernels/ops.js';
import { ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { Linear, TokenEmbedding } from './linear.js';

/** [rows, columns] of the float matrix a packed weight stands for. */
function unpackedShape(who: string, q: QuantizedWeight): [number, number] {
  if (q.weight.rank !== 2) {
    throw new ShapeError(`${who}: the packed weight must be [rows, words], got ${formatShape(q.weight.shape)}`);
  }
  const [rows, words] = q.weight.shape;
  const cols = (words * 32) / q.bits;
  if (!Number.isInteger(cols) || cols % q.groupSize !== 0) {
    throw new ShapeError(
      `${who}: ${words} words of ${q.bits}-bit codes per row are not whole groups of ${q.groupSize}`,
    );
  }
  const groups = [rows, cols / q.groupSize];
  for (const [name, t] of [
    ['scales', q.scales],
    ['biases', q.biases],
  ] as const) {
    if (t.rank !== 2 || t.shape[0] !== groups[0] || t.shape[1] !== groups[1]) {
      throw new ShapeError(
        `${who}: ${name} must be ${formatShape(groups)} for a packed weight ${formatShape(q.weight.shape)} ` +
          `(${q.bits} bits, group ${q.groupSize}), got ${formatShape(t.shape)}`,
      );
    }
  }
  return [rows, cols];
}

/** y = x·dequant(W)ᵀ (+ b) with W stored as MLX's affine triplet [out, in·bits/32], [out, in/group]. */
export class QuantizedLinear implements Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;

  /** `owned` false: the triplet belongs to another layer (a head tied to a quantized embedding). */
  constructor(
    readonly quantized: QuantizedWeight,
    readonly bias?: Tensor,
    private readonly owned = true,
  ) {
    [this.outFeatures, this.inFeatures] = unpackedShape('QuantizedLinear', quantized);
    if (bias && (bias.rank !== 1 || bias.shape[0] !== this.outFeatures)) {
      throw new ShapeError(
        `QuantizedLinear: bias must be [${this.outFeatures}] for ${this.outFeatures} outputs, got ${formatShape(bias.shape)}`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    const y = quantizedMatmul(x, this.quantized);
    if (!this.bias) return y;
    const out = add(y, this.bias);
    y.dispose();
    return out;
  }

  /** The float weight [out, in] the layer stands for (a LoRA merge or a dense export needs it); the caller's. */
  dequantizedWeight(): Tensor {
    return dequantize(this.quantized);
  }

  parameters(): Readonly<Record<string, Tensor>> {
    const { weight, scales, biases } = this.quantized;
    return this.bias ? { weight, scales, biases, bias: this.bias } : { weight, scales, biases };
  }

  dispose(): void {
    if (this.owned) {
      this.quantized.weight.dispose();
      this.quantized.scales.dispose();
      this.quantized.biases.dispose();
    }
    this.bias?.dispose();
  }
}

/** Token embedding over a quantized table [vocab, dim]: rows are gathered and dequantized. */
export class QuantizedEmbedding implements TokenEmbedding {
  readonly vocabSize: number;
  readonly dim: number;

  constructor(readonly quantized: QuantizedWeight) {
    [this.vocabSize, this.dim] = unpackedShape('QuantizedEmbedding', quantized);
  }

  forward(ids: Tensor): Tensor {
    return quantizedEmbedding(ids, this.quantized);
  }

  /** MLX's `as_linear`: the tied head is a quantized matmul on the same triplet. */
  asLinear(): Linear {
    return new QuantizedLinear(this.quantized, undefined, false);
  }

  parameters(): Readonly<Record<string, Tensor>> {
    const { weight, scales, biases } = this.quantized;
    return { weight, scales, biases };
  }

  dispose(): void {
    this.quantized.weight.dispose();
    this.quantized.scales.dispose();
    this.quantized.biases.dispose();
  }
}
