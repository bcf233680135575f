/**
 * The TFLite reader against independent facts: the published MobileNet v1/v2 architectures (layer counts,
 * strides, activations, the 1001 ImageNet labels in imagenet_labels.txt), the shared README's Magenta
 * contract (a 100-d style vector), SHA256SUMS, and a cross-check between two files: the int8 and the fp16
 * Magenta transfer models quantized the same weights, so dequantizing both must agree within int8
 * quantization error plus fp16 rounding. Crafted models (written with the flatbuffers Builder) pin down each
 * dequantization path, the option decoding and every validation error.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../../../core/io/bytes.js';
import {
  dequantizeTensor,
  parseTflite,
  readTflite,
  TFLITE_OPTIONS_FOR,
  TfliteError,
  type TfliteModel,
  type TfliteTensor,
  tensorValues,
} from '../../../core/io/tflite.js';
import { openFileSource } from '../../../node/io/file-source.js';
import { documentedCounts, expectReaderError, modelsDir } from '../../helpers/model-files.js';
import {
  Builder,
  type BuildModel,
  type BuildOperator,
  buildTflite,
  bytesOf,
  int32Vector,
  offsetVector,
} from './tflite-builder.js';

const MOBILENET = join(modelsDir, 'mobilenet');
const MAGENTA = join(modelsDir, 'magenta-arbitrary');

const FILES = {
  v1_025: join(MOBILENET, 'mobilenet_v1_0.25_128_quant.tflite'),
  v1_embed: join(MOBILENET, 'mobilenet_v1_1.0_224_quant_embedding_extractor.tflite'),
  v2: join(MOBILENET, 'mobilenet_v2_1.0_224_quant.tflite'),
  prediction: join(MAGENTA, 'magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite'),
  transferInt8: join(MAGENTA, 'magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite'),
  transferFp16: join(MAGENTA, 'magenta_arbitrary-image-stylization-v1-256_fp16_transfer_384.tflite'),
};

function load(path: string): TfliteModel {
  return parseTflite(path, readFileSync(path));
}

function opCounts(m: TfliteModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const op of m.subgraphs[0].operators) counts[op.opcode] = (counts[op.opcode] ?? 0) + 1;
  return counts;
}

function io(m: TfliteModel): { inputs: [string, string, number[]][]; outputs: [string, string, number[]][] } {
  const sg = m.subgraphs[0];
  const describe = (i: number): [string, string, number[]] => [
    sg.tensors[i].name,
    sg.tensors[i].type,
    sg.tensors[i].shape,
  ];
  return { inputs: sg.inputs.map(describe), outputs: sg.outputs.map(describe) };
}

function optionsOf(m: TfliteModel, opcode: string): Record<string, unknown>[] {
  return m.subgraphs[0].operators.filter((op) => op.opcode === opcode).map((op) => ({ ...op.options }));
}

const NO_OPTIONS = new Set(['LOGISTIC', 'RSQRT']);

const hasData = (m: TfliteModel) => (t: TfliteTensor) => m.buffers[t.buffer].data.length > 0;

describe('real TFLite files', () => {
  it.each(Object.values(FILES))('%s is the file SHA256SUMS names', (path) => {
    const sums = readFileSync(join(dirname(path), 'SHA256SUMS'), 'utf8');
    const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(sums).toContain(`${hash}  ${path.slice(dirname(path).length + 1)}`);
  });

  it.each(Object.values(FILES))('docs/model-operators.md lists the operators of %s', (path) => {
    expect(documentedCounts(path.slice(dirname(path).length + 1))).toEqual(opCounts(load(path)));
  });

  it('reads through a file ByteSource', async () => {
    const source = await openFileSource(FILES.v1_025);
    try {
      const m = await readTflite(source);
      expect(m.file).toBe(FILES.v1_025);
      expect(m.version).toBe(3);
    } finally {
      await source.close?.();
    }
  });

  it('MobileNet v1 0.25/128: 1 + 13x2 + 1 convolutions, 1001 classes, [-1, 1] input scaling', () => {
    const m = load(FILES.v1_025);
    const labels = readFileSync(join(MOBILENET, 'imagenet_labels.txt'), 'utf8').trim().split('\n');
    expect(io(m)).toEqual({
      inputs: [['input', 'UINT8', [1, 128, 128, 3]]],
      outputs: [['MobilenetV1/Predictions/Reshape_1', 'UINT8', [1, labels.length]]],
    });
    expect(labels.length).toBe(1001);
    // Howard et al. 2017, Table 1: a full conv, 13 depthwise-separable blocks (dw + 1x1), then the logits 1x1.
    expect(opCounts(m)).toEqual({ CONV_2D: 15, DEPTHWISE_CONV_2D: 13, AVERAGE_POOL_2D: 1, RESHAPE: 1, SOFTMAX: 1 });
    const sg = m.subgraphs[0];
    const input = sg.tensors[sg.inputs[0]];
    // MobileNet preprocessing maps 0..255 to [-1, 1): f = (q - 128) / 128.
    expect(input.quantization?.scale).toEqual([1 / 128]);
    expect(input.quantization?.zeroPoint).toEqual([128]);
    // uint8 softmax outputs use scale 1/256 and zero point 0 (TFLite quantization spec).
    const output = sg.tensors[sg.outputs[0]];
    expect(output.quantization?.scale).toEqual([1 / 256]);
    expect(output.quantization?.zeroPoint).toEqual([0]);
    const convs = sg.operators.filter((op) => op.opcode === 'CONV_2D');
    // Depth multiplier 0.25: the first conv has 32 x 0.25 = 8 filters (OHWI), the logits conv reads 1024 x 0.25.
    expect(sg.tensors[convs[0].inputs[1]].shape).toEqual([8, 3, 3, 3]);
    expect(sg.tensors[convs[14].inputs[1]].shape).toEqual([1001, 1, 1, 256]);
    expect(convs[0].options).toMatchObject({ padding: 'SAME', strideW: 2, strideH: 2, activation: 'RELU6' });
    expect(convs[14].options).toMatchObject({ activation: 'NONE' });
    // Four stride-2 depthwise layers: 128 / 2 (first conv) / 2^4 = 4, pooled by a 4x4 average.
    expect(optionsOf(m, 'DEPTHWISE_CONV_2D').filter((o) => o.strideW === 2)).toHaveLength(4);
    expect(optionsOf(m, 'AVERAGE_POOL_2D')).toEqual([
      {
        kind: 'Pool2DOptions',
        padding: 'VALID',
        strideW: 2,
        strideH: 2,
        filterWidth: 4,
        filterHeight: 4,
        activation: 'NONE',
      },
    ]);
    expect(optionsOf(m, 'SOFTMAX')).toEqual([{ kind: 'SoftmaxOptions', beta: 1 }]);
    const reshape = sg.operators.find((op) => op.opcode === 'RESHAPE');
    expect(Array.from(tensorValues(m, reshape?.inputs[1] ?? -1) as Int32Array)).toEqual([1, 1001]);
    // Weights and biases: uint8 per-tensor weights, int32 biases quantized with scale = s_in x s_w.
    const first = convs[0];
    const w = sg.tensors[first.inputs[1]];
    const bias = sg.tensors[first.inputs[2]];
    expect([w.type, bias.type]).toEqual(['UINT8', 'INT32']);
    expect(bias.quantization?.scale[0]).toBeCloseTo(
      (input.quantization?.scale[0] ?? 0) * (w.quantization?.scale[0] ?? 0),
      12,
    );
  });

  it('MobileNet v1 1.0/224 embedding extractor: a 1024-d feature after a 7x7 average pool', () => {
    const m = load(FILES.v1_embed);
    expect(io(m).outputs).toEqual([['MobilenetV1/Logits/AvgPool_1a/AvgPool', 'UINT8', [1, 1, 1, 1024]]]);
    expect(opCounts(m)).toEqual({ CONV_2D: 14, DEPTHWISE_CONV_2D: 13, AVERAGE_POOL_2D: 1 });
    expect(optionsOf(m, 'AVERAGE_POOL_2D')[0]).toMatchObject({ filterWidth: 7, filterHeight: 7 });
    const sg = m.subgraphs[0];
    expect(sg.tensors[sg.operators[0].inputs[1]].shape).toEqual([32, 3, 3, 3]);
  });

  it('MobileNet v2 1.0/224: 17 bottlenecks, 10 residual adds, linear projections', () => {
    const m = load(FILES.v2);
    expect(io(m).outputs).toEqual([['MobilenetV2/Predictions/Softmax', 'UINT8', [1, 1001]]]);
    // Sandler et al. 2018, Table 2: 1 conv + 17 bottlenecks (16 with a 1x1 expansion, all with a 1x1
    // projection) + a 1x1 to 1280 + the logits 1x1 = 36 convs, 17 depthwise; residuals where shapes match: 10.
    expect(opCounts(m)).toEqual({
      CONV_2D: 36,
      DEPTHWISE_CONV_2D: 17,
      ADD: 10,
      AVERAGE_POOL_2D: 1,
      RESHAPE: 1,
      SOFTMAX: 1,
    });
    const activations = optionsOf(m, 'CONV_2D').map((o) => o.activation);
    // Linear bottlenecks: the 17 projections and the logits have no activation; the rest use ReLU6.
    expect(activations.filter((a) => a === 'NONE')).toHaveLength(18);
    expect(activations.filter((a) => a === 'RELU6')).toHaveLength(18);
    expect(optionsOf(m, 'DEPTHWISE_CONV_2D').filter((o) => o.strideW === 2)).toHaveLength(4);
  });

  it('Magenta style prediction: a 256x256 style image in, a 100-d style vector out', () => {
    const m = load(FILES.prediction);
    expect(io(m)).toEqual({
      inputs: [['style_image', 'FLOAT32', [1, 256, 256, 3]]],
      outputs: [['mobilenet_conv/Conv/BiasAdd', 'FLOAT32', [1, 1, 1, 100]]],
    });
    // A MobileNet v2 body (same conv/depthwise/add counts as above), a global MEAN, int8 in between.
    expect(opCounts(m)).toEqual({ QUANTIZE: 1, CONV_2D: 36, DEPTHWISE_CONV_2D: 17, ADD: 10, MEAN: 1, DEQUANTIZE: 1 });
    const sg = m.subgraphs[0];
    const mean = sg.operators.find((op) => op.opcode === 'MEAN');
    expect(mean?.options).toEqual({ kind: 'ReducerOptions', keepDims: true });
    expect(Array.from(tensorValues(m, mean?.inputs[1] ?? -1) as Int32Array)).toEqual([1, 2]);
    // int8 weights are per-channel: along the output channels (dim 0) for convolutions, along dim 3 for
    // depthwise filters [1, kh, kw, channels].
    for (const op of sg.operators) {
      if (op.opcode !== 'CONV_2D' && op.opcode !== 'DEPTHWISE_CONV_2D') continue;
      const w = sg.tensors[op.inputs[1]];
      const dim = op.opcode === 'CONV_2D' ? 0 : 3;
      expect(w.type).toBe('INT8');
      expect(w.quantization?.quantizedDimension).toBe(dim);
      expect(w.quantization?.scale).toHaveLength(w.shape[dim]);
      expect(w.quantization?.zeroPoint.every((z) => z === 0)).toBe(true);
    }
  });

  it('Magenta transfer models (int8 and fp16): content image + style vector in, image out, same float graph', () => {
    const int8 = load(FILES.transferInt8);
    const fp16 = load(FILES.transferFp16);
    for (const m of [int8, fp16]) {
      const { inputs, outputs } = io(m);
      expect(inputs.map(([, type, shape]) => [type, shape])).toEqual([
        ['FLOAT32', [1, 384, 384, 3]],
        ['FLOAT32', [1, 1, 1, 100]],
      ]);
      expect(inputs[0][0]).toBe('content_image');
      expect(outputs).toEqual([['transformer/expand/conv3/conv/Sigmoid', 'FLOAT32', [1, 384, 384, 3]]]);
      expect(optionsOf(m, 'MIRROR_PAD').every((o) => o.mode === 'REFLECT')).toBe(true);
    }
    const withoutQdq = (m: TfliteModel) => {
      const c = opCounts(m);
      delete c.QUANTIZE;
      delete c.DEQUANTIZE;
      return c;
    };
    expect(withoutQdq(int8)).toEqual(withoutQdq(fp16));
    // fp16 weights reach the float convolutions through DEQUANTIZE, one per FLOAT16 constant.
    const consts = fp16.subgraphs[0].tensors.filter(hasData(fp16)).filter((t) => t.type === 'FLOAT16');
    expect(opCounts(fp16).DEQUANTIZE).toBe(consts.length);
  });

  it('int8 and fp16 transfer models hold the same 132 constants, within quantization error', () => {
    const fp16 = load(FILES.transferFp16);
    const int8 = load(FILES.transferInt8);
    const byName = new Map(int8.subgraphs[0].tensors.filter(hasData(int8)).map((t) => [t.name, t]));
    let shared = 0;
    let maxRelative = 0;
    for (const a of fp16.subgraphs[0].tensors.filter(hasData(fp16))) {
      const b = byName.get(a.name);
      if (!b) continue;
      shared++;
      expect(b.shape).toEqual(a.shape);
      if (a.type === 'INT32') {
        // Paddings, reduction axes and resize sizes: plain integers, identical.
        expect(b.type).toBe('INT32');
        expect(Array.from(tensorValues(int8, b.index) as Int32Array)).toEqual(
          Array.from(tensorValues(fp16, a.index) as Int32Array),
        );
        continue;
      }
      expect(a.type).toBe('FLOAT16');
      expect(['INT8', 'INT32']).toContain(b.type);
      const fa = dequantizeTensor(fp16, a.index);
      const fb = dequantizeTensor(int8, b.index);
      const q = b.quantization;
      if (!q) throw new Error(`${b.name} has no quantization`);
      let inner = 1;
      for (let d = q.quantizedDimension + 1; d < b.shape.length; d++) inner *= b.shape[d];
      let peak = 0;
      for (let i = 0; i < fa.length; i++) peak = Math.max(peak, Math.abs(fa[i]));
      for (let i = 0; i < fa.length; i++) {
        const scale = q.scale.length === 1 ? q.scale[0] : q.scale[Math.floor(i / inner) % q.scale.length];
        // Rounding to the int8 grid moves a weight by at most scale/2; fp16 rounding by 2^-11 relative
        // (2^-25 absolute for subnormals); the f32 results add a relative 2^-23.
        const tolerance = (scale / 2 + Math.abs(fa[i]) * 2 ** -11 + 2 ** -25) * (1 + 2 ** -20);
        const diff = Math.abs(fa[i] - fb[i]);
        if (diff > tolerance) {
          throw new Error(`${a.name}[${i}]: fp16 ${fa[i]} vs int8 ${fb[i]} (scale ${scale}) differ by ${diff}`);
        }
        if (peak > 0) maxRelative = Math.max(maxRelative, diff / peak);
      }
    }
    expect(shared).toBe(132);
    // The shared NOTICE measured a maximum relative difference of 0.42 %.
    expect(maxRelative).toBeLessThan(0.01);
    expect(maxRelative).toBeGreaterThan(0);
  });

  it('each operator carries the options table its opcode calls for (cross-checks both enum tables)', () => {
    let checked = 0;
    for (const path of Object.values(FILES)) {
      const m = load(path);
      for (const op of m.subgraphs[0].operators) {
        const expected = TFLITE_OPTIONS_FOR[op.opcode];
        if (NO_OPTIONS.has(op.opcode)) {
          // schema.fbs gives these operators no options table.
          expect([op.builtinOptionsType, op.options]).toEqual(['NONE', null]);
          continue;
        }
        expect(expected).toBeDefined();
        expect(op.options?.kind).toBe(expected);
        if (op.builtinOptionsType !== 'NONE') {
          expect(op.builtinOptionsType).toBe(expected);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Crafted models

const FILE = 'crafted.tflite';

const f16Bits = new Uint16Array([0x3c00, 0xc100, 0x7bff, 0x0001]);

/** A model exercising each dequantization path; tensor 2's data sits after the flatbuffer (offset/size). */
function dataModel(): BuildModel {
  return {
    operatorCodes: [{ deprecatedBuiltinCode: 3, builtinCode: 3 }],
    buffers: [
      {},
      { data: bytesOf(new Int8Array([-128, 0, 127, 5])) },
      { external: bytesOf(new Int8Array([1, 2, 3, 4])) },
      { data: bytesOf(f16Bits) },
      { data: new Uint8Array([0, 128, 255]) },
      { data: bytesOf(new Int32Array([1000, -2000])) },
      { data: bytesOf(new Int32Array([0, 0, 1, 1])) },
      { data: bytesOf(new Float32Array([1.5, -3])) },
      { data: bytesOf(new Int16Array([-2, 4])) },
    ],
    subgraphs: [
      {
        tensors: [
          { name: 'act', shape: [1, 2, 2, 2], type: 0 },
          {
            name: 'w_dim0',
            shape: [2, 1, 1, 2],
            type: 9,
            buffer: 1,
            quantization: { scale: [0.5, 0.25], zeroPoint: [0, 1], quantizedDimension: 0 },
          },
          {
            name: 'w_dim3',
            shape: [1, 1, 2, 2],
            type: 9,
            buffer: 2,
            quantization: { scale: [1, 10], zeroPoint: [0, 0], quantizedDimension: 3 },
          },
          { name: 'half', shape: [4], type: 1, buffer: 3 },
          { name: 'u8', shape: [3], type: 3, buffer: 4, quantization: { scale: [1 / 128], zeroPoint: [128] } },
          { name: 'bias', shape: [2], type: 2, buffer: 5, quantization: { scale: [0.001], zeroPoint: [0] } },
          { name: 'paddings', shape: [2, 2], type: 2, buffer: 6 },
          { name: 'f32', shape: [2], type: 0, buffer: 7 },
          { name: 'i16', shape: [2], type: 7, buffer: 8, quantization: { scale: [0.5], zeroPoint: [-2] } },
        ],
        inputs: [0],
        outputs: [0],
        operators: [{ opcodeIndex: 0, inputs: [0, 1, 5], outputs: [0] }],
      },
    ],
  };
}

function expectError(bytes: Uint8Array, pattern: RegExp): TfliteError {
  return expectReaderError(TfliteError, FILE, () => parseTflite(FILE, bytes), pattern);
}

function withTensor(index: number, patch: Partial<BuildModel['subgraphs'][0]['tensors'][0]>): Uint8Array {
  const m = dataModel();
  m.subgraphs[0].tensors[index] = { ...m.subgraphs[0].tensors[index], ...patch };
  return buildTflite(m);
}

function withOperator(op: BuildOperator, codes = dataModel().operatorCodes): Uint8Array {
  const m = dataModel();
  m.operatorCodes = codes;
  m.subgraphs[0].operators = [op];
  return buildTflite(m);
}

describe('parseTflite and dequantizeTensor on crafted models', () => {
  const model = parseTflite(FILE, buildTflite(dataModel()));

  it('dequantizes per-channel int8 along dim 0 and along the last dim', () => {
    // f = scale[c] x (q - zero[c]): channel 0 (scale 0.5, zero 0) holds -128, 0; channel 1 (0.25, 1) 127, 5.
    expect(Array.from(dequantizeTensor(model, 1))).toEqual([-64, 0, 31.5, 1]);
    // Along dim 3 the channel alternates element by element: scales 1, 10.
    expect(Array.from(dequantizeTensor(model, 2))).toEqual([1, 20, 3, 40]);
  });

  it('widens fp16, dequantizes uint8, int16 and int32, and copies f32', () => {
    expect(Array.from(dequantizeTensor(model, 3))).toEqual([1, -2.5, 65504, 2 ** -24]);
    expect(Array.from(dequantizeTensor(model, 4))).toEqual([-1, 0, 127 / 128]);
    const bias = dequantizeTensor(model, 5);
    expect(bias[0]).toBeCloseTo(1, 6);
    expect(bias[1]).toBeCloseTo(-2, 6);
    expect(Array.from(dequantizeTensor(model, 7))).toEqual([1.5, -3]);
    expect(Array.from(dequantizeTensor(model, 8))).toEqual([0, 3]);
  });

  it('reads buffers stored after the flatbuffer (offset/size, the >2 GB layout)', () => {
    const bytes = buildTflite(dataModel());
    const data = model.buffers[2].data;
    expect(Array.from(new Int8Array(data.buffer, data.byteOffset, data.length))).toEqual([1, 2, 3, 4]);
    expect(data.byteOffset % 16).toBe(0);
    expect(data.byteOffset + data.length).toBe(bytes.length);
    // Cutting the trailing data leaves the offset pointing outside the file.
    expectError(
      bytes.subarray(0, bytes.length - 1),
      /buffers\[2\] \(offset \d+, size 4\): bytes \[\d+, \d+\) lie outside/,
    );
  });

  it('gives plain values for index tensors and refuses to dequantize them', () => {
    const values = tensorValues(model, 6);
    expect(values).toBeInstanceOf(Int32Array);
    expect(Array.from(values as Int32Array)).toEqual([0, 0, 1, 1]);
    expect(Array.from(tensorValues(model, 3) as Uint16Array)).toEqual(Array.from(f16Bits));
    expect(() => dequantizeTensor(model, 6)).toThrow(/tensor 6 \("paddings".*has no quantization scale.*tensorValues/);
    expect(() => dequantizeTensor(model, 0)).toThrow(/tensor 0 \("act".*has no constant data/);
    expect(() => dequantizeTensor(model, 99)).toThrow(/crafted.tflite: no tensor 99 in subgraph 0 \(it has 9\)/);
    expect(() => dequantizeTensor(model, 0, 1)).toThrow(/no subgraph 1/);
  });

  it('decodes the tensor metadata', () => {
    const t = model.subgraphs[0].tensors[1];
    expect(t).toMatchObject({ index: 1, name: 'w_dim0', type: 'INT8', shape: [2, 1, 1, 2], buffer: 1, sparse: false });
    expect(t.quantization).toEqual({
      scale: [0.5, 0.25],
      zeroPoint: [0, 1],
      quantizedDimension: 0,
      min: [],
      max: [],
      details: null,
    });
    expect(model.subgraphs[0].tensors[0].quantization).toBeNull();
    expect(model.description).toBe('built by tflite-builder');
    expect(model.operatorCodes).toEqual([{ builtinCode: 3, name: 'CONV_2D', customCode: null, version: 1 }]);
  });

  it('takes the larger of deprecated_builtin_code and builtin_code', () => {
    const m = parseTflite(
      FILE,
      withOperator({ opcodeIndex: 0, inputs: [0], outputs: [0] }, [
        { deprecatedBuiltinCode: 127, builtinCode: 150, version: 2 },
        { deprecatedBuiltinCode: 4 },
        { builtinCode: 32, customCode: 'MyCustomOp' },
        { deprecatedBuiltinCode: 127, builtinCode: 300 },
      ]),
    );
    expect(m.operatorCodes.map((c) => [c.name, c.builtinCode, c.version, c.customCode])).toEqual([
      ['GELU', 150, 2, null],
      ['DEPTHWISE_CONV_2D', 4, 1, null],
      ['CUSTOM', 32, 1, 'MyCustomOp'],
      ['BUILTIN_300', 300, 1, null],
    ]);
  });

  it('decodes the builtin options of the operators the style and classifier models use', () => {
    // flatc leaves out a field whose value equals its schema default, so each field carries that default.
    type Field = (b: Builder) => void;
    function i8(slot: number, value: number): Field {
      return (b) => b.addFieldInt8(slot, value, 0);
    }
    function i32(slot: number, value: number, fallback = 0): Field {
      return (b) => b.addFieldInt32(slot, value, fallback);
    }
    function table(size: number, ...fields: Field[]): (b: Builder) => number {
      return (b) => {
        b.startObject(size);
        for (const field of fields) field(b);
        return b.endObject();
      };
    }
    // By opcode name: the builtin code, the options union member the operator carries and its table.
    const rows: Record<string, { code: number } & Pick<BuildOperator, 'optionsType' | 'options'>> = {
      CONV_2D: { code: 3, optionsType: 1, options: table(7, i8(0, 1), i32(1, 2), i32(2, 3), i8(3, 3), i32(4, 2, 1)) },
      DEPTHWISE_CONV_2D: {
        code: 4,
        optionsType: 2,
        options: table(7, i32(1, 1), i32(2, 1), i32(3, 2), i8(4, 1), i32(6, 4, 1)),
      },
      MAX_POOL_2D: { code: 17, optionsType: 5, options: table(6, i32(1, 2), i32(2, 2), i32(3, 3), i32(4, 5)) },
      TRANSPOSE_CONV: { code: 67, optionsType: 49, options: table(5, i8(0, 0), i32(1, 2), i32(2, 2), i8(3, 4)) },
      RESIZE_BILINEAR: { code: 23, optionsType: 15, options: table(4, i8(3, 1)) },
      MIRROR_PAD: { code: 100, optionsType: 77, options: table(1, i8(0, 1)) },
      FULLY_CONNECTED: { code: 9, optionsType: 8, options: table(5, i8(0, 2), i8(2, 1)) },
      RESHAPE: {
        code: 22,
        optionsType: 17,
        options: (b) => {
          const shape = int32Vector(b, [1, -1]);
          b.startObject(1);
          b.addFieldOffset(0, shape, 0);
          return b.endObject();
        },
      },
      CONCATENATION: { code: 2, optionsType: 10, options: table(2, i32(0, -1), i8(1, 1)) },
      STRIDED_SLICE: { code: 45, optionsType: 32, options: table(6, i32(0, 1), i32(1, 6), i32(4, 8)) },
      MEAN: { code: 40, optionsType: 27, options: table(1, i8(0, 1)) },
      PAD: { code: 34 },
    };
    const m = dataModel();
    m.operatorCodes = Object.values(rows).map(({ code }) => ({ builtinCode: code }));
    m.subgraphs[0].operators = Object.values(rows).map(({ code, ...options }, opcodeIndex) => ({
      opcodeIndex,
      ...options,
      inputs: [0, -1],
      outputs: [0],
    }));
    const parsed = parseTflite(FILE, buildTflite(m));
    expect(parsed.subgraphs[0].operators.map((op) => [op.opcode, op.builtinOptionsType, op.options])).toEqual([
      [
        'CONV_2D',
        'Conv2DOptions',
        {
          kind: 'Conv2DOptions',
          padding: 'VALID',
          strideW: 2,
          strideH: 3,
          activation: 'RELU6',
          dilationW: 2,
          dilationH: 1,
        },
      ],
      [
        'DEPTHWISE_CONV_2D',
        'DepthwiseConv2DOptions',
        {
          kind: 'DepthwiseConv2DOptions',
          padding: 'SAME',
          strideW: 1,
          strideH: 1,
          depthMultiplier: 2,
          activation: 'RELU',
          dilationW: 1,
          dilationH: 4,
        },
      ],
      [
        'MAX_POOL_2D',
        'Pool2DOptions',
        {
          kind: 'Pool2DOptions',
          padding: 'SAME',
          strideW: 2,
          strideH: 2,
          filterWidth: 3,
          filterHeight: 5,
          activation: 'NONE',
        },
      ],
      [
        'TRANSPOSE_CONV',
        'TransposeConvOptions',
        { kind: 'TransposeConvOptions', padding: 'SAME', strideW: 2, strideH: 2, activation: 'TANH' },
      ],
      [
        'RESIZE_BILINEAR',
        'ResizeBilinearOptions',
        { kind: 'ResizeBilinearOptions', alignCorners: false, halfPixelCenters: true },
      ],
      ['MIRROR_PAD', 'MirrorPadOptions', { kind: 'MirrorPadOptions', mode: 'SYMMETRIC' }],
      [
        'FULLY_CONNECTED',
        'FullyConnectedOptions',
        {
          kind: 'FullyConnectedOptions',
          activation: 'RELU_N1_TO_1',
          weightsFormat: 'DEFAULT',
          keepNumDims: true,
          asymmetricQuantizeInputs: false,
        },
      ],
      ['RESHAPE', 'ReshapeOptions', { kind: 'ReshapeOptions', newShape: [1, -1] }],
      ['CONCATENATION', 'ConcatenationOptions', { kind: 'ConcatenationOptions', axis: -1, activation: 'RELU' }],
      [
        'STRIDED_SLICE',
        'StridedSliceOptions',
        {
          kind: 'StridedSliceOptions',
          beginMask: 1,
          endMask: 6,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 8,
          offset: false,
        },
      ],
      ['MEAN', 'ReducerOptions', { kind: 'ReducerOptions', keepDims: true }],
      // No table in the file: the schema defaults, as the TFLite runtime reads them.
      ['PAD', 'NONE', { kind: 'PadOptions' }],
    ]);
    expect(parsed.subgraphs[0].operators[0].inputs).toEqual([0, -1]);
  });

  it('rejects files that are not TFLite, naming the file', () => {
    const good = buildTflite(dataModel());
    expectError(
      buildTflite({ ...dataModel(), identifier: 'TFL2' }),
      /bytes 4..8 hold "TFL2", not the file identifier "TFL3"/,
    );
    expectError(new Uint8Array(5), /5 bytes is shorter than the 8-byte flatbuffer header/);
    expectError(new TextEncoder().encode('{"not": "a model"}'), /not the file identifier "TFL3"/);
    const onnx = readFileSync(join(modelsDir, 'fast-neural-style', 'candy.onnx')).subarray(0, 4096);
    expectError(onnx, /not a TFLite model/);
    expectError(buildTflite({ ...dataModel(), version: 2 }), /schema version 2 is not supported/);
    expect(parseTflite(FILE, good).version).toBe(3);
  });

  it('checks offsets, vtables and tables against the file', () => {
    const good = buildTflite(dataModel());
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    // Root offset past the end.
    const rootPast = good.slice();
    view(rootPast).setUint32(0, good.length + 12, true);
    expectError(rootPast, /root table offset: offset points to byte \d+, past the end/);
    // The root table's vtable (table position minus its soffset) outside the file.
    const root = view(good).getUint32(0, true);
    const badVtable = good.slice();
    view(badVtable).setInt32(root, -0x100000, true);
    expectError(badVtable, /Model \(vtable\): bytes \[\d+, \d+\) lie outside/);
    // A vtable entry pointing beyond the table's declared size.
    const vtable = root - view(good).getInt32(root, true);
    const badField = good.slice();
    view(badField).setUint16(vtable + 4 + 2 * 1, 0xfff0, true);
    expectError(badField, /Model: field 1 at table offset 65520 lies outside the \d+-byte table/);
    // A string whose NUL terminator was overwritten, and one that is not UTF-8.
    const at = Buffer.from(good).indexOf('built by tflite-builder');
    const unterminated = good.slice();
    unterminated[at + 'built by tflite-builder'.length] = 0x41;
    expectError(unterminated, /description: the string at byte \d+ is not NUL-terminated/);
    const notUtf8 = good.slice();
    notUtf8[at] = 0xff;
    expectError(notUtf8, /description: the string at byte \d+ is not valid UTF-8/);
    // Every strict prefix of the file is refused.
    for (const cut of [0, 7, 8, 64, good.length >> 1, good.length - 5]) {
      expectError(good.subarray(0, cut), /truncated|outside|shorter|identifier|past the end/);
    }
  });

  it('checks indices: opcodes, tensors, buffers, subgraph inputs and outputs', () => {
    expectError(
      withOperator({ opcodeIndex: 5, inputs: [0], outputs: [0] }),
      /subgraphs\[0\].operators\[0\]: opcode_index 5 is out of range \(the model has 1 operator codes\)/,
    );
    expectError(
      withOperator({ opcodeIndex: 0, inputs: [0, 50], outputs: [0] }),
      /operators\[0\] \(CONV_2D\) input refers to tensor 50, but the subgraph has 9 tensors/,
    );
    expectError(withOperator({ opcodeIndex: 0, inputs: [-2], outputs: [0] }), /input refers to tensor -2/);
    const m = dataModel();
    m.subgraphs[0].outputs = [9];
    expectError(buildTflite(m), /subgraphs\[0\] output refers to tensor 9/);
    expectError(
      withTensor(3, { buffer: 42 }),
      /tensors\[3\] \("half"\): buffer index 42 is out of range \(the model has 9 buffers\)/,
    );
    expectError(buildTflite({ ...dataModel(), subgraphs: [] }), /the model has no subgraphs/);
  });

  it('checks tensor byte counts, shapes and quantization parameters', () => {
    expectError(
      withTensor(3, { shape: [5] }),
      /tensors\[3\] \("half"\): shape \[5\] × FLOAT16 needs 10 bytes, but buffer 3 holds 8/,
    );
    expectError(withTensor(7, { shape: [2, 2] }), /shape \[2, 2\] × FLOAT32 needs 16 bytes, but buffer 7 holds 8/);
    expectError(withTensor(0, { shape: [1, -1] }), /tensors\[0\] \("act"\): shape \[1, -1\] has a negative dimension/);
    expectError(withTensor(7, { type: 42 }), /tensors\[7\].type: unknown value 42/);
    expectError(
      withTensor(1, { quantization: { scale: [1, 2, 3], zeroPoint: [0, 0, 0], quantizedDimension: 0 } }),
      /3 per-channel scales along quantized_dimension 0, but the shape is \[2, 1, 1, 2\]/,
    );
    expectError(
      withTensor(1, { quantization: { scale: [1, 2], zeroPoint: [0, 0], quantizedDimension: 7 } }),
      /along quantized_dimension 7/,
    );
    expectError(
      withTensor(1, { quantization: { scale: [1, 2], zeroPoint: [0], quantizedDimension: 0 } }),
      /2 quantization scales but 1 zero points/,
    );
  });

  it('checks builtin options: matching table, known union member, known enum values', () => {
    const conv = (optionsType: number, padding = 0) =>
      withOperator({
        opcodeIndex: 0,
        inputs: [0],
        outputs: [0],
        optionsType,
        options: (b) => {
          b.startObject(7);
          b.addFieldInt8(0, padding, 0);
          return b.endObject();
        },
      });
    expectError(
      conv(2),
      /operators\[0\] \(CONV_2D\) carries DepthwiseConv2DOptions; this operator's options table is Conv2DOptions/,
    );
    expectError(conv(200), /unknown builtin options type 200/);
    expectError(conv(1, 5), /builtin_options: padding: unknown value 5/);
  });

  it('caps the work on files whose offsets alias one table many times', () => {
    // 3000 subgraph entries all pointing at one subgraph whose 3000 tensor entries all point at one tensor:
    // 9 million tensor reads from a ~25 KB file, unless the reader notices.
    const b = new Builder(1 << 16);
    b.startObject(3);
    const buffer = b.endObject();
    const shape = int32Vector(b, [1]);
    b.startObject(10);
    b.addFieldOffset(0, shape, 0);
    const tensor = b.endObject();
    const tensors = offsetVector(b, new Array(3000).fill(tensor));
    b.startObject(5);
    b.addFieldOffset(0, tensors, 0);
    const subgraph = b.endObject();
    const subgraphs = offsetVector(b, new Array(3000).fill(subgraph));
    const buffers = offsetVector(b, [buffer]);
    b.startObject(8);
    b.addFieldInt32(0, 3, 0);
    b.addFieldOffset(2, subgraphs, 0);
    b.addFieldOffset(4, buffers, 0);
    b.finish(b.endObject(), 'TFL3');
    const bytes = b.asUint8Array().slice();
    expect(bytes.length).toBeLessThan(30_000);
    expectError(bytes, /references more tables and elements than its \d+ bytes can hold/);
  });

  it('reads from any ByteSource', async () => {
    const m = await readTflite(bytesSource('mem.tflite', buildTflite(dataModel())));
    expect(m.file).toBe('mem.tflite');
    await expect(readTflite(bytesSource('tiny.tflite', new Uint8Array(3)))).rejects.toThrow(
      /^tiny.tflite: not a TFLite/,
    );
  });
});
