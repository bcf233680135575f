/**
 * Magenta arbitrary style transfer (Ghiasi et al. 2017), part 1: the style-prediction network, a
 * MobileNet-v2 body whose pooled 1280 features a 1×1 convolution maps to a 100-d style vector:
 *
 *   input [N,3,H,W] RGB in [0, 1] (the model was trained at 256×256; the pipeline crops style images to that)
 *   stem      conv 3×3 /2 → 32, relu6
 *   17 inverted residual blocks (t = expansion, c = out channels, s = stride of the first block of a row):
 *             t c   n s
 *             1 16  1 1     each: [1×1 expand to t·in, relu6 (skipped when t = 1)]
 *             6 24  2 2           → depthwise 3×3 /s, relu6
 *             6 32  3 2           → 1×1 project to c (linear)
 *             6 64  4 2           → + input when s = 1 and in = c
 *             6 96  3 1
 *             6 160 3 2
 *             6 320 1 1
 *   head      conv 1×1 → 1280, relu6; mean over H, W; conv 1×1 → 100 (the style vector, no activation)
 *
 * All convolutions use TensorFlow SAME padding (for stride 2 the extra pixel goes bottom/right), which the
 * core's conv2d implements as padding 'same'. Weights come from the TFLite file
 * `magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite`, int8 per channel, dequantized at
 * load; the graph is walked by data flow and each layer's operator, kernel, stride, activation and channels
 * are checked against the table above, so another network fails at load (see tflite-float-graph.ts for the
 * approach and for QUANTIZE/DEQUANTIZE, which run as identities in float).
 */

import type { Conv2DOptions, DepthwiseConv2DOptions, TfliteModel } from '../../core/io/tflite.js';
import * as T from '../../index.js';
import { depthwiseToOihw, ohwiToOihw, TfliteFloatGraph } from './tflite-float-graph.js';

/** Length of the style vector (the "bottleneck"). */
export const STYLE_VECTOR_SIZE = 100;
/** The style-image side the prediction network was trained and published for. */
export const STYLE_IMAGE_SIZE = 256;

const NETWORK = 'Magenta style-prediction network (MobileNet-v2)';
const SUPPORTED = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'ADD', 'MEAN']);

/** MobileNet-v2's inverted-residual rows: expansion, output channels, repeats, first stride. */
const ROWS: readonly (readonly [t: number, c: number, n: number, s: number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

interface Conv {
  readonly weight: T.Tensor;
  readonly bias: T.Tensor;
  readonly stride: number;
  /** groups = channels for depthwise convolutions. */
  readonly groups: number;
  readonly relu6: boolean;
}

interface Block {
  readonly expand: Conv | null;
  readonly depthwise: Conv;
  readonly project: Conv;
  readonly residual: boolean;
}

interface ConvSpec {
  readonly kind: 'CONV_2D' | 'DEPTHWISE_CONV_2D';
  readonly inC: number;
  readonly outC: number;
  readonly kernel: number;
  readonly stride: number;
  readonly relu6: boolean;
}

export class StylePredictor {
  readonly #stem: Conv;
  readonly #blocks: Block[];
  readonly #head: Conv;
  readonly #bottleneck: Conv;

  private constructor(stem: Conv, blocks: Block[], head: Conv, bottleneck: Conv) {
    this.#stem = stem;
    this.#blocks = blocks;
    this.#head = head;
    this.#bottleneck = bottleneck;
  }

  /** Build from the parsed prediction TFLite file; throws a UsageError naming the file and the layer that does not fit. */
  static fromTflite(model: TfliteModel): StylePredictor {
    const g: TfliteFloatGraph = new TfliteFloatGraph(model, NETWORK, SUPPORTED);
    const { inputs, outputs } = g.signature;
    if (inputs !== 1 || outputs !== 1) {
      g.fail(`has ${inputs} inputs and ${outputs} outputs; the ${NETWORK} has one of each (image → style vector)`);
    }
    const created: T.Tensor[] = [];
    const upload = (data: Float32Array, shape: number[]) => {
      const t = T.tensor(data, shape, 'f32');
      created.push(t);
      return t;
    };

    /** The convolution reading `x`, checked against `spec`; returns it with its output tensor. */
    const conv = (x: number, spec: ConvSpec, what: string): [Conv, number] => {
      const op = g.consumer(x, spec.kind, what);
      const [, wIndex, bIndex] = op.inputs;
      const wShape = g.shape(wIndex);
      const opts = op.options as Conv2DOptions | DepthwiseConv2DOptions;
      const depthwise = spec.kind === 'DEPTHWISE_CONV_2D';
      const expected = depthwise
        ? [1, spec.kernel, spec.kernel, spec.outC]
        : [spec.outC, spec.kernel, spec.kernel, spec.inC];
      const activation = spec.relu6 ? 'RELU6' : 'NONE';
      if (
        wShape.join() !== expected.join() ||
        opts.padding !== 'SAME' ||
        opts.strideH !== spec.stride ||
        opts.strideW !== spec.stride ||
        opts.dilationH !== 1 ||
        opts.dilationW !== 1 ||
        opts.activation !== activation ||
        bIndex === undefined ||
        bIndex < 0 ||
        g.shape(bIndex).join() !== String(spec.outC)
      ) {
        g.fail(
          `${what}: ${op.opcode} (operator ${op.index}) has filter [${wShape}], ${opts.padding} stride ` +
            `${opts.strideH}×${opts.strideW}, activation ${opts.activation}; the ${NETWORK} needs ${spec.kind} ` +
            `[${expected}] SAME stride ${spec.stride} ${activation} with a bias`,
        );
      }
      const w = g.constant(wIndex, `${what} filter`);
      const weight = depthwise
        ? upload(depthwiseToOihw(w, wShape), [spec.outC, 1, spec.kernel, spec.kernel])
        : upload(ohwiToOihw(w, wShape), [spec.outC, spec.inC, spec.kernel, spec.kernel]);
      const bias = upload(g.constant(bIndex, `${what} bias`), [spec.outC]);
      const layer = { weight, bias, stride: spec.stride, groups: depthwise ? spec.outC : 1, relu6: spec.relu6 };
      return [layer, op.outputs[0]];
    };

    try {
      const input = g.input(0);
      if (g.shape(input).join() !== [1, STYLE_IMAGE_SIZE, STYLE_IMAGE_SIZE, 3].join()) {
        g.fail(`input "${g.name(input)}" is [${g.shape(input)}]; the ${NETWORK} takes [1, 256, 256, 3]`);
      }
      const c1 = (kind: ConvSpec['kind'], inC: number, outC: number, kernel: number, stride: number, relu6: boolean) =>
        ({ kind, inC, outC, kernel, stride, relu6 }) as const;
      let [stem, x] = conv(input, c1('CONV_2D', 3, 32, 3, 2, true), 'stem');
      let channels = 32;
      const blocks: Block[] = [];
      for (const [t, c, n, s] of ROWS) {
        for (let i = 0; i < n; i++) {
          const what = `inverted residual block ${blocks.length}`;
          const stride = i === 0 ? s : 1;
          const hidden = channels * t;
          let h = x;
          let expand: Conv | null = null;
          if (t !== 1) [expand, h] = conv(h, c1('CONV_2D', channels, hidden, 1, 1, true), `${what} expand`);
          const [depthwise, d] = conv(h, c1('DEPTHWISE_CONV_2D', hidden, hidden, 3, stride, true), `${what} depthwise`);
          const [project, p] = conv(d, c1('CONV_2D', hidden, c, 1, 1, false), `${what} project`);
          const residual = stride === 1 && channels === c;
          x = residual ? g.consumer(p, 'ADD', `${what} residual add`, x).outputs[0] : p;
          blocks.push({ expand, depthwise, project, residual });
          channels = c;
        }
      }
      const [head, features] = conv(x, c1('CONV_2D', channels, 1280, 1, 1, true), 'head');
      const mean = g.consumer(features, 'MEAN', 'global average pool');
      const axes = g.ints(mean.inputs[1], 'global average pool axes');
      if (axes.join() !== '1,2' || !(mean.options?.kind === 'ReducerOptions' && mean.options.keepDims)) {
        g.fail(`global average pool: MEAN (operator ${mean.index}) must reduce axes [1, 2] keeping dims`);
      }
      const [bottleneck, out] = conv(
        mean.outputs[0],
        c1('CONV_2D', 1280, STYLE_VECTOR_SIZE, 1, 1, false),
        'bottleneck',
      );
      if (out !== g.output(0)) g.fail(`the bottleneck convolution's output is not the graph's output`);
      g.checkAllUsed(NETWORK);
      return new StylePredictor(stem, blocks, head, bottleneck);
    } catch (err) {
      T.dispose(created);
      throw err;
    }
  }

  #conv(x: T.Tensor, c: Conv): T.Tensor {
    const y = T.conv2d(x, c.weight, c.bias, { stride: c.stride, padding: 'same', groups: c.groups });
    return c.relu6 ? T.clamp(y, 0, 6) : y;
  }

  /**
   * Style vectors of images: [N,3,H,W] RGB in [0, 1] (256×256 as published; other sizes run too, the
   * network ends in a global mean) → [N, 100].
   */
  forward(x: T.Tensor): T.Tensor {
    if (x.rank !== 4 || x.shape[1] !== 3) {
      throw new T.ShapeError(`StylePredictor: input must be [N, 3, H, W] RGB in [0, 1], got [${x.shape.join(', ')}]`);
    }
    return T.tidy(() => {
      let y = this.#conv(x, this.#stem);
      for (const b of this.#blocks) {
        const h = b.expand ? this.#conv(y, b.expand) : y;
        const p = this.#conv(this.#conv(h, b.depthwise), b.project);
        y = b.residual ? T.add(y, p) : p;
      }
      const pooled = T.mean(this.#conv(y, this.#head), [2, 3], true);
      return T.reshape(this.#conv(pooled, this.#bottleneck), [x.shape[0], STYLE_VECTOR_SIZE]);
    });
  }

  dispose(): void {
    for (const c of [this.#stem, this.#head, this.#bottleneck]) T.dispose([c.weight, c.bias]);
    for (const b of this.#blocks) {
      for (const c of [b.expand, b.depthwise, b.project]) if (c) T.dispose([c.weight, c.bias]);
    }
  }
}
