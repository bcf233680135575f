/**
 * Johnson et al. fast neural style TransformerNet (pytorch/examples fast_neural_style),
 * written out over the core ops so the architecture reads top to bottom:
 *
 *   input [1,3,H,W] RGB 0..255
 *   encoder   conv 9×9/1 → 32, conv 3×3/2 → 64, conv 3×3/2 → 128   (each: reflect pad, conv, instance norm, relu)
 *   5 × residual block (128): conv 3×3 → IN → relu → conv 3×3 → IN, plus the skip
 *   decoder   2 × [nearest ×2 upsample, conv 3×3 → IN → relu] → 64, → 32
 *   head      conv 9×9/1 → 3 (no norm, no activation, not clamped)
 *
 * Weights come from an ONNX file (ONNX Model Zoo layout: 16 Conv + 15 InstanceNormalization
 * nodes in this order) or a PyTorch state dict of pytorch/examples' TransformerNet (`.pth` or
 * safetensors, key names below); loading checks every layer's kernel, stride and channels against
 * the architecture, so a different network is rejected at load, not run.
 */
import { f16ArrayToF32, type TypedArray } from '../../core/dtype.js';
import { UsageError } from '../../core/errors.js';
import { nodeAttr, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../core/io/onnx.js';
import * as T from '../../index.js';
import { chain, type Release, releaser } from '../layer-chain.js';

interface ConvSpec {
  readonly inC: number;
  readonly outC: number;
  readonly kernel: number;
  readonly stride: number;
}

/** The 16 convolutions in graph order. */
const CONVS: readonly ConvSpec[] = [
  { inC: 3, outC: 32, kernel: 9, stride: 1 },
  { inC: 32, outC: 64, kernel: 3, stride: 2 },
  { inC: 64, outC: 128, kernel: 3, stride: 2 },
  ...Array.from({ length: 10 }, () => ({ inC: 128, outC: 128, kernel: 3, stride: 1 })),
  { inC: 128, outC: 64, kernel: 3, stride: 1 },
  { inC: 64, outC: 32, kernel: 3, stride: 1 },
  { inC: 32, outC: 3, kernel: 9, stride: 1 },
];

/**
 * Floating-point operations of one forward pass at height × width: the convolutions only (a multiply-add
 * counts 2; instance norm, relu, padding and upsampling are a few percent more). 80.6 GFLOP at 512².
 */
export function transformerNetFlops(height: number, width: number): number {
  let h = height;
  let w = width;
  let flops = 0;
  for (const [i, { inC, outC, kernel, stride }] of CONVS.entries()) {
    // Convolutions 13 and 14 follow a nearest ×2 upsample.
    if (i === 13 || i === 14) {
      h *= 2;
      w *= 2;
    }
    // Reflect padding of kernel/2 keeps the size at stride 1 and gives ceil(h/2) at stride 2.
    h = Math.ceil(h / stride);
    w = Math.ceil(w / stride);
    flops += 2 * kernel * kernel * inC * outC * h * w;
  }
  return flops;
}

/** pytorch/examples' module names of the 16 convolutions and 15 instance norms, in graph order. */
const CONV_KEYS: readonly string[] = [
  'conv1',
  'conv2',
  'conv3',
  ...Array.from({ length: 5 }, (_, r) => [`res${r + 1}.conv1`, `res${r + 1}.conv2`]).flat(),
  'deconv1',
  'deconv2',
  'deconv3',
];
const NORM_KEYS: readonly string[] = [
  'in1',
  'in2',
  'in3',
  ...Array.from({ length: 5 }, (_, r) => [`res${r + 1}.in1`, `res${r + 1}.in2`]).flat(),
  'in4',
  'in5',
];
/** torch.nn.InstanceNorm2d's default ε, which pytorch/examples keeps. */
const TORCH_INSTANCE_NORM_EPS = 1e-5;

/** One tensor of a state dict (a .pth or safetensors file) as the readers give it. */
export interface StateDictTensor {
  readonly dtype: T.DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** Operators the TransformerNet graph may contain (zoo opset 9 uses Upsample; opset ≥ 10 Resize). */
const KNOWN_OPS = new Set(['Pad', 'Conv', 'InstanceNormalization', 'Relu', 'Add', 'Resize', 'Upsample', 'Constant']);

interface Conv {
  readonly weight: T.Tensor;
  readonly bias: T.Tensor;
  readonly spec: ConvSpec;
}

interface Norm {
  readonly scale: T.Tensor;
  readonly shift: T.Tensor;
  readonly eps: number;
}

export class TransformerNet {
  readonly #convs: Conv[];
  readonly #norms: Norm[];

  private constructor(convs: Conv[], norms: Norm[]) {
    this.#convs = convs;
    this.#norms = norms;
  }

  /** Build from a parsed ONNX model; throws a UsageError naming the file and the layer that does not fit. */
  static fromOnnx(model: OnnxModel): TransformerNet {
    const file = model.file;
    const initializers = new Map(model.graph.initializers.map((t) => [t.name, t]));
    const weightOf = (node: OnnxNode, i: number, what: string): OnnxTensor => {
      const t = initializers.get(node.inputs[i]);
      if (!t) throw new UsageError(`${file}: ${node.opType} node "${node.name}" has no constant ${what} (input ${i})`);
      if (t.dtype !== 'f32') throw new UsageError(`${file}: ${what} "${t.name}" is ${t.fileDType}, expected FLOAT`);
      return t;
    };
    const convNodes: OnnxNode[] = [];
    const normNodes: OnnxNode[] = [];
    for (const node of model.graph.nodes) {
      if (!KNOWN_OPS.has(node.opType) || node.domain !== '') {
        throw new UsageError(
          `${file}: operator ${node.domain ? `${node.domain}.` : ''}${node.opType} (node "${node.name}") is not part of the fast-style TransformerNet`,
        );
      }
      if (node.opType === 'Conv') convNodes.push(node);
      if (node.opType === 'InstanceNormalization') normNodes.push(node);
    }
    if (convNodes.length !== CONVS.length || normNodes.length !== CONVS.length - 1) {
      throw new UsageError(
        `${file}: expected ${CONVS.length} Conv and ${CONVS.length - 1} InstanceNormalization nodes (TransformerNet), found ${convNodes.length} and ${normNodes.length}`,
      );
    }
    const created: T.Tensor[] = [];
    const upload = (t: OnnxTensor) => {
      const tensor = T.tensor(t.data as Float32Array, t.shape, 'f32');
      created.push(tensor);
      return tensor;
    };
    try {
      const convs = convNodes.map((node, i) => {
        const spec = CONVS[i];
        const w = weightOf(node, 1, 'weight');
        const expected = [spec.outC, spec.inC, spec.kernel, spec.kernel];
        const strides = nodeAttr(model, node, 'strides', 'ints', [1, 1]);
        const group = nodeAttr(model, node, 'group', 'int', 1);
        if (w.shape.join() !== expected.join() || strides.some((s) => s !== spec.stride) || group !== 1) {
          throw new UsageError(
            `${file}: Conv ${i + 1} ("${node.name}") has weight [${w.shape}] stride [${strides}] group ${group}; TransformerNet needs [${expected}] stride ${spec.stride} group 1`,
          );
        }
        const b = weightOf(node, 2, 'bias');
        return { weight: upload(w), bias: upload(b), spec };
      });
      const norms = normNodes.map((node, i) => {
        const scale = weightOf(node, 1, 'scale');
        const channels = CONVS[i].outC;
        if (scale.shape.join() !== String(channels)) {
          throw new UsageError(
            `${file}: InstanceNormalization ${i + 1} has ${scale.shape} channels, expected ${channels}`,
          );
        }
        return {
          scale: upload(scale),
          shift: upload(weightOf(node, 2, 'bias')),
          eps: nodeAttr(model, node, 'epsilon', 'float', 1e-5),
        };
      });
      return new TransformerNet(convs, norms);
    } catch (err) {
      T.dispose(created);
      throw err;
    }
  }

  /**
   * Build from a state dict of pytorch/examples' TransformerNet (`conv1.conv2d.weight`, `in1.weight`,
   * `res1.conv1.conv2d.weight`, …, `deconv3.conv2d.bias`). InstanceNorm running statistics, which old
   * files carry and pytorch/examples deletes before loading, are ignored; any other extra or missing key,
   * and any shape that does not fit, is a UsageError naming the file and the key.
   */
  static fromStateDict(file: string, tensors: ReadonlyMap<string, StateDictTensor>): TransformerNet {
    const used = new Set<string>();
    const created: T.Tensor[] = [];
    const take = (key: string, shape: readonly number[]): T.Tensor => {
      const t = tensors.get(key);
      if (!t) {
        throw new UsageError(
          `${file}: no tensor "${key}"; a pytorch/examples TransformerNet state dict has conv1.conv2d.weight … deconv3.conv2d.bias`,
        );
      }
      if (t.shape.join() !== shape.join()) {
        throw new UsageError(`${file}: "${key}" has shape [${t.shape}]; TransformerNet needs [${shape}]`);
      }
      let data: Float32Array;
      if (t.dtype === 'f32') data = t.data as Float32Array;
      else if (t.dtype === 'f16') data = f16ArrayToF32(t.data as Uint16Array);
      else throw new UsageError(`${file}: "${key}" is ${t.dtype}; TransformerNet weights must be float`);
      used.add(key);
      const tensor = T.tensor(data, [...shape], 'f32');
      created.push(tensor);
      return tensor;
    };
    try {
      const convs = CONVS.map((spec, i) => ({
        weight: take(`${CONV_KEYS[i]}.conv2d.weight`, [spec.outC, spec.inC, spec.kernel, spec.kernel]),
        bias: take(`${CONV_KEYS[i]}.conv2d.bias`, [spec.outC]),
        spec,
      }));
      const norms = NORM_KEYS.map((key, i) => ({
        scale: take(`${key}.weight`, [CONVS[i].outC]),
        shift: take(`${key}.bias`, [CONVS[i].outC]),
        eps: TORCH_INSTANCE_NORM_EPS,
      }));
      const extra = [...tensors.keys()].filter(
        (k) => !used.has(k) && !/^(?:res\d\.)?in\d\.(?:running_mean|running_var|num_batches_tracked)$/.test(k),
      );
      if (extra.length > 0) {
        throw new UsageError(
          `${file}: ${extra.length} tensors are not part of the fast-style TransformerNet: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`,
        );
      }
      return new TransformerNet(convs, norms);
    } catch (err) {
      T.dispose(created);
      throw err;
    }
  }

  /** Reflect-padded convolution, as pytorch/examples' ConvLayer. */
  #conv(x: T.Tensor, i: number): T.Tensor {
    const { weight, bias, spec } = this.#convs[i];
    const pad = Math.floor(spec.kernel / 2);
    return T.conv2d(x, weight, bias, { stride: spec.stride, padding: pad, padMode: 'reflect' });
  }

  #norm(x: T.Tensor, i: number): T.Tensor {
    const { scale, shift, eps } = this.#norms[i];
    return T.instanceNorm(x, scale, shift, eps);
  }

  /** conv → instance norm → relu, releasing each intermediate (and x, unless kept) once read. */
  #block(x: T.Tensor, i: number, release: Release): T.Tensor {
    return chain(
      x,
      release,
      (t) => this.#conv(t, i),
      (t) => this.#norm(t, i),
      T.relu,
    );
  }

  /**
   * Stylise an image: [1,3,H,W] RGB on the 0..255 scale in, the same scale out (unclamped),
   * [1,3,4⌈H/4⌉,4⌈W/4⌉] (crop to H×W when H, W are not multiples of 4).
   */
  forward(x: T.Tensor): T.Tensor {
    if (x.rank !== 4 || x.shape[0] !== 1 || x.shape[1] !== 3) {
      throw new T.ShapeError(`TransformerNet: input must be [1, 3, H, W], got [${x.shape.join(', ')}]`);
    }
    if (x.shape[2] < 5 || x.shape[3] < 5) {
      throw new T.ShapeError(`TransformerNet: input must be at least 5×5 pixels, got ${x.shape[3]}×${x.shape[2]}`);
    }
    return T.tidy(() => {
      const release = releaser(x);
      let y = this.#block(x, 0, release); // 9×9 → 32
      y = this.#block(y, 1, release); // 3×3 /2 → 64
      y = this.#block(y, 2, release); // 3×3 /2 → 128
      for (let r = 0; r < 5; r++) {
        const i = 3 + 2 * r;
        // The block's input stays alive for the skip connection.
        const inner = chain(
          this.#block(y, i, releaser(x, y)),
          release,
          (t) => this.#conv(t, i + 1),
          (t) => this.#norm(t, i + 1),
        );
        const sum = T.add(y, inner);
        release(y);
        release(inner);
        y = sum;
      }
      for (const i of [13, 14]) {
        y = chain(y, release, (t) => T.resize(t, [2 * t.shape[2], 2 * t.shape[3]], { mode: 'nearest' }));
        y = this.#block(y, i, release);
      }
      return chain(y, release, (t) => this.#conv(t, 15)); // 9×9 → 3, no norm, no activation
    });
  }

  dispose(): void {
    for (const c of this.#convs) T.dispose([c.weight, c.bias]);
    for (const n of this.#norms) T.dispose([n.scale, n.shift]);
  }
}
