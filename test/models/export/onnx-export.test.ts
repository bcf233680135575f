/**
 * ONNX export against an independent runtime: every op the exporter translates, traced from the toolkit's
 * own functions, written as opset 17 and run in onnxruntime-node on the same inputs; the result must match
 * what the traced run computed. The file is also read back with the toolkit's ONNX reader (its checks:
 * topological order, opset imports, initializer sizes).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../../../core/io/onnx.js';
import * as T from '../../../index.js';
import { traceGraph } from '../../../models/export/graph.js';
import { exportOnnx, exportOnnxWithData, ONNX_EXPORTABLE_OPS, ONNX_OPSET } from '../../../models/export/onnx-export.js';
import { caseInputs, EXPORT_CASES, maxDiff } from './op-cases.js';

describe('ONNX export (opset 17) in onnxruntime-node', () => {
  beforeAll(async () => {
    await T.setBackend('js');
  });
  afterAll(() => {
    expect(T.memory().tensors).toBe(0);
  });

  const covered = new Set<string>();
  it.each(EXPORT_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const xs = caseInputs(c);
    const { graph, outputs } = await traceGraph(
      c.fn,
      xs.map((t, k) => ({ name: `x${k}`, tensor: t })),
      ['y'],
    );
    for (const n of graph.nodes) covered.add(n.op);
    const bytes = exportOnnx(graph);
    const parsed = parseOnnx('case.onnx', bytes);
    expect(parsed.opsetImports).toContainEqual({ domain: '', version: ONNX_OPSET });
    const session = await ort.InferenceSession.create(bytes);
    const feeds = Object.fromEntries(
      await Promise.all(
        xs.map(async (t, k) => [`x${k}`, new ort.Tensor('float32', (await t.data()) as Float32Array, [...t.shape])]),
      ),
    );
    const result = await session.run(feeds);
    await session.release();
    const got = result.y;
    const want = outputs[0];
    expect(got.dims.map(Number)).toEqual([...graph.outputs[0].value.shape]);
    const d = maxDiff(want, got.data as ArrayLike<number>);
    expect(d.diff).toBeLessThanOrEqual(2e-5 * d.scale);
    T.dispose(xs);
  });

  it('the case table exercises every op the exporter translates', () => {
    const missing = [...ONNX_EXPORTABLE_OPS].filter((op) => !covered.has(op));
    expect(missing).toEqual([]);
  });

  it('keeps large weights in an external data file that onnxruntime-node finds beside the model', async () => {
    const w = T.tensor(
      Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 0.01)),
      [64, 32],
    );
    const x = T.tensor(
      Float32Array.from({ length: 3 * 32 }, (_, i) => Math.cos(i)),
      [3, 32],
    );
    const { graph, outputs } = await traceGraph(
      (t) => T.add(T.matmul(t, w, { transposeB: true }), 0.5),
      [{ name: 'x', tensor: x }],
      ['y'],
    );
    const { model, data } = exportOnnxWithData(graph, { externalData: 'model.onnx.data' });
    expect(data.reduce((n, d) => n + d.length, 0)).toBe(64 * 32 * 4);
    expect(() => parseOnnx('model.onnx', model)).toThrow(/keeps its data in an external file \("model\.onnx\.data"\)/);
    const dir = await mkdtemp(join(tmpdir(), 'eai-onnx-ext-'));
    try {
      await writeFile(join(dir, 'model.onnx.data'), data);
      await writeFile(join(dir, 'model.onnx'), model);
      const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
      const { y } = await session.run({ x: new ort.Tensor('float32', (await x.data()) as Float32Array, [3, 32]) });
      await session.release();
      const d = maxDiff(outputs[0], y.data as Float32Array);
      expect(d.diff).toBeLessThanOrEqual(2e-5 * d.scale);
    } finally {
      await rm(dir, { recursive: true, force: true });
      T.dispose([w, x]);
    }
  });

  it('refuses an op it has no translation for, naming it', async () => {
    const x = T.tensor([1, 2, 3], [3]);
    const { graph } = await traceGraph((t) => T.relu(t), [{ name: 'x', tensor: x }], ['y']);
    const bogus = { ...graph, nodes: graph.nodes.map((n) => ({ ...n, op: 'fourierTransform' })) };
    expect(() => exportOnnx(bogus)).toThrow(/no translation for the op\(s\) fourierTransform/);
    x.dispose();
  });
});
