/**
 * An independent runtime for TFLite files: each operator of the file transcribed, one for one and in the
 * file's own NHWC layout, into the ONNX operator with the same semantics, and the result run by
 * onnxruntime-node. It is the oracle for the Magenta networks (test/models/magenta.test.ts) because it shares
 * nothing with models/magenta/ but the parsed file (tensors, operators, quantization parameters, the constant
 * bytes):
 *
 * - no architecture: it never knows what a MobileNet block or a conditional instance norm is; it runs the
 *   converter's operators as they are (ten of them per CIN where the model code runs one fused op);
 * - NHWC as in the file, with ONNX Transposes around each Conv, where the model code converts weights to
 *   NCHW once at load;
 * - onnxruntime's kernels and its own SAME padding (auto_pad SAME_UPPER: TensorFlow puts the odd padding
 *   pixel at the end too), reflect Pad, ReduceMean and nearest Resize, not the core's.
 *
 * - its own dequantization: constants go into the ONNX model as the file's raw bytes (INT8, UINT8, INT32 with
 *   their scales and zero points through onnxruntime's DequantizeLinear, per channel along the quantized
 *   dimension; FLOAT16 through a Cast), not through the reader's `dequantizeTensor` that the model code uses.
 *
 * QUANTIZE/DEQUANTIZE become Identity: like the model code, this runs the int8 files in float (what that
 * changes is measured separately: the int8 and fp16 transfer files, see magenta.test.ts).
 * RESIZE_NEAREST_NEIGHBOR's constant size is read as a ratio to the file's own input shape (what the
 * converter baked for 384² content); at the file's size it is the literal constant.
 */
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import type { TfliteModel, TfliteTensor } from '../../core/io/tflite.js';
import { tensorValues } from '../../core/io/tflite.js';

const { onnx } = onnxProto;

const FLOAT = 1;
const INT64 = 7;
/** ONNX TensorProto data types of the constant types the files hold, with the typed array of a zero point. */
const CONSTANT_TYPES: Readonly<Record<string, { onnx: number; zero?: (v: number[]) => ArrayBufferView }>> = {
  FLOAT32: { onnx: FLOAT },
  FLOAT16: { onnx: 10 },
  UINT8: { onnx: 2, zero: (v) => Uint8Array.from(v) },
  INT8: { onnx: 3, zero: (v) => Int8Array.from(v) },
  INT32: { onnx: 6, zero: (v) => Int32Array.from(v) },
};
const ATTR = { INT: 2, STRING: 3, INTS: 7 } as const;

interface Attr {
  name: string;
  type: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}

const int = (name: string, i: number): Attr => ({ name, type: ATTR.INT, i });
const ints = (name: string, v: number[]): Attr => ({ name, type: ATTR.INTS, ints: v });
const str = (name: string, s: string): Attr => ({ name, type: ATTR.STRING, s: new TextEncoder().encode(s) });

/** The ONNX model bytes for subgraph 0 of a TFLite model. Inputs and outputs keep the file's names and NHWC shapes. */
export function tfliteToOnnx(model: TfliteModel): Uint8Array {
  const sg = model.subgraphs[0];
  const nodes: unknown[] = [];
  const initializers: unknown[] = [];
  const names = new Map<number, string>();
  let counter = 0;
  const fresh = (hint: string) => `${hint}_${counter++}`;
  const isConst = (t: TfliteTensor) => model.buffers[t.buffer].data.length > 0;
  const node = (opType: string, inputs: string[], attrs: Attr[] = [], hint = opType): string => {
    const out = fresh(hint);
    nodes.push({ opType, input: inputs, output: [out], attribute: attrs, name: out });
    return out;
  };
  const rawInit = (bytes: ArrayBufferView, dims: number[], dataType: number, hint: string) => {
    const name = fresh(hint);
    const rawData = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
    initializers.push({ name, dims, dataType, rawData });
    return name;
  };
  const f32Init = (values: Float32Array, dims: number[], hint: string) => rawInit(values, dims, FLOAT, hint);
  /** A constant as float, from the file's bytes: onnxruntime does the widening and the dequantization. */
  const constant = (t: TfliteTensor): string => {
    const type = CONSTANT_TYPES[t.type];
    if (!type) throw new Error(`oracle: constant tensor "${t.name}" has type ${t.type}, which is not transcribed`);
    const raw = rawInit(model.buffers[t.buffer].data, t.shape, type.onnx, 'raw');
    if (t.type === 'FLOAT32') return raw;
    if (t.type === 'FLOAT16') return node('Cast', [raw], [int('to', FLOAT)]);
    const q = t.quantization;
    if (!q || q.scale.length === 0 || !type.zero) {
      throw new Error(`oracle: constant tensor "${t.name}" (${t.type}) has no quantization scale`);
    }
    const perChannel = q.scale.length > 1;
    const dims = perChannel ? [q.scale.length] : [];
    const scale = f32Init(Float32Array.from(q.scale), dims, 'scale');
    const zeros = q.zeroPoint.length > 0 ? q.zeroPoint : q.scale.map(() => 0);
    const zero = rawInit(type.zero(perChannel ? zeros : [zeros[0]]), dims, type.onnx, 'zero');
    return node('DequantizeLinear', [raw, scale, zero], perChannel ? [int('axis', q.quantizedDimension)] : []);
  };
  const i64Init = (values: number[], hint: string) => {
    const name = fresh(hint);
    const data = BigInt64Array.from(values.map(BigInt));
    initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  };
  /** The ONNX name holding tensor `i` (constants become float initializers on first use). */
  const ref = (i: number): string => {
    const known = names.get(i);
    if (known) return known;
    const t = sg.tensors[i];
    if (!isConst(t)) throw new Error(`oracle: tensor ${i} ("${t.name}") is used before it is computed`);
    const name = constant(t);
    names.set(i, name);
    return name;
  };
  const ints32 = (i: number) => Array.from(tensorValues(model, i) as Int32Array);
  const activation = (x: string, act: string): string => {
    switch (act) {
      case 'NONE':
        return x;
      case 'RELU':
        return node('Relu', [x]);
      case 'RELU6':
        return node('Clip', [x, f32Init(Float32Array.of(0), [], 'zero'), f32Init(Float32Array.of(6), [], 'six')]);
      default:
        throw new Error(`oracle: fused activation ${act} is not transcribed`);
    }
  };
  const toNchw = (x: string) => node('Transpose', [x], [ints('perm', [0, 3, 1, 2])]);
  const toNhwc = (x: string) => node('Transpose', [x], [ints('perm', [0, 2, 3, 1])]);

  for (const i of sg.inputs) names.set(i, sg.tensors[i].name);
  for (const op of sg.operators) {
    const ins = op.inputs;
    const o = op.options as Record<string, unknown> | null;
    const act = (o?.activation as string | undefined) ?? 'NONE';
    let y: string;
    switch (op.opcode) {
      case 'QUANTIZE':
      case 'DEQUANTIZE':
        y = node('Identity', [ref(ins[0])]);
        break;
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D': {
        const depthwise = op.opcode === 'DEPTHWISE_CONV_2D';
        const w = node('Transpose', [ref(ins[1])], [ints('perm', depthwise ? [3, 0, 1, 2] : [0, 3, 1, 2])]);
        const attrs = [
          ints('strides', [o?.strideH as number, o?.strideW as number]),
          ints('dilations', [o?.dilationH as number, o?.dilationW as number]),
          str('auto_pad', o?.padding === 'SAME' ? 'SAME_UPPER' : 'VALID'),
        ];
        if (depthwise) attrs.push(int('group', sg.tensors[ins[0]].shape[3]));
        const inputs = [toNchw(ref(ins[0])), w, ...(ins[2] >= 0 ? [ref(ins[2])] : [])];
        y = activation(toNhwc(node('Conv', inputs, attrs)), act);
        break;
      }
      case 'ADD':
      case 'SUB':
      case 'MUL':
        y = activation(node({ ADD: 'Add', SUB: 'Sub', MUL: 'Mul' }[op.opcode], [ref(ins[0]), ref(ins[1])]), act);
        break;
      case 'SQUARED_DIFFERENCE': {
        const d = node('Sub', [ref(ins[0]), ref(ins[1])]);
        y = node('Mul', [d, d]);
        break;
      }
      case 'RSQRT':
        y = node('Reciprocal', [node('Sqrt', [ref(ins[0])])]);
        break;
      case 'LOGISTIC':
        y = node('Sigmoid', [ref(ins[0])]);
        break;
      case 'MEAN':
        y = node('ReduceMean', [ref(ins[0])], [ints('axes', ints32(ins[1])), int('keepdims', o?.keepDims ? 1 : 0)]);
        break;
      case 'MIRROR_PAD': {
        if (o?.mode !== 'REFLECT') throw new Error('oracle: only REFLECT mirror padding has an ONNX equivalent');
        const p = ints32(ins[1]);
        const rank = p.length / 2;
        const pads = [
          ...Array.from({ length: rank }, (_, d) => p[2 * d]),
          ...Array.from({ length: rank }, (_, d) => p[2 * d + 1]),
        ];
        y = node('Pad', [ref(ins[0]), i64Init(pads, 'pads')], [str('mode', 'reflect')]);
        break;
      }
      case 'RESIZE_NEAREST_NEIGHBOR': {
        if (o?.alignCorners || o?.halfPixelCenters)
          throw new Error('oracle: only the legacy asymmetric resize is transcribed');
        const [, h, w] = sg.tensors[ins[0]].shape;
        const [oh, ow] = ints32(ins[1]);
        const scales = f32Init(Float32Array.of(1, oh / h, ow / w, 1), [4], 'scales');
        y = node(
          'Resize',
          [ref(ins[0]), '', scales],
          [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')],
        );
        break;
      }
      default:
        throw new Error(`oracle: TFLite operator ${op.opcode} is not transcribed`);
    }
    names.set(op.outputs[0], y);
  }

  const valueInfo = (i: number) => {
    const t = sg.tensors[i];
    // Batch and channels fixed, H and W free: the networks are fully convolutional.
    const dims = t.shape.map((d, axis) =>
      t.shape.length === 4 && (axis === 1 || axis === 2) && d > 1 ? { dimParam: `d${axis}` } : { dimValue: d },
    );
    return { name: t.name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims } } } };
  };
  const outputs = sg.outputs.map((i) => {
    nodes.push({ opType: 'Identity', input: [names.get(i)], output: [sg.tensors[i].name], name: `out_${i}` });
    return valueInfo(i);
  });
  const graph = {
    name: 'tflite',
    input: sg.inputs.map(valueInfo),
    initializer: initializers,
    node: nodes,
    output: outputs,
  };
  const m = { irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'tflite-onnx-oracle', graph };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(m)).finish();
}

/** Runs a TFLite model through the transcription: inputs by tensor name, NHWC float data. */
export async function runOracle(
  model: TfliteModel,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(tfliteToOnnx(model));
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, { data, shape }] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', data, shape);
  const results = await session.run(feeds);
  await session.release();
  const sg = model.subgraphs[0];
  return sg.outputs.map((i) => results[sg.tensors[i].name].data as Float32Array);
}
