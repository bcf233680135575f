/**
 * The ONNX reader against independent facts: the fast-neural-style README's contract and op counts, the
 * shared README's parameter count, SHA256SUMS (so the facts are about the intended files), and onnx-proto —
 * a separately generated protobuf decoder — for every node, attribute and initializer byte. Crafted models
 * (encoded with onnx-proto) cover the typed data fields, conversions and every validation error.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { f32ToF16Bits } from '../../../core/dtype.js';
import { bytesSource } from '../../../core/io/bytes.js';
import {
  nodeAttr,
  OnnxError,
  type OnnxModel,
  opsetVersion,
  type ParseOnnxOptions,
  parseOnnx,
  readOnnx,
} from '../../../core/io/onnx.js';
import { openFileSource } from '../../../node/io/file-source.js';
import { documentedCounts, expectReaderError, modelsDir } from '../../helpers/model-files.js';

const { onnx } = onnxProto;

const styleDir = join(modelsDir, 'fast-neural-style');
const STYLES = ['candy', 'mosaic', 'pointilism', 'rain-princess', 'udnie'];

function sha256sums(dir: string): Map<string, string> {
  const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n');
  return new Map(lines.map((l) => l.split(/\s+/)).map(([hash, name]) => [name, hash]));
}

function opCounts(model: OnnxModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

const FILE = 'crafted.onnx';

/** A model encoded by onnx-proto (protobufjs 6, generated from onnx.proto): an independent encoder. */
function encode(model: Record<string, unknown>): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}

const f32Input = (name: string, dims: (number | string)[]) => ({
  name,
  type: {
    tensorType: {
      elemType: 1,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

/** A one-node model (Identity of `x`), plus whatever initializers, nodes and outputs a test adds. */
function model(extra: { initializer?: unknown[]; node?: unknown[]; output?: unknown[]; input?: unknown[] } = {}) {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'test',
    graph: {
      name: 'g',
      input: extra.input ?? [f32Input('x', [1, 'n'])],
      initializer: extra.initializer ?? [],
      node: extra.node ?? [{ opType: 'Identity', input: ['x'], output: ['y'], name: 'id' }],
      output: extra.output ?? [f32Input('y', [1, 'n'])],
    },
  };
}

function parse(m: Record<string, unknown>, options?: ParseOnnxOptions): OnnxModel {
  return parseOnnx(FILE, encode(m), options);
}

function expectError(bytes: Uint8Array, pattern: RegExp, options?: ParseOnnxOptions): OnnxError {
  return expectReaderError(OnnxError, FILE, () => parseOnnx(FILE, bytes, options), pattern);
}

const rawOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

describe('fast-neural-style ONNX files (README contract)', () => {
  const sums = sha256sums(styleDir);

  it.each(STYLES)('%s.onnx is the file SHA256SUMS names', (style) => {
    const bytes = readFileSync(join(styleDir, `${style}.onnx`));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sums.get(`${style}.onnx`));
  });

  it.each(STYLES)('%s.onnx: I/O contract, opset, op counts, parameter count', async (style) => {
    const source = await openFileSource(join(styleDir, `${style}.onnx`));
    let m: OnnxModel;
    try {
      m = await readOnnx(source);
    } finally {
      await source.close?.();
    }
    expect(m.file).toBe(join(styleDir, `${style}.onnx`));
    expect(m.irVersion).toBe(7);
    expect(m.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expect(opsetVersion(m)).toBe(13);
    expect(opsetVersion(m, 'ai.onnx')).toBe(13);
    expect(opsetVersion(m, 'com.microsoft')).toBeUndefined();
    // README: input `input` float32 [1, 3, height, width] (symbolic), output `output` [1, 3, out_h, out_w].
    expect(m.graph.inputs).toEqual([{ name: 'input', elemType: 'FLOAT', shape: [1, 3, 'height', 'width'] }]);
    expect(m.graph.outputs).toHaveLength(1);
    expect(m.graph.outputs[0].name).toBe('output');
    expect(m.graph.outputs[0].elemType).toBe('FLOAT');
    expect(m.graph.outputs[0].shape?.slice(0, 2)).toEqual([1, 3]);
    expect(m.graph.outputs[0].shape?.slice(2).every((d) => typeof d === 'string')).toBe(true);
    // README: "Pad 16, Conv 16, InstanceNormalization 15, Relu 10, Add 5, Resize 2" (64 nodes).
    expect(opCounts(m)).toEqual({ Pad: 16, Conv: 16, InstanceNormalization: 15, Relu: 10, Add: 5, Resize: 2 });
    expect(m.graph.nodes.every((n) => n.domain === '')).toBe(true);
    // Shared README: 1,679,235 parameters = the Conv and InstanceNormalization weights, each counted once.
    const byName = new Map(m.graph.initializers.map((t) => [t.name, t]));
    const params = new Set<string>();
    for (const n of m.graph.nodes) {
      if (n.opType === 'Conv' || n.opType === 'InstanceNormalization') {
        for (const input of n.inputs.slice(1)) params.add(input);
      }
    }
    let count = 0;
    for (const name of params) {
      const t = byName.get(name);
      expect(t?.dtype).toBe('f32');
      count += t?.data.length ?? 0;
    }
    expect(count).toBe(1_679_235);
  });

  it.each(STYLES)('docs/model-operators.md lists the operators of %s.onnx', (style) => {
    const m = parseOnnx(style, new Uint8Array(readFileSync(join(styleDir, `${style}.onnx`))));
    expect(documentedCounts(`${style}.onnx`)).toEqual(opCounts(m));
  });

  it('attributes: reflect padding, unpadded convolutions, eps 1e-5, nearest x2 asymmetric/floor Resize', () => {
    const m = parseOnnx('candy.onnx', new Uint8Array(readFileSync(join(styleDir, 'candy.onnx'))));
    const init = new Map(m.graph.initializers.map((t) => [t.name, t]));
    const pads = new Set<string>();
    for (const n of m.graph.nodes) {
      switch (n.opType) {
        case 'Pad': {
          expect(nodeAttr(m, n, 'mode', 'string')).toBe('reflect');
          const t = init.get(n.inputs[1]);
          // INT64 pads in the file, i32 after conversion; [x1_begin.. , x1_end..] per ONNX Pad-13.
          expect(t?.fileDType).toBe('INT64');
          expect(t?.dtype).toBe('i32');
          pads.add(Array.from(t?.data ?? []).join(','));
          break;
        }
        case 'Conv':
          expect(nodeAttr(m, n, 'pads', 'ints')).toEqual([0, 0, 0, 0]);
          expect(nodeAttr(m, n, 'group', 'int', 1)).toBe(1);
          expect([1, 2]).toContain(nodeAttr(m, n, 'strides', 'ints')[0]);
          break;
        case 'InstanceNormalization':
          expect(nodeAttr(m, n, 'epsilon', 'float')).toBe(Math.fround(1e-5));
          break;
        case 'Resize': {
          expect(nodeAttr(m, n, 'mode', 'string')).toBe('nearest');
          expect(nodeAttr(m, n, 'coordinate_transformation_mode', 'string')).toBe('asymmetric');
          expect(nodeAttr(m, n, 'nearest_mode', 'string')).toBe('floor');
          expect(n.inputs[1]).toBe(''); // roi omitted
          expect(Array.from(init.get(n.inputs[2])?.data ?? [])).toEqual([1, 1, 2, 2]);
          break;
        }
      }
    }
    expect([...pads].sort()).toEqual(['0,0,1,1,0,0,1,1', '0,0,4,4,0,0,4,4']);
  });

  it('agrees with onnx-proto (an independent decoder) on every node, attribute and initializer byte', () => {
    for (const style of ['candy', 'udnie']) {
      const bytes = new Uint8Array(readFileSync(join(styleDir, `${style}.onnx`)));
      const ours = parseOnnx(style, bytes);
      const ref = onnx.ModelProto.decode(bytes);
      const g = ref.graph;
      if (!g?.node || !g.initializer) throw new Error('onnx-proto found no graph');
      expect(ours.graph.nodes).toHaveLength(g.node.length);
      g.node.forEach((rn, i) => {
        const attributes = rn.attribute ?? [];
        const n = ours.graph.nodes[i];
        expect([n.name, n.opType, n.domain]).toEqual([rn.name, rn.opType, rn.domain]);
        expect(n.inputs).toEqual(rn.input);
        expect(n.outputs).toEqual(rn.output);
        expect(n.attrs.size).toBe(attributes.length);
        for (const ra of attributes) {
          const a = n.attrs.get(ra.name ?? '');
          switch (ra.type) {
            case onnx.AttributeProto.AttributeType.FLOAT:
              expect(a).toEqual({ type: 'float', value: ra.f });
              break;
            case onnx.AttributeProto.AttributeType.INT:
              expect(a).toEqual({ type: 'int', value: Number(ra.i) });
              break;
            case onnx.AttributeProto.AttributeType.STRING:
              expect(a).toEqual({ type: 'string', value: new TextDecoder().decode(ra.s ?? new Uint8Array()) });
              break;
            case onnx.AttributeProto.AttributeType.INTS:
              expect(a).toEqual({ type: 'ints', value: (ra.ints ?? []).map(Number) });
              break;
            default:
              throw new Error(`unexpected attribute type ${ra.type} in ${style}`);
          }
        }
      });
      expect(ours.graph.initializers.map((t) => t.name)).toEqual(g.initializer.map((t) => t.name));
      g.initializer.forEach((rt, i) => {
        const t = ours.graph.initializers[i];
        expect(t.shape).toEqual((rt.dims ?? []).map(Number));
        const raw = rt.rawData ?? new Uint8Array();
        // Buffer#equals: vitest's deep equality walks megabyte arrays element by element, far too slowly.
        if (rt.dataType === onnx.TensorProto.DataType.FLOAT) expect(Buffer.from(rawOf(t.data)).equals(raw)).toBe(true);
        else {
          expect(rt.dataType).toBe(onnx.TensorProto.DataType.INT64);
          const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
          const values = Array.from({ length: raw.length / 8 }, (_, k) => Number(view.getBigInt64(8 * k, true)));
          expect(Array.from(t.data)).toEqual(values);
        }
      });
    }
  });

  it('the five styles share one graph and differ only in weights', () => {
    const models = STYLES.map((s) => parseOnnx(s, new Uint8Array(readFileSync(join(styleDir, `${s}.onnx`)))));
    const shape = (m: OnnxModel) =>
      m.graph.nodes.map((n) => [n.opType, n.inputs, n.outputs, [...n.attrs.entries()]] as const);
    for (const m of models.slice(1)) {
      expect(shape(m)).toEqual(shape(models[0]));
      const a = m.graph.initializers.find((t) => t.name === 'conv64.weight');
      const b = models[0].graph.initializers.find((t) => t.name === 'conv64.weight');
      expect(a?.shape).toEqual([32, 3, 9, 9]);
      expect(Buffer.from(rawOf(a?.data ?? new Uint8Array())).equals(rawOf(b?.data ?? new Uint8Array()))).toBe(false);
    }
  });
});

describe('parseOnnx on crafted models', () => {
  it('reads graph I/O shapes: sizes, symbolic names, unknown dims and unknown rank', () => {
    const m = parse(
      model({
        input: [
          f32Input('x', [1, 'batch']),
          { name: 'noshape', type: { tensorType: { elemType: 7 } } },
          { name: 'blank', type: { tensorType: { elemType: 10, shape: { dim: [{}, { dimValue: 0 }] } } } },
        ],
      }),
    );
    expect(m.graph.inputs).toEqual([
      { name: 'x', elemType: 'FLOAT', shape: [1, 'batch'] },
      { name: 'noshape', elemType: 'INT64', shape: null },
      { name: 'blank', elemType: 'FLOAT16', shape: [null, 0] },
    ]);
    expect(m.producerName).toBe('test');
    expect(m.irVersion).toBe(8);
  });

  it('keeps metadata_props as own properties, the last of a repeated key winning', () => {
    const m = parse({
      ...model(),
      metadataProps: [
        { key: 'author', value: 'a' },
        { key: '__proto__', value: 'p' },
        { key: 'author', value: 'b' },
      ],
    });
    expect(Object.keys(m.metadata)).toEqual(['author', '__proto__']);
    expect(m.metadata.author).toBe('b');
    expect(Object.getOwnPropertyDescriptor(m.metadata, '__proto__')?.value).toBe('p');
  });

  it('converts raw_data of every supported type to the core dtype', () => {
    const i64 = new BigInt64Array([-5n, 7n, 2147483647n]);
    const cases: [number, Uint8Array, number[], string, string][] = [
      [1, rawOf(new Float32Array([1.5, -2])), [1.5, -2], 'f32', 'FLOAT'],
      [11, rawOf(new Float64Array([0.1, -3])), [0.1, -3], 'f64', 'DOUBLE'],
      [10, rawOf(new Uint16Array([f32ToF16Bits(1), f32ToF16Bits(-2.5)])), [0x3c00, 0xc100], 'f16', 'FLOAT16'],
      [16, rawOf(new Uint16Array([0x3fc0, 0xc000])), [1.5, -2], 'f32', 'BFLOAT16'],
      [2, new Uint8Array([0, 255]), [0, 255], 'u8', 'UINT8'],
      [9, new Uint8Array([0, 2]), [0, 1], 'u8', 'BOOL'],
      [3, new Uint8Array([0x80, 0x7f]), [-128, 127], 'i32', 'INT8'],
      [5, rawOf(new Int16Array([-32768, 5])), [-32768, 5], 'i32', 'INT16'],
      [4, rawOf(new Uint16Array([65535, 5])), [65535, 5], 'i32', 'UINT16'],
      [6, rawOf(new Int32Array([-7, 9])), [-7, 9], 'i32', 'INT32'],
      [12, rawOf(new Uint32Array([7, 2147483647])), [7, 2147483647], 'i32', 'UINT32'],
      [13, rawOf(new BigUint64Array([0n, 42n])), [0, 42], 'i32', 'UINT64'],
      [7, rawOf(i64), [-5, 7, 2147483647], 'i32', 'INT64'],
    ];
    for (const [dataType, rawData, values, dtype, fileDType] of cases) {
      const n = values.length;
      const m = parse(model({ initializer: [{ name: 'w', dims: [n], dataType, rawData }] }));
      const t = m.graph.initializers[0];
      expect([t.name, t.dtype, t.fileDType, t.shape]).toEqual(['w', dtype, fileDType, [n]]);
      expect(Array.from(t.data)).toEqual(values);
    }
  });

  it('reads the typed fields (float_data, int32_data, int64_data, double_data, uint64_data)', () => {
    const cases: [Record<string, unknown>, number[], string][] = [
      [{ dataType: 1, floatData: [0.5, -1] }, [0.5, -1], 'f32'],
      [{ dataType: 11, doubleData: [0.1, 2] }, [0.1, 2], 'f64'],
      [{ dataType: 7, int64Data: [-3, 4] }, [-3, 4], 'i32'],
      [{ dataType: 6, int32Data: [-3, 4] }, [-3, 4], 'i32'],
      [{ dataType: 3, int32Data: [-128, 127] }, [-128, 127], 'i32'],
      [{ dataType: 2, int32Data: [0, 255] }, [0, 255], 'u8'],
      [{ dataType: 9, int32Data: [0, 1] }, [0, 1], 'u8'],
      // FLOAT16 and BFLOAT16 travel as their bit patterns in int32_data.
      [{ dataType: 10, int32Data: [0x3c00, 0xc100] }, [0x3c00, 0xc100], 'f16'],
      [{ dataType: 16, int32Data: [0x3fc0, 0xc000] }, [1.5, -2], 'f32'],
      [{ dataType: 12, uint64Data: [1, 2] }, [1, 2], 'i32'],
    ];
    for (const [fields, values, dtype] of cases) {
      const m = parse(model({ initializer: [{ name: 'w', dims: [2], ...fields }] }));
      expect(m.graph.initializers[0].dtype).toBe(dtype);
      expect(Array.from(m.graph.initializers[0].data)).toEqual(values);
    }
    // A scalar (no dims) holds one element.
    const s = parse(model({ initializer: [{ name: 's', dataType: 1, floatData: [3] }] }));
    expect(s.graph.initializers[0].shape).toEqual([]);
    expect(Array.from(s.graph.initializers[0].data)).toEqual([3]);
  });

  it('refuses INT64 values outside i32 unless asked to saturate', () => {
    const rawData = rawOf(new BigInt64Array([9223372036854775807n, -9223372036854775808n, 1n]));
    const m = model({ initializer: [{ name: 'ends', dims: [3], dataType: 7, rawData }] });
    expectError(encode(m), /initializer "ends": INT64 element 0 is 9223372036854776000.*saturate/);
    const sat = parse(m, { int64: 'saturate' });
    expect(Array.from(sat.graph.initializers[0].data)).toEqual([2147483647, -2147483648, 1]);
    expectError(
      encode(
        model({ initializer: [{ name: 'u', dims: [1], dataType: 12, rawData: rawOf(new Uint32Array([2 ** 31])) }] }),
      ),
      /UINT32 element 0 is 2147483648/,
    );
  });

  it('checks the data size against shape x dtype', () => {
    const bad = (fields: Record<string, unknown>) => encode(model({ initializer: [{ name: 'w', ...fields }] }));
    expectError(
      bad({ dims: [2, 2], dataType: 1, rawData: new Uint8Array(12) }),
      /initializer "w": shape \[2, 2\] × FLOAT \(4 bytes\) needs 16 bytes of raw_data, but the file holds 12/,
    );
    expectError(
      bad({ dims: [3], dataType: 1, floatData: [1, 2] }),
      /shape \[3\] holds 3 elements, but float_data has 2/,
    );
    expectError(bad({ dims: [2], dataType: 1 }), /needs 8 bytes of raw_data, but the file holds 0/);
    expectError(
      bad({ dims: [1], dataType: 1, floatData: [1], rawData: new Uint8Array(4) }),
      /both raw_data and float_data/,
    );
    expectError(
      bad({ dims: [1], dataType: 1, int64Data: [1] }),
      /FLOAT data belongs in raw_data or float_data.*int64_data/,
    );
    expectError(
      bad({ dims: [2], dataType: 2, int32Data: [1, 256] }),
      /element 1 of UINT8 data is 256, outside \[0, 255\]/,
    );
    expectError(bad({ dims: [-1], dataType: 1 }), /invalid dimension -1/);
    expectError(
      bad({ dims: [1], dataType: 8, stringData: [new Uint8Array([104])] }),
      /STRING, which this reader does not/,
    );
    expectError(bad({ dims: [1], dataType: 99 }), /unknown data type 99/);
    expectError(bad({ dims: [1] }), /no data type \(UNDEFINED\)/);
  });

  it('refuses external data with a fix', () => {
    const err = expectError(
      encode(
        model({
          initializer: [
            { name: 'w', dims: [4], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] },
          ],
        }),
      ),
      /initializer "w" keeps its data in an external file \("w.bin"\)/,
    );
    expect(err.message).toMatch(/save_as_external_data=False/);
  });

  it('checks that every node input is defined before use and every output is produced', () => {
    expectError(
      encode(model({ node: [{ opType: 'Relu', input: ['nope'], output: ['y'], name: 'r' }] })),
      /node 0 \("r", Relu\) reads "nope", which is not a graph input, an initializer or the output of an earlier node/,
    );
    // Out of topological order: b is used before the node that makes it.
    expectError(
      encode(
        model({
          node: [
            { opType: 'Relu', input: ['b'], output: ['y'], name: 'second' },
            { opType: 'Relu', input: ['x'], output: ['b'], name: 'first' },
          ],
        }),
      ),
      /node 0 \("second", Relu\) reads "b"/,
    );
    expectError(encode(model({ output: [f32Input('z', [1])] })), /graph output "z" is not produced/);
    expectError(
      encode(
        model({
          initializer: [
            { name: 'w', dims: [1], dataType: 1, floatData: [1] },
            { name: 'w', dims: [1], dataType: 1, floatData: [2] },
          ],
        }),
      ),
      /the name "w" is defined twice/,
    );
    expectError(
      encode(
        model({ node: [{ opType: 'Relu', input: ['x'], output: ['x'], name: 'r' }], output: [f32Input('x', [1])] }),
      ),
      /the name "x" is defined twice/,
    );
    // Optional inputs may be omitted with ''.
    const ok = parse(model({ node: [{ opType: 'Clip', input: ['x', '', ''], output: ['y'] }] }));
    expect(ok.graph.nodes[0].inputs).toEqual(['x', '', '']);
  });

  it('requires an opset import for every node domain', () => {
    expectError(
      encode(
        model({ node: [{ opType: 'FusedConv', domain: 'com.microsoft', input: ['x'], output: ['y'], name: 'f' }] }),
      ),
      /node "f" \(FusedConv\) is in domain "com.microsoft", but the model imports no opset for that domain/,
    );
    const m = parse({ ...model(), opsetImport: [{ domain: 'ai.onnx', version: 13 }] });
    expect(m.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expectError(encode({ ...model(), opsetImport: [] }), /requires opset_import entries/);
    expectError(encode({ ...model(), irVersion: 0 }), /ir_version is 0/);
    expectError(
      encode({
        ...model(),
        opsetImport: [
          { domain: '', version: 13 },
          { domain: 'ai.onnx', version: 12 },
        ],
      }),
      /lists the domain "" twice/,
    );
  });

  it('types every attribute kind and resolves subgraph references to outer names', () => {
    const A = onnx.AttributeProto.AttributeType;
    const tensor = { name: 'c', dims: [2], dataType: 1, floatData: [1, 2] };
    const branch = (out: string) => ({
      name: out,
      node: [{ opType: 'Add', input: ['x', 'x'], output: [out] }],
      output: [f32Input(out, [1])],
    });
    const m = parse(
      model({
        input: [f32Input('x', [1]), { name: 'cond', type: { tensorType: { elemType: 9, shape: { dim: [] } } } }],
        node: [
          {
            opType: 'If',
            name: 'if',
            input: ['cond'],
            output: ['y'],
            attribute: [
              { name: 'then_branch', type: A.GRAPH, g: branch('t') },
              { name: 'else_branch', type: A.GRAPH, g: branch('e') },
              { name: 'f', type: A.FLOAT, f: 0.25 },
              { name: 'i', type: A.INT, i: -3 },
              { name: 's', type: A.STRING, s: new TextEncoder().encode('héllo') },
              { name: 't', type: A.TENSOR, t: tensor },
              { name: 'fs', type: A.FLOATS, floats: [1, 2.5] },
              { name: 'is', type: A.INTS, ints: [4, -5] },
              { name: 'ss', type: A.STRINGS, strings: [new Uint8Array([97]), new Uint8Array([98])] },
              { name: 'ts', type: A.TENSORS, tensors: [tensor] },
            ],
          },
        ],
      }),
    );
    const n = m.graph.nodes[0];
    expect(nodeAttr(m, n, 'f', 'float')).toBe(0.25);
    expect(nodeAttr(m, n, 'i', 'int')).toBe(-3);
    expect(nodeAttr(m, n, 's', 'string')).toBe('héllo');
    expect(Array.from(nodeAttr(m, n, 't', 'tensor').data)).toEqual([1, 2]);
    expect(nodeAttr(m, n, 'fs', 'floats')).toEqual([1, 2.5]);
    expect(nodeAttr(m, n, 'is', 'ints')).toEqual([4, -5]);
    expect(nodeAttr(m, n, 'ss', 'strings')).toEqual(['a', 'b']);
    expect(nodeAttr(m, n, 'ts', 'tensors')).toHaveLength(1);
    const then = nodeAttr(m, n, 'then_branch', 'graph');
    expect(then.nodes[0].inputs).toEqual(['x', 'x']);
    expect(then.outputs[0].name).toBe('t');
    expect(nodeAttr(m, n, 'missing', 'int', 7)).toBe(7);
    expect(() => nodeAttr(m, n, 'missing', 'int')).toThrow(
      /crafted.onnx: node "if" \(If\): attribute "missing" is required/,
    );
    expect(() => nodeAttr(m, n, 'f', 'int')).toThrow(/attribute "f" is of type float, expected int/);
    // A subgraph that reads a name nobody defines is refused like a top-level node.
    const bad = model({
      node: [
        {
          opType: 'If',
          name: 'if',
          input: ['x'],
          output: ['y'],
          attribute: [
            {
              name: 'then_branch',
              type: A.GRAPH,
              g: { ...branch('t'), node: [{ opType: 'Neg', input: ['ghost'], output: ['t'] }] },
            },
          ],
        },
      ],
    });
    expectError(encode(bad), /attribute "then_branch" subgraph: node 0 \("\(unnamed\)", Neg\) reads "ghost"/);
    expectError(
      encode(
        model({
          node: [
            {
              opType: 'Relu',
              input: ['x'],
              output: ['y'],
              attribute: [
                { name: 'a', type: A.INT },
                { name: 'a', type: A.INT },
              ],
            },
          ],
        }),
      ),
      /has the attribute "a" twice/,
    );
  });

  it('caps graph nesting instead of overflowing the stack', () => {
    const A = onnx.AttributeProto.AttributeType;
    let g: Record<string, unknown> = { name: 'leaf' };
    for (let depth = 0; depth < 40; depth++) {
      g = { name: `g${depth}`, node: [{ opType: 'Loop', attribute: [{ name: 'body', type: A.GRAPH, g }] }] };
    }
    expectError(
      encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g }),
      /nest more than 32 levels/,
    );
  });

  it('rejects files that are not ONNX, naming the file', () => {
    expectError(new Uint8Array(0), /the file is empty/);
    expectError(new TextEncoder().encode('{"graph": []}'), /not a valid ONNX file|not an ONNX model/);
    expectError(
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      /not a valid ONNX file|not an ONNX model/,
    );
    const tflite = readFileSync(join(modelsDir, 'mobilenet', 'mobilenet_v1_0.25_128_quant.tflite'));
    expectError(new Uint8Array(tflite), /not a valid ONNX file|not an ONNX model/);
    // A valid protobuf that is not a model: only a producer name.
    expectError(encode({ producerName: 'x' }), /not an ONNX model: it has no graph/);
  });

  it('rejects truncated and corrupt protobuf structure', () => {
    const full = new Uint8Array(readFileSync(join(styleDir, 'candy.onnx')));
    expectError(full.subarray(0, 5000), /truncated or corrupt|runs past/);
    expectError(full.subarray(0, full.length - 1), /truncated or corrupt|runs past/);
    // ir_version (field 1) sent as length-delimited: a wire-type error, not a mis-parse.
    expectError(
      new Uint8Array([0x0a, 0x00]),
      /ModelProto.ir_version \(field 1\) has wire type length-delimited, expected varint/,
    );
    // graph (field 7) whose declared length runs past the end of the file.
    expectError(new Uint8Array([0x08, 0x07, 0x3a, 0x10, 0x0a, 0x00]), /GraphProto: its 16 bytes run past the end/);
    // A nested field longer than its enclosing message.
    expectError(new Uint8Array([0x3a, 0x03, 0x12, 0x05, 0x61, 0x62]), /runs past the end of its enclosing message/);
    // Field number 0 and an end-group tag are invalid.
    expectError(new Uint8Array([0x00, 0x00]), /field number 0/);
    expectError(new Uint8Array([0x0c]), /truncated or corrupt/);
    // A string that is not UTF-8: the node name "zzzz" with its first byte made 0xff.
    const named = Uint8Array.from(
      encode(model({ node: [{ opType: 'Relu', input: ['x'], output: ['y'], name: 'zzzz' }] })),
    );
    const at = Buffer.from(named).indexOf('zzzz');
    expect(at).toBeGreaterThan(0);
    named[at] = 0xff;
    expectError(named, /a 4-byte string is not valid UTF-8/);
  });

  it('reads from a ByteSource; parseOnnx views the given bytes when no conversion is needed', async () => {
    const bytes = Uint8Array.from(
      encode(model({ initializer: [{ name: 'w', dims: [1], dataType: 2, rawData: new Uint8Array([9]) }] })),
    );
    const m = await readOnnx(bytesSource('mem.onnx', bytes));
    expect(m.file).toBe('mem.onnx');
    expect(Array.from(m.graph.initializers[0].data)).toEqual([9]);
    expect(parseOnnx(FILE, bytes).graph.initializers[0].data.buffer).toBe(bytes.buffer);
    await expect(readOnnx(bytesSource('empty.onnx', new Uint8Array(0)))).rejects.toThrow(
      /^empty.onnx: the file is empty/,
    );
  });
});
