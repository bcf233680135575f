/**
 * Magenta arbitrary style transfer (Ghiasi et al. 2017), part 2: the style transfer network, a Johnson-style
 * image transformer whose normalisation layers take their scale and shift from the style vector
 * (conditional instance norm, CIN):
 *
 *   content [N,3,H,W] RGB in [0, 1], style vector [N,100]
 *   contract  reflect pad + conv 9×9 /1 → 8, 3×3 /2 → 16, 3×3 /2 → 32; each + relu (no normalisation)
 *   5 × residual block (32): conv 3×3 → CIN → relu → conv 3×3 → CIN, plus the skip
 *   expand    nearest ×2, conv 3×3 → 16, CIN, relu; nearest ×2, conv 3×3 → 8, CIN, relu;
 *             conv 9×9 → 3, CIN, sigmoid                      (every conv: reflect pad k÷2, stride 1)
 *   output    [N,3,4⌈H/4⌉,4⌈W/4⌉] in [0, 1] (the caller crops to H×W, as with fast-style)
 *
 *   CIN(x; s) = γ(s) · (x − mean) / √(var + ε) + β(s), mean and (biased) variance per sample and channel
 *   over H×W, with γ(s) = W_γ s + b_γ and β(s) = W_β s + b_β: a 1×1 convolution of the style vector each.
 *
 * The TFLite converter spelled each CIN as ten operators (`m = MEAN(x)`, `v = MEAN(SQUARED_DIFFERENCE(x, m))`,
 * `r = RSQRT(v + ε)`, `y = x·(r·γ) + (β − m·(r·γ))`); the loader matches that pattern by data flow, keeps γ's
 * and β's weights, and runs the core's fused instanceNorm with per-sample [N, C] scale and shift. The 26
 * style convolutions are stacked into one [694, 100] matrix, so all γ and β come from one matmul.
 *
 * Sizes: the file was converted for 384×384 content, and its three RESIZE_NEAREST_NEIGHBOR operators carry
 * the constant sizes 192², 384², 384². Those are ratios to the file's own shapes (×2, ×2, ×1: Magenta's
 * upsampling doubles whatever it gets), so any content size runs; the ×1 resize is a no-op and is skipped.
 *
 * Weights come from `magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite` (int8, dequantized
 * at load) or `…_fp16_transfer_384.tflite` (float16, widened): the two files hold the same network. Every
 * layer's operator, options and shapes are checked against the description above (see tflite-float-graph.ts
 * for the approach and for QUANTIZE/DEQUANTIZE, which run as identities in float).
 */

import type { Conv2DOptions, TfliteModel } from '../../core/io/tflite.js';
import * as T from '../../index.js';
import { chain, releaser } from '../layer-chain.js';
import { STYLE_VECTOR_SIZE } from './style-predictor.js';
import { type FloatOp, ohwiToOihw, TfliteFloatGraph } from './tflite-float-graph.js';

const NETWORK = 'Magenta style transfer network';
const SUPPORTED = new Set([
  'MIRROR_PAD',
  'CONV_2D',
  'MEAN',
  'SQUARED_DIFFERENCE',
  'ADD',
  'RSQRT',
  'MUL',
  'SUB',
  'RESIZE_NEAREST_NEIGHBOR',
  'LOGISTIC',
]);

interface ConvSpec {
  readonly inC: number;
  readonly outC: number;
  readonly kernel: number;
  readonly stride: number;
}

/** contract, then the residual convolutions (all alike), then expand with its upsampling ratio. */
const CONTRACT: readonly ConvSpec[] = [
  { inC: 3, outC: 8, kernel: 9, stride: 1 },
  { inC: 8, outC: 16, kernel: 3, stride: 2 },
  { inC: 16, outC: 32, kernel: 3, stride: 2 },
];
const RESIDUAL_BLOCKS = 5;
const RESIDUAL: ConvSpec = { inC: 32, outC: 32, kernel: 3, stride: 1 };
const EXPAND: readonly (ConvSpec & { readonly upsample: number })[] = [
  { upsample: 2, inC: 32, outC: 16, kernel: 3, stride: 1 },
  { upsample: 2, inC: 16, outC: 8, kernel: 3, stride: 1 },
  { upsample: 1, inC: 8, outC: 3, kernel: 9, stride: 1 },
];

interface Conv {
  readonly weight: T.Tensor;
  readonly bias: T.Tensor;
  readonly spec: ConvSpec;
}

/** Where one CIN's γ and β sit in the stacked style parameters. */
interface Norm {
  readonly offset: number;
  readonly channels: number;
  readonly eps: number;
}

interface StyleConv {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

export class StyleTransformer {
  readonly #contract: Conv[];
  readonly #residual: { conv1: Conv; norm1: Norm; conv2: Conv; norm2: Norm }[];
  readonly #expand: { conv: Conv; norm: Norm; upsample: number }[];
  /** [Σ 2C, 100] and [Σ 2C]: every CIN's γ rows, then its β rows. */
  readonly #styleWeight: T.Tensor;
  readonly #styleBias: T.Tensor;

  private constructor(
    contract: Conv[],
    residual: { conv1: Conv; norm1: Norm; conv2: Conv; norm2: Norm }[],
    expand: { conv: Conv; norm: Norm; upsample: number }[],
    styleWeight: T.Tensor,
    styleBias: T.Tensor,
  ) {
    this.#contract = contract;
    this.#residual = residual;
    this.#expand = expand;
    this.#styleWeight = styleWeight;
    this.#styleBias = styleBias;
  }

  /** Build from a parsed transfer TFLite file (int8 or fp16); throws a UsageError naming the file and the layer that does not fit. */
  static fromTflite(model: TfliteModel): StyleTransformer {
    const g: TfliteFloatGraph = new TfliteFloatGraph(model, NETWORK, SUPPORTED);
    const { inputs, outputs } = g.signature;
    if (inputs !== 2 || outputs !== 1) {
      g.fail(`has ${inputs} inputs and ${outputs} outputs; the ${NETWORK} takes content and style, gives one image`);
    }
    const [a, b] = [g.input(0), g.input(1)];
    const isStyle = (t: number) => g.shape(t).join() === [1, 1, 1, STYLE_VECTOR_SIZE].join();
    if (isStyle(a) === isStyle(b)) {
      g.fail(`needs one input of shape [1, 1, 1, ${STYLE_VECTOR_SIZE}] (the style vector) and one content image`);
    }
    const [content, style] = isStyle(a) ? [b, a] : [a, b];
    const contentShape = g.shape(content);
    if (contentShape.length !== 4 || contentShape[3] !== 3) {
      g.fail(`content input "${g.name(content)}" is [${contentShape}]; expected [1, H, W, 3]`);
    }

    const created: T.Tensor[] = [];
    const upload = (data: Float32Array, shape: number[]) => {
      const t = T.tensor(data, shape, 'f32');
      created.push(t);
      return t;
    };
    const activationOf = (op: FloatOp) =>
      op.options && 'activation' in op.options ? op.options.activation : ('NONE' as const);

    /** MIRROR_PAD (reflect, k÷2 on H and W) → CONV_2D VALID reading `x`; returns the conv and its output. */
    const paddedConv = (x: number, spec: ConvSpec, activation: 'NONE' | 'RELU', what: string): [Conv, number] => {
      const pad = g.consumer(x, 'MIRROR_PAD', `${what} padding`);
      const p = (spec.kernel - 1) / 2;
      const pads = g.ints(pad.inputs[1], `${what} paddings`);
      if (
        !(pad.options?.kind === 'MirrorPadOptions' && pad.options.mode === 'REFLECT') ||
        pads.join() !== [0, 0, p, p, p, p, 0, 0].join()
      ) {
        g.fail(`${what}: MIRROR_PAD (operator ${pad.index}) must pad H and W by ${p} in REFLECT mode`);
      }
      const op = g.consumer(pad.outputs[0], 'CONV_2D', what);
      const opts = op.options as Conv2DOptions;
      const [, wIndex, bIndex] = op.inputs;
      const wShape = g.shape(wIndex);
      const expected = [spec.outC, spec.kernel, spec.kernel, spec.inC];
      if (
        wShape.join() !== expected.join() ||
        opts.padding !== 'VALID' ||
        opts.strideH !== spec.stride ||
        opts.strideW !== spec.stride ||
        opts.dilationH !== 1 ||
        opts.dilationW !== 1 ||
        opts.activation !== activation ||
        bIndex === undefined ||
        bIndex < 0
      ) {
        g.fail(
          `${what}: CONV_2D (operator ${op.index}) has filter [${wShape}], ${opts.padding} stride ${opts.strideH}×` +
            `${opts.strideW}, activation ${opts.activation}; the ${NETWORK} needs [${expected}] VALID stride ` +
            `${spec.stride} ${activation} with a bias`,
        );
      }
      const weight = upload(ohwiToOihw(g.constant(wIndex, `${what} filter`), wShape), [
        spec.outC,
        spec.inC,
        spec.kernel,
        spec.kernel,
      ]);
      const bias = upload(g.constant(bIndex, `${what} bias`), [spec.outC]);
      return [{ weight, bias, spec }, op.outputs[0]];
    };

    const styleConvs: StyleConv[] = [];
    /** The 1×1 convolution of the style vector that produces `t` ([1,1,1,C]). */
    const styleConv = (t: number, channels: number, what: string): StyleConv => {
      const op = g.producer(t, 'CONV_2D', what);
      const [x, wIndex, bIndex] = op.inputs;
      const opts = op.options as Conv2DOptions;
      if (
        x !== style ||
        g.shape(wIndex).join() !== [channels, 1, 1, STYLE_VECTOR_SIZE].join() ||
        opts.strideH !== 1 ||
        opts.strideW !== 1 ||
        opts.activation !== 'NONE' ||
        bIndex === undefined ||
        bIndex < 0
      ) {
        g.fail(
          `${what}: CONV_2D (operator ${op.index}) must be a 1×1 convolution of the style vector to ${channels} ` +
            `channels with a bias and no activation`,
        );
      }
      return { weight: g.constant(wIndex, `${what} filter`), bias: g.constant(bIndex, `${what} bias`) };
    };

    const meanOverSpace = (x: number, what: string): number => {
      const op = g.consumer(x, 'MEAN', what);
      const axes = g.ints(op.inputs[1], `${what} axes`);
      if (axes.join() !== '1,2' || !(op.options?.kind === 'ReducerOptions' && op.options.keepDims)) {
        g.fail(`${what}: MEAN (operator ${op.index}) must reduce axes [1, 2] keeping dims`);
      }
      return op.outputs[0];
    };

    const noActivation = (op: FloatOp, what: string) => {
      if (activationOf(op) !== 'NONE') {
        g.fail(`${what}: ${op.opcode} (operator ${op.index}) has fused ${activationOf(op)}; expected none`);
      }
    };

    let offset = 0;
    /** The ten operators of one conditional instance norm reading `x`; returns the norm, its activation and output. */
    const cin = (x: number, channels: number, what: string): [Norm, 'NONE' | 'RELU', number] => {
      const w = `${what} conditional instance norm`;
      const m = meanOverSpace(x, `${w} mean`);
      const sd = g.consumer(x, 'SQUARED_DIFFERENCE', `${w} squared difference`, m);
      const v = meanOverSpace(sd.outputs[0], `${w} variance`);
      const addEps = g.consumer(v, 'ADD', `${w} variance + ε`);
      noActivation(addEps, `${w} variance + ε`);
      const epsValues = g.constant(g.otherInput(addEps, v, `${w} variance + ε`), `${w} ε`);
      if (epsValues.length !== 1 || !(epsValues[0] > 0 && epsValues[0] < 1e-2)) {
        g.fail(`${w}: ε must be one small positive constant, got [${Array.from(epsValues)}]`);
      }
      const r = g.consumer(addEps.outputs[0], 'RSQRT', `${w} rsqrt`).outputs[0];
      const scale = g.consumer(r, 'MUL', `${w} rsqrt·γ`);
      const gamma = styleConv(g.otherInput(scale, r, `${w} rsqrt·γ`), channels, `${w} γ`);
      const s = scale.outputs[0];
      const xs = g.consumer(x, 'MUL', `${w} x·scale`, s);
      const ms = g.consumer(m, 'MUL', `${w} mean·scale`, s);
      const shift = g.consumer(ms.outputs[0], 'SUB', `${w} β − mean·scale`);
      if (shift.inputs[1] !== ms.outputs[0]) g.fail(`${w}: SUB (operator ${shift.index}) must compute β − mean·scale`);
      const beta = styleConv(shift.inputs[0], channels, `${w} β`);
      const out = g.consumer(xs.outputs[0], 'ADD', `${w} output`, shift.outputs[0]);
      for (const op of [scale, xs, ms, shift]) noActivation(op, w);
      const activation = activationOf(out);
      if (activation !== 'NONE' && activation !== 'RELU') g.fail(`${w}: unexpected fused ${activation}`);
      styleConvs.push(gamma, beta);
      const norm = { offset, channels, eps: epsValues[0] };
      offset += 2 * channels;
      return [norm, activation, out.outputs[0]];
    };

    try {
      let x = content;
      const contract: Conv[] = [];
      for (const [i, spec] of CONTRACT.entries()) {
        let conv: Conv;
        [conv, x] = paddedConv(x, spec, 'RELU', `contract conv ${i + 1}`);
        contract.push(conv);
      }
      const residual: { conv1: Conv; norm1: Norm; conv2: Conv; norm2: Norm }[] = [];
      for (let i = 1; i <= RESIDUAL_BLOCKS; i++) {
        const what = `residual block ${i}`;
        const [conv1, h1] = paddedConv(x, RESIDUAL, 'NONE', `${what} conv 1`);
        const [norm1, act1, n1] = cin(h1, RESIDUAL.outC, `${what} conv 1`);
        const [conv2, h2] = paddedConv(n1, RESIDUAL, 'NONE', `${what} conv 2`);
        const [norm2, act2, n2] = cin(h2, RESIDUAL.outC, `${what} conv 2`);
        if (act1 !== 'RELU' || act2 !== 'NONE') g.fail(`${what}: expected relu after the first norm only`);
        const add = g.consumer(n2, 'ADD', `${what} skip`, x);
        noActivation(add, `${what} skip`);
        x = add.outputs[0];
        residual.push({ conv1, norm1, conv2, norm2 });
      }
      const expand: { conv: Conv; norm: Norm; upsample: number }[] = [];
      for (const [i, spec] of EXPAND.entries()) {
        const what = `expand conv ${i + 1}`;
        const resize = g.consumer(x, 'RESIZE_NEAREST_NEIGHBOR', `${what} upsampling`);
        const size = g.ints(resize.inputs[1], `${what} upsampling size`);
        const [, h, w] = g.shape(x);
        if (
          !(resize.options?.kind === 'ResizeNearestNeighborOptions') ||
          resize.options.alignCorners ||
          resize.options.halfPixelCenters ||
          size[0] !== spec.upsample * h ||
          size[1] !== spec.upsample * w
        ) {
          g.fail(
            `${what}: RESIZE_NEAREST_NEIGHBOR (operator ${resize.index}) resizes ${h}×${w} to ${size.join('×')}; ` +
              `the ${NETWORK} upsamples ×${spec.upsample} without align_corners or half_pixel_centers`,
          );
        }
        const [conv, c] = paddedConv(resize.outputs[0], spec, 'NONE', what);
        const last = i === EXPAND.length - 1;
        const [norm, activation, n] = cin(c, spec.outC, what);
        if (activation !== (last ? 'NONE' : 'RELU')) g.fail(`${what}: unexpected activation ${activation}`);
        x = last ? g.consumer(n, 'LOGISTIC', `${what} sigmoid`).outputs[0] : n;
        expand.push({ conv, norm, upsample: spec.upsample });
      }
      if (x !== g.output(0)) g.fail(`the final sigmoid is not the graph's output`);
      g.checkAllUsed(NETWORK);

      const weight = new Float32Array(offset * STYLE_VECTOR_SIZE);
      const bias = new Float32Array(offset);
      let row = 0;
      for (const c of styleConvs) {
        weight.set(c.weight, row * STYLE_VECTOR_SIZE);
        bias.set(c.bias, row);
        row += c.bias.length;
      }
      return new StyleTransformer(
        contract,
        residual,
        expand,
        upload(weight, [offset, STYLE_VECTOR_SIZE]),
        upload(bias, [offset]),
      );
    } catch (err) {
      T.dispose(created);
      throw err;
    }
  }

  #conv(x: T.Tensor, { weight, bias, spec }: Conv): T.Tensor {
    const pad = (spec.kernel - 1) / 2;
    return T.conv2d(x, weight, bias, { stride: spec.stride, padding: pad, padMode: 'reflect' });
  }

  /** Conditional instance norm with this sample's γ and β taken from the stacked style parameters. */
  #norm(x: T.Tensor, params: T.Tensor, { offset, channels, eps }: Norm): T.Tensor {
    const gamma = T.slice(params, [null, { start: offset, end: offset + channels }]);
    const beta = T.slice(params, [null, { start: offset + channels, end: offset + 2 * channels }]);
    return T.instanceNorm(x, T.contiguous(gamma), T.contiguous(beta), eps);
  }

  /**
   * Stylise: content [N,3,H,W] RGB in [0, 1] (H, W ≥ 5) and style vectors [N,100] → [N,3,4⌈H/4⌉,4⌈W/4⌉]
   * in [0, 1] (crop to H×W when H, W are not multiples of 4).
   */
  forward(content: T.Tensor, style: T.Tensor): T.Tensor {
    if (content.rank !== 4 || content.shape[1] !== 3) {
      throw new T.ShapeError(
        `StyleTransformer: content must be [N, 3, H, W] RGB in [0, 1], got [${content.shape.join(', ')}]`,
      );
    }
    if (content.shape[2] < 5 || content.shape[3] < 5) {
      throw new T.ShapeError(
        `StyleTransformer: content must be at least 5×5 pixels (the 9×9 reflect padding), got ${content.shape[3]}×${content.shape[2]}`,
      );
    }
    if (style.rank !== 2 || style.shape[0] !== content.shape[0] || style.shape[1] !== STYLE_VECTOR_SIZE) {
      throw new T.ShapeError(
        `StyleTransformer: style must be [${content.shape[0]}, ${STYLE_VECTOR_SIZE}] (one style vector per content image), got [${style.shape.join(', ')}]`,
      );
    }
    return T.tidy(() => {
      const params = T.linear(style, this.#styleWeight, this.#styleBias);
      const release = releaser(content, style, params);
      let y = content;
      for (const c of this.#contract) y = chain(y, release, (t) => this.#conv(t, c), T.relu);
      for (const r of this.#residual) {
        // y stays alive for the skip connection.
        const h = chain(
          y,
          releaser(content, y),
          (t) => this.#conv(t, r.conv1),
          (t) => this.#norm(t, params, r.norm1),
          T.relu,
          (t) => this.#conv(t, r.conv2),
          (t) => this.#norm(t, params, r.norm2),
        );
        const sum = T.add(y, h);
        release(y);
        release(h);
        y = sum;
      }
      for (const [i, e] of this.#expand.entries()) {
        const last = i === this.#expand.length - 1;
        y = chain(
          y,
          release,
          (t) =>
            e.upsample === 1 ? t : T.resize(t, [e.upsample * t.shape[2], e.upsample * t.shape[3]], { mode: 'nearest' }),
          (t) => this.#conv(t, e.conv),
          (t) => this.#norm(t, params, e.norm),
          last ? T.sigmoid : T.relu,
        );
      }
      return y;
    });
  }

  dispose(): void {
    for (const c of this.#contract) T.dispose([c.weight, c.bias]);
    for (const r of this.#residual) T.dispose([r.conv1.weight, r.conv1.bias, r.conv2.weight, r.conv2.bias]);
    for (const e of this.#expand) T.dispose([e.conv.weight, e.conv.bias]);
    T.dispose([this.#styleWeight, this.#styleBias]);
  }
}
