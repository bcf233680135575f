/**
 * Core ML ML Programs: every op the exporter translates, written, encoded, decoded and interpreted, against the
 * traced run (float32: to rounding; float16: to fp16 precision); the interpreter on hand-built programs whose
 * results come from the MIL op definitions (not from our exporter); the written protobuf walked field by field
 * with field numbers taken from coremltools' Model.proto, FeatureTypes.proto and MIL.proto (a schema-free
 * wire walk, independent of our schema); the weight file against MILBlob's StorageFormat.hpp; and malformed
 * files refused with errors naming the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildManifest,
  CoreMLError,
  type CoreMLModel,
  decodeCoreMLModel,
  encodeCoreMLModel,
  immediateTensor,
  type MilOperation,
  rootModelPath,
  scalarString,
  tensorType,
} from '../../../core/io/coreml.js';
import { MIL_DTYPE } from '../../../core/io/coreml-schema.js';
import { MilBlobError } from '../../../core/io/mil-blob.js';
import { concatChunks } from '../../../core/io/onnx-wire.js';
import * as T from '../../../index.js';
import { traceGraph } from '../../../models/export/graph.js';
import { exportMil, MIL_EXPORTABLE_OPS, type MilExportOptions } from '../../../models/export/mil-export.js';
import { MilInterpreter } from '../../../models/export/mil-run.js';
import { packIndices } from '../../../models/export/palettize.js';
import { caseInputs, EXPORT_CASES, maxDiff } from './op-cases.js';

/** Export, encode, decode and load: what reading an .mlpackage back does, in memory. */
async function roundTrip(fn: (...xs: T.Tensor[]) => T.Tensor, xs: T.Tensor[], options: MilExportOptions) {
  const trace = await traceGraph(
    fn,
    xs.map((t, k) => ({ name: `x${k}`, tensor: t })),
    ['y'],
  );
  const exported = exportMil(trace.graph, options);
  const bytes = encodeCoreMLModel(exported.model);
  const weights = concatChunks(exported.weights);
  const { model, unknown } = decodeCoreMLModel('case.mlpackage', bytes);
  expect(unknown).toEqual([]);
  const interp = MilInterpreter.load('case.mlpackage', model, weights);
  const out = interp.run(Object.fromEntries(xs.map((t, k) => [`x${k}`, t])));
  const got = await out.y.data();
  out.y.dispose();
  interp.dispose();
  return { want: trace.outputs[0], got, graph: trace.graph, exported, bytes, weights };
}

describe('MIL export → interpreter, op by op', () => {
  beforeAll(async () => {
    await T.setBackend('js');
  });
  afterAll(() => {
    expect(T.memory().tensors).toBe(0);
  });
  const covered = new Set<string>();
  const cases = EXPORT_CASES.filter((c) => !c.onnxOnly);
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const xs = caseInputs(c);
    const f32 = await roundTrip(c.fn, xs, { precision: 'float32' });
    for (const n of f32.graph.nodes) covered.add(n.op);
    const a = maxDiff(f32.want, f32.got);
    expect(a.diff).toBeLessThanOrEqual(2e-5 * a.scale);
    const f16 = await roundTrip(c.fn, xs, { precision: 'float16' });
    const b = maxDiff(f16.want, f16.got);
    // fp16 has 11 significant bits: inputs, weights and every op result are rounded to it.
    expect(b.diff).toBeLessThanOrEqual(2e-2 * b.scale);
    T.dispose(xs);
  });

  it('the case table exercises every op the exporter translates', () => {
    expect([...MIL_EXPORTABLE_OPS].filter((op) => !covered.has(op))).toEqual([]);
  });

  it('palettized weights are the table entries the indices pick, exactly', async () => {
    const weight = T.tensor(
      Float32Array.from({ length: 8 * 4 * 9 * 9 }, (_, i) => Math.sin(i * 0.37) * 0.2),
      [8, 4, 9, 9],
    );
    const x = T.tensor(
      Float32Array.from({ length: 4 * 12 * 12 }, (_, i) => Math.cos(i * 0.1)),
      [1, 4, 12, 12],
    );
    const fn = (t: T.Tensor) => T.conv2d(t, weight, null, { padding: 4 });
    for (const bits of [4, 6, 8] as const) {
      const r = await roundTrip(fn, [x], { precision: 'float32', quantizeBits: bits });
      expect(r.exported.palettized).toHaveLength(1);
      const ops = r.exported.model.mlProgram?.functions?.main.block_specializations?.CoreML6.operations ?? [];
      const lut = ops.find((o) => o.type === 'constexpr_lut_to_dense') as MilOperation;
      expect(lut.attributes?.lut?.type?.tensorType?.dimensions?.map((d) => d.constant?.size)).toEqual([1 << bits]);
      // The oracle: the same conv on the weights the table reconstructs, computed directly.
      const { palettize } = await import('../../../models/export/palettize.js');
      const p = palettize(Float32Array.from(await weight.data()), bits, false);
      const dense = T.tensor(
        Float32Array.from(p.indices, (k) => p.lut[k]),
        [8, 4, 9, 9],
      );
      const y = T.conv2d(x, dense, null, { padding: 4 });
      const d = maxDiff(await y.data(), r.got);
      expect(d.diff).toBeLessThanOrEqual(1e-5 * d.scale);
      T.dispose([dense, y]);
    }
    T.dispose([x, weight]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Hand-built programs: expected values from coremltools' op definitions.

function program(
  inputs: { name: string; shape: number[] }[],
  ops: MilOperation[],
  outputs: { name: string; shape: number[] }[],
): CoreMLModel {
  return {
    specificationVersion: 7,
    description: {
      input: inputs.map((i) => ({ name: i.name, type: { multiArrayType: { shape: i.shape, dataType: 65568 } } })),
      output: outputs.map((o) => ({ name: o.name, type: { multiArrayType: { shape: o.shape, dataType: 65568 } } })),
    },
    mlProgram: {
      version: 1,
      functions: {
        main: {
          inputs: inputs.map((i) => ({ name: i.name, type: tensorType(MIL_DTYPE.FLOAT32, i.shape) })),
          opset: 'CoreML6',
          block_specializations: { CoreML6: { outputs: outputs.map((o) => o.name), operations: ops } },
        },
      },
    },
  };
}

const constOp = (name: string, dtype: number, shape: number[], values: number[] | string[]): MilOperation => ({
  type: 'const',
  outputs: [{ name, type: tensorType(dtype, shape) }],
  attributes: { name: scalarString(name), val: immediateTensor(dtype, shape, values) },
});
const op = (
  type: string,
  inputs: Record<string, string>,
  out: string,
  shape: number[],
  dtype: number = MIL_DTYPE.FLOAT32,
): MilOperation => ({
  type,
  inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, { arguments: [{ name: v }] }])),
  outputs: [{ name: out, type: tensorType(dtype, shape) }],
  attributes: { name: scalarString(out) },
});

async function runHand(
  model: CoreMLModel,
  feeds: Record<string, T.Tensor>,
  weights: Uint8Array | null = null,
): Promise<number[]> {
  const decoded = decodeCoreMLModel('hand.mlpackage', encodeCoreMLModel(model)).model;
  const interp = MilInterpreter.load('hand.mlpackage', decoded, weights);
  const out = interp.run(feeds);
  const y = Array.from(await Object.values(out)[0].data());
  T.dispose(Object.values(out));
  interp.dispose();
  return y;
}

describe('MIL interpreter on hand-built programs', () => {
  beforeAll(async () => {
    await T.setBackend('js');
  });
  const I = MIL_DTYPE.INT32;

  it('pad pads the last N dimensions, (before, after) pairs in order; reflect mirrors without the edge', async () => {
    const x = T.tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const m = program(
      [{ name: 'x', shape: [1, 2, 3] }],
      [
        constOp('p', I, [4], [0, 1, 2, 0]),
        constOp('mode', MIL_DTYPE.STRING, [], ['reflect']),
        op('pad', { x: 'x', pad: 'p', mode: 'mode' }, 'y', [1, 3, 5]),
      ],
      [{ name: 'y', shape: [1, 3, 5] }],
    );
    // rows: [3 2 1 2 3], [6 5 4 5 6], then one reflected row after (the first row again).
    expect(await runHand(m, { x })).toEqual([3, 2, 1, 2, 3, 6, 5, 4, 5, 6, 3, 2, 1, 2, 3]);
    x.dispose();
  });

  it('conv with pad_type custom takes [top, bottom, left, right]', async () => {
    const x = T.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const m = program(
      [{ name: 'x', shape: [1, 1, 2, 2] }],
      [
        constOp('w', MIL_DTYPE.FLOAT32, [1, 1, 1, 1], [10]),
        constOp('strides', I, [2], [1, 1]),
        constOp('pt', MIL_DTYPE.STRING, [], ['custom']),
        constOp('pad', I, [4], [1, 0, 0, 1]),
        op('conv', { x: 'x', weight: 'w', strides: 'strides', pad_type: 'pt', pad: 'pad' }, 'y', [1, 1, 3, 3]),
      ],
      [{ name: 'y', shape: [1, 1, 3, 3] }],
    );
    expect(await runHand(m, { x })).toEqual([0, 0, 0, 10, 20, 0, 30, 40, 0]);
    x.dispose();
  });

  it('upsample_nearest_neighbor repeats rows and columns; slice_by_index honours its masks', async () => {
    const x = T.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const m = program(
      [{ name: 'x', shape: [1, 1, 2, 2] }],
      [
        constOp('s', MIL_DTYPE.FLOAT32, [], [2]),
        op(
          'upsample_nearest_neighbor',
          { x: 'x', scale_factor_height: 's', scale_factor_width: 's' },
          'u',
          [1, 1, 4, 4],
        ),
        constOp('b', I, [4], [0, 0, 1, 9]),
        constOp('e', I, [4], [1, 1, 4, -1]),
        constOp('st', I, [4], [1, 1, 2, 1]),
        constOp('bm', MIL_DTYPE.BOOL, [4], [0, 0, 0, 1]),
        op('slice_by_index', { x: 'u', begin: 'b', end: 'e', stride: 'st', begin_mask: 'bm' }, 'y', [1, 1, 2, 3]),
      ],
      [{ name: 'y', shape: [1, 1, 2, 3] }],
    );
    // upsampled rows 1 and 3 are [1 1 2 2] and [3 3 4 4]; columns from 0 (begin masked) to -1 (exclusive).
    expect(await runHand(m, { x })).toEqual([1, 1, 2, 3, 3, 4]);
    x.dispose();
  });

  it('constexpr_lut_to_dense expands a packed table (inputs as attributes, as iOS 16 serialises them)', async () => {
    const x = T.tensor([1, 1, 1, 1, 1], [5]);
    const lutOp: MilOperation = {
      type: 'constexpr_lut_to_dense',
      outputs: [{ name: 'w', type: tensorType(MIL_DTYPE.FLOAT16, [5]) }],
      attributes: {
        name: scalarString('w'),
        lut: immediateTensor(MIL_DTYPE.FLOAT16, [4], [0.5, -1, 2, 4]),
        indices: immediateTensor(MIL_DTYPE.UINT8, [2], Array.from(packIndices(Uint8Array.from([0, 3, 2, 1, 3]), 2))),
        shape: immediateTensor(MIL_DTYPE.UINT32, [1], [5]),
      },
    };
    const m = program(
      [{ name: 'x', shape: [5] }],
      [lutOp, op('mul', { x: 'x', y: 'w' }, 'y', [5], MIL_DTYPE.FLOAT32)],
      [{ name: 'y', shape: [5] }],
    );
    expect(await runHand(m, { x })).toEqual([0.5, 4, 2, -1, 4]);
    x.dispose();
  });

  it('refuses ops it does not run, unknown parameters, undefined names and literal bindings, naming them', () => {
    const bad = (ops: MilOperation[]) => () =>
      MilInterpreter.load(
        'bad.mlpackage',
        program([{ name: 'x', shape: [2] }], ops, [{ name: 'y', shape: [2] }]),
        null,
      );
    expect(bad([op('fft', { x: 'x' }, 'y', [2])])).toThrow(
      /bad\.mlpackage: op 0 is "fft", which this interpreter does not run/,
    );
    expect(bad([op('relu', { x: 'x', alpha: 'x' }, 'y', [2])])).toThrow(/relu op "y" has an unknown parameter "alpha"/);
    expect(bad([op('relu', { x: 'z' }, 'y', [2])])).toThrow(/"z" \(parameter x\) is used before it is defined/);
    const literal: MilOperation = {
      ...op('relu', {}, 'y', [2]),
      inputs: { x: { arguments: [{ value: immediateTensor(MIL_DTYPE.FLOAT32, [2], [1, 2]) }] } },
    };
    expect(bad([literal])).toThrow(/binds a literal value/);
    expect(bad([op('relu', { x: 'x' }, 'q', [2])])).toThrow(/block output "y" is never defined/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The written bytes, checked without our schema.

interface WireField {
  readonly no: number;
  readonly wire: number;
  readonly value: number | Uint8Array;
}

/** Every top-level field of a protobuf message: number, wire type and value (varints as numbers). */
function walk(bytes: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let p = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[p++];
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
      mul *= 128;
    }
  };
  while (p < bytes.length) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = varint();
      out.push({ no, wire, value: bytes.subarray(p, p + len) });
      p += len;
    } else if (wire === 5) {
      out.push({ no, wire, value: bytes.subarray(p, p + 4) });
      p += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  expect(p).toBe(bytes.length);
  return out;
}

const one = (fields: WireField[], no: number): WireField => {
  const f = fields.filter((x) => x.no === no);
  expect(f, `field ${no}`).toHaveLength(1);
  return f[0];
};
const text = (f: WireField) => new TextDecoder().decode(f.value as Uint8Array);
const sub = (f: WireField) => walk(f.value as Uint8Array);
/** map<string, M> entries: key (1) → value (2) fields. */
const mapOf = (fields: WireField[], no: number) =>
  new Map(fields.filter((f) => f.no === no).map((f) => [text(one(sub(f), 1)), sub(one(sub(f), 2))]));

describe('the written protobuf, field by field (numbers from coremltools mlmodel/format/*.proto)', () => {
  it('a traced conv network has the ML Program structure Core ML reads', async () => {
    await T.setBackend('js');
    const w = T.tensor(
      Float32Array.from({ length: 2 * 3 * 9 }, (_, i) => Math.sin(i)),
      [2, 3, 3, 3],
    );
    const b = T.tensor([0.5, -0.5], [2]);
    const x = T.tensor(
      Float32Array.from({ length: 3 * 6 * 5 }, (_, i) => Math.cos(i)),
      [1, 3, 6, 5],
    );
    const { graph } = await traceGraph(
      (t) => T.relu(T.conv2d(t, w, b, { padding: 1 })),
      [{ name: 'image', tensor: x }],
      ['out'],
    );
    const exported = exportMil(graph, { metadata: { author: 'test', userDefined: { k: 'v' } } });
    const model = walk(encodeCoreMLModel(exported.model));
    // Model: specificationVersion = 1 (7: iOS 16), description = 2, mlProgram = 502.
    expect(one(model, 1).value).toBe(7);
    const description = sub(one(model, 2));
    const program = sub(one(model, 502));
    expect(model.map((f) => f.no).sort((p, q) => p - q)).toEqual([1, 2, 502]);
    // ModelDescription: input = 1, output = 10, metadata = 100.
    const input = sub(one(description, 1));
    expect(text(one(input, 1))).toBe('image'); // FeatureDescription.name = 1
    const inputArray = sub(one(sub(one(input, 3)), 5)); // FeatureDescription.type = 3, FeatureType.multiArrayType = 5
    // ArrayFeatureType.shape = 1 (packed int64: one varint per dimension), dataType = 2 (FLOAT32 = 65568).
    const packed = one(inputArray, 1).value as Uint8Array;
    expect(walk(Uint8Array.from([...packed].flatMap((b) => [0x08, b]))).map((f) => f.value)).toEqual([1, 3, 6, 5]);
    expect(one(inputArray, 2).value).toBe(65568);
    expect(text(one(sub(one(description, 10)), 1))).toBe('out');
    const metadata = sub(one(description, 100));
    expect(text(one(metadata, 3))).toBe('test'); // Metadata.author = 3
    expect(text(one(sub(one(metadata, 100)), 1))).toBe('k'); // userDefined = 100, map entry key = 1
    // Program: version = 1, functions = 2 (map), function "main".
    expect(one(program, 1).value).toBe(1);
    const main = mapOf(program, 2).get('main') as WireField[];
    // Function: inputs = 1, opset = 2, block_specializations = 3.
    expect(text(one(sub(one(main, 1)), 1))).toBe('image');
    expect(text(one(main, 2))).toBe('CoreML6');
    const block = mapOf(main, 3).get('CoreML6') as WireField[];
    // Block: outputs = 2, operations = 3.
    expect(text(one(block, 2))).toBe('out');
    const ops = block.filter((f) => f.no === 3).map(sub);
    const types = ops.map((o) => text(one(o, 1))); // Operation.type = 1
    expect(types).toContain('conv');
    expect(types.filter((t) => t === 'cast')).toHaveLength(2); // fp32 → fp16 in, fp16 → fp32 out
    const defined = new Set(['image']);
    for (const o of ops) {
      // Operation.inputs = 2: map<string, Argument>; Argument.arguments = 1; Binding.name = 1.
      for (const arg of mapOf(o, 2).values()) {
        for (const binding of arg.filter((f) => f.no === 1).map(sub))
          expect(defined.has(text(one(binding, 1)))).toBe(true);
      }
      // Operation.outputs = 3: NamedValueType{name = 1, type = 2 → ValueType.tensorType = 1}.
      const output = sub(one(o, 3));
      defined.add(text(one(output, 1)));
      const tensor = sub(one(sub(one(output, 2)), 1));
      expect([10, 11, 23, 2, 1]).toContain(one(tensor, 1).value); // TensorType.dataType = 1
      // Operation.attributes = 5: every op carries its name.
      expect(mapOf(o, 5).has('name')).toBe(true);
      if (text(one(o, 1)) === 'const') {
        // Value: type = 2, and immediateValue = 3 or blobFileValue = 5 {fileName = 1, offset = 2}.
        const val = mapOf(o, 5).get('val') as WireField[];
        const blob = val.find((f) => f.no === 5);
        if (blob) {
          const fields = sub(blob);
          expect(text(one(fields, 1))).toBe('@model_path/weights/weight.bin');
          expect((one(fields, 2).value as number) % 64).toBe(0);
        } else expect(val.some((f) => f.no === 3)).toBe(true);
      }
    }
    T.dispose([w, b, x]);
  });

  it('weight.bin follows StorageFormat.hpp: header, 64-byte aligned blobs with 0xDEADBEEF metadata', async () => {
    const w = T.tensor(
      Float32Array.from({ length: 40 }, (_, i) => i / 8),
      [4, 10],
    );
    const x = T.tensor(
      Float32Array.from({ length: 20 }, (_, i) => i),
      [2, 10],
    );
    const { graph } = await traceGraph((t) => T.matmul(t, w, { transposeB: true }), [{ name: 'x', tensor: x }], ['y']);
    const { weights } = exportMil(graph, {});
    const bin = concatChunks(weights);
    const v = new DataView(bin.buffer);
    expect(v.getUint32(0, true)).toBe(1); // count
    expect(v.getUint32(4, true)).toBe(2); // version
    expect(v.getUint32(64, true)).toBe(0xdeadbeef); // first blob's metadata at 64
    expect(v.getUint32(68, true)).toBe(1); // Float16
    expect(Number(v.getBigUint64(72, true))).toBe(80); // 40 fp16 values
    expect(Number(v.getBigUint64(80, true))).toBe(128); // data right after the metadata
    expect(T.f16ArrayToF32(new Uint16Array(bin.buffer.slice(128, 208)))[9]).toBe(9 / 8);
    T.dispose([w, x]);
  });

  it('Manifest.json names the model and weights items; its root model path is read back', () => {
    let n = 0;
    const manifest = buildManifest(() => `00000000-0000-0000-0000-00000000000${n++}`);
    const parsed = JSON.parse(manifest);
    expect(parsed.fileFormatVersion).toBe('1.0.0');
    expect(parsed.rootModelIdentifier).toBe('00000000-0000-0000-0000-000000000000');
    expect(parsed.itemInfoEntries['00000000-0000-0000-0000-000000000001']).toEqual({
      author: 'com.apple.CoreML',
      description: 'CoreML Model Weights',
      name: 'weights',
      path: 'com.apple.CoreML/weights',
    });
    expect(rootModelPath('m.mlpackage', manifest)).toBe('com.apple.CoreML/model.mlmodel');
    expect(() => rootModelPath('m.mlpackage', '{')).toThrow(/m\.mlpackage: Manifest\.json is not valid JSON/);
    const escaping = manifest.replace('com.apple.CoreML/model.mlmodel', '../../etc/passwd');
    expect(() => rootModelPath('m.mlpackage', escaping)).toThrow(/does not name an item with a relative path/);
  });
});

describe('malformed Core ML files', () => {
  it('refuse with errors that name the file', async () => {
    await T.setBackend('js');
    const x = T.tensor(
      Float32Array.from({ length: 24 }, (_, i) => i),
      [2, 12],
    );
    const w = T.tensor(
      Float32Array.from({ length: 36 }, (_, i) => i),
      [3, 12],
    );
    const { graph } = await traceGraph((t) => T.matmul(t, w, { transposeB: true }), [{ name: 'x', tensor: x }], ['y']);
    const { model, weights } = exportMil(graph, {});
    const bytes = encodeCoreMLModel(model);
    const bin = concatChunks(weights);
    for (const cut of [3, Math.floor(bytes.length / 2), bytes.length - 1]) {
      expect(() => decodeCoreMLModel('cut.mlpackage', bytes.subarray(0, cut))).toThrow(
        /^cut\.mlpackage: malformed Core ML model at byte \d+/,
      );
    }
    const decoded = decodeCoreMLModel('m.mlpackage', bytes).model;
    expect(() => MilInterpreter.load('m.mlpackage', decoded, null)).toThrow(
      /weights\/weight\.bin, which the package does not have/,
    );
    const broken = bin.slice();
    broken[64] ^= 0xff;
    expect(() => MilInterpreter.load('m.mlpackage', decoded, broken)).toThrow(MilBlobError);
    expect(() => MilInterpreter.load('m.mlpackage', decoded, bin.subarray(0, 100))).toThrow(/runs past the end/);
    expect(() => MilInterpreter.load('m.mlpackage', { ...decoded, mlProgram: undefined }, bin)).toThrow(CoreMLError);
    expect(() => MilInterpreter.load('m.mlpackage', { ...decoded, specificationVersion: 4 }, bin)).toThrow(
      /specification version 4/,
    );
    T.dispose([x, w]);
  });
});
