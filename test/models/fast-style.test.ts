/**
 * The fast-style TransformerNet against an independent runtime: onnxruntime-node running
 * the same ONNX file on the same input (the issue asks for max |diff| ≤ 2 on 0..255).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { parseOnnx } from '../../core/io/onnx.js';
import * as T from '../../index.js';
import { TransformerNet } from '../../models/fast-style/transformer-net.js';
import { defaultModelsDir } from '../../node/paths.js';

const dir = join(defaultModelsDir()!, 'fast-neural-style');

function photoLike(h: number, w: number, seed: number): Float32Array {
  // Smooth gradients plus texture, on the 0..255 scale like a photo.
  const rng = new T.Rng(seed);
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        data[(c * h + y) * w + x] = 128 + 80 * Math.sin((x + 7 * c) / 9) * Math.cos(y / 13) + 20 * rng.normal();
      }
  return data;
}

const backends = await T.availableBackendNames();

describe('fast-style TransformerNet', () => {
  afterAll(async () => {
    await T.setBackend('js');
  });

  // Every available backend against the same oracle: onnxruntime on the same file and input.
  for (const backend of backends) {
    it.each([
      ['mosaic', 40, 36],
      ['candy', 30, 22],
    ])(`%s matches onnxruntime on a %i×%i input on ${backend} (odd sizes are padded to ×4)`, async (style, h, w) => {
      await T.setBackend(backend);
      const file = join(dir, `${style}.onnx`);
      const bytes = readFileSync(file);
      const input = photoLike(h, w, h * w);
      const session = await ort.InferenceSession.create(bytes);
      const { output } = await session.run({ input: new ort.Tensor('float32', input, [1, 3, h, w]) });
      const net = TransformerNet.fromOnnx(parseOnnx(file, bytes));
      const x = T.tensor(input, [1, 3, h, w]);
      const y = net.forward(x);
      expect(y.shape).toEqual(output.dims.map(Number));
      const got = await y.data();
      const want = output.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      expect(maxDiff).toBeLessThan(0.05);
      T.dispose([x, y]);
      net.dispose();
      expect(T.memory().tensors).toBe(0);
    });
  }

  it('gives correct gradients although it frees its activations early (the tape keeps its own references)', async () => {
    await T.setBackend('js');
    const file = join(dir, 'mosaic.onnx');
    const net = TransformerNet.fromOnnx(parseOnnx(file, readFileSync(file)));
    const [h, w] = [12, 12];
    const input = photoLike(h, w, 7);
    const x = T.tensor(input, [1, 3, h, w]);
    const [g] = T.grad((t: T.Tensor) => T.sum(net.forward(t)))(x);
    const gx = await g.data();
    // The oracle: a central difference of the same forward pass at one pixel.
    const at = (1 * h + 5) * w + 6;
    const sumAt = async (delta: number) => {
      const shifted = Float32Array.from(input);
      shifted[at] += delta;
      const xs = T.tensor(shifted, [1, 3, h, w]);
      const y = net.forward(xs);
      const total = Array.from(await y.data()).reduce((a, b) => a + b, 0);
      T.dispose([xs, y]);
      return total;
    };
    const numeric = ((await sumAt(0.5)) - (await sumAt(-0.5))) / 1;
    expect(Math.abs(gx[at] - numeric)).toBeLessThan(0.05 * Math.abs(numeric) + 0.05);
    T.dispose([x, g]);
    net.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('rejects a network that is not a TransformerNet', () => {
    const file = join(dir, 'udnie.onnx');
    const model = parseOnnx(file, readFileSync(file));
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv')!;
    conv.attrs.set('strides', { type: 'ints', value: [2, 2] });
    expect(() => TransformerNet.fromOnnx(model)).toThrow(/Conv 1 .* stride \[2,2\].*needs \[32,3,9,9\] stride 1/);
    model.graph.nodes.push({ name: 'x', opType: 'Softmax', domain: '', inputs: [], outputs: [], attrs: new Map() });
    expect(() => TransformerNet.fromOnnx(model)).toThrow(/operator Softmax \(node "x"\) is not part of/);
  });
});
