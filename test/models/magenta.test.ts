/**
 * The Magenta arbitrary-style networks (models/magenta/) against independent oracles:
 *
 * 1. The oracle for outputs: onnxruntime-node running the same TFLite files, transcribed operator for operator
 *    into ONNX (tflite-onnx-oracle.ts: NHWC as in the file, the converter's ten-operator conditional instance
 *    norm as is, onnxruntime's own SAME padding, reflect Pad, ReduceMean and nearest Resize, and its own
 *    dequantization: DequantizeLinear on the file's bytes). It shares only the parsed file with the model
 *    code; both run the int8 files in float.
 * 2. A published fact for the weights: the shared README measures the int8 and fp16 transfer models about
 *    0.004 apart (mean |difference| on the 0..1 scale). The two files quantised the same network
 *    differently, so this checks int8 per-channel dequantization against fp16 widening end to end — and the
 *    bound also fails if both runs used the same weights.
 * 3. The js backend's results (the reference kernels) for every other available backend.
 * 4. Load-time validation: an unsupported operator, a layer that does not fit and an operator the
 *    architecture does not account for are refused at load, naming the operator and the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { type Conv2DOptions, parseTflite, type TfliteModel } from '../../core/io/tflite.js';
import * as T from '../../index.js';
import { centerSquare, imageToTensor, resizeImage } from '../../models/image-tensor.js';
import { STYLE_VECTOR_SIZE, StylePredictor } from '../../models/magenta/style-predictor.js';
import { StyleTransformer } from '../../models/magenta/style-transformer.js';
import { readImage } from '../../node/image/codec.js';
import { defaultImagesDir, defaultModelsDir } from '../../node/paths.js';
import { runOracle } from './tflite-onnx-oracle.js';

const dir = join(defaultModelsDir()!, 'magenta-arbitrary');
const images = defaultImagesDir()!;
const FILES = {
  prediction: join(dir, 'magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite'),
  int8: join(dir, 'magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite'),
  fp16: join(dir, 'magenta_arbitrary-image-stylization-v1-256_fp16_transfer_384.tflite'),
};
const load = (path: string): TfliteModel => parseTflite(path, readFileSync(path));

/** [1,3,H,W] planes → NHWC, the TFLite layout. */
function toNhwc(planes: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(planes.length);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[3 * i + c] = planes[c * h * w + i];
  return out;
}

/** A real picture as [1,3,h,w] RGB in [0, 1]: the central square for style images, else scaled to h×w. */
async function picture(path: string, h: number, w: number, square = false): Promise<Float32Array> {
  const img = await readImage(path);
  const t = T.tidy(() => {
    const x = imageToTensor(img);
    return T.mul(square ? centerSquare(x, h) : resizeImage(x, h, w), 1 / 255);
  });
  const data = Float32Array.from(await t.data());
  t.dispose();
  return data;
}

const STYLE = join(images, 'style', 'vangogh_starry_night.jpg');
const CONTENT = join(images, 'content', 'chelsea.png');

describe('Magenta arbitrary style networks', () => {
  let predictor: StylePredictor;
  let int8: StyleTransformer;
  let fp16: StyleTransformer;
  let styleVector: Float32Array;

  beforeAll(() => {
    predictor = StylePredictor.fromTflite(load(FILES.prediction));
    int8 = StyleTransformer.fromTflite(load(FILES.int8));
    fp16 = StyleTransformer.fromTflite(load(FILES.fp16));
  });
  afterAll(() => {
    predictor.dispose();
    int8.dispose();
    fp16.dispose();
    expect(T.memory().tensors).toBe(0);
  });

  it('style prediction matches onnxruntime running the TFLite file (64×64 style image)', async () => {
    // The network ends in a global mean, so it runs at any size; 64² keeps the js backend quick.
    const s = 64;
    const style = await picture(STYLE, s, s, true);
    const x = T.tensor(style, [1, 3, s, s]);
    const y = predictor.forward(x);
    expect(y.shape).toEqual([1, STYLE_VECTOR_SIZE]);
    styleVector = Float32Array.from(await y.data());
    T.dispose([x, y]);
    const [want] = await runOracle(load(FILES.prediction), {
      style_image: { data: toNhwc(style, s, s), shape: [1, s, s, 3] },
    });
    expect(want.length).toBe(STYLE_VECTOR_SIZE);
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < want.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(want[i] - styleVector[i]));
      maxAbs = Math.max(maxAbs, Math.abs(want[i]));
    }
    // float32 summation order is all that differs (measured: about 1e-6 with the vector's entries up to ~3).
    expect(maxAbs).toBeGreaterThan(0.5);
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it.each([
    ['int8', 50, 37],
    ['fp16', 30, 44],
  ] as const)(
    '%s transfer matches onnxruntime on a %i×%i photo (not a multiple of 4: padded, then cropped)',
    async (kind, h, w) => {
      const net = kind === 'int8' ? int8 : fp16;
      const file = kind === 'int8' ? FILES.int8 : FILES.fp16;
      const content = await picture(CONTENT, h, w);
      const x = T.tensor(content, [1, 3, h, w]);
      const s = T.tensor(styleVector, [1, STYLE_VECTOR_SIZE]);
      const y = net.forward(x, s);
      const [, , oh, ow] = y.shape;
      expect([oh, ow]).toEqual([4 * Math.ceil(h / 4), 4 * Math.ceil(w / 4)]);
      const got = await y.data();
      T.dispose([x, s, y]);
      const [want] = await runOracle(load(file), {
        content_image: { data: toNhwc(content, h, w), shape: [1, h, w, 3] },
        'mobilenet_conv/Conv/BiasAdd': { data: styleVector, shape: [1, 1, 1, STYLE_VECTOR_SIZE] },
      });
      expect(want.length).toBe(3 * oh * ow);
      let maxDiff = 0;
      let spread = 0;
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++) {
            const a = got[(c * oh + i) * ow + j];
            const b = want[(i * ow + j) * 3 + c];
            maxDiff = Math.max(maxDiff, Math.abs(a - b));
            spread = Math.max(spread, Math.abs(b - want[c]));
          }
      expect(spread).toBeGreaterThan(0.1); // a picture, not a flat colour
      expect(maxDiff).toBeLessThan(1e-4); // on the 0..1 scale; measured about 2e-6
    },
  );

  it('int8 and fp16 transfer weights give nearly the same image (shared README: about 0.004 mean on 0..1)', async () => {
    const [h, w] = [64, 64];
    const x = T.tensor(await picture(CONTENT, h, w), [1, 3, h, w]);
    const s = T.tensor(styleVector, [1, STYLE_VECTOR_SIZE]);
    const ya = int8.forward(x, s);
    const yb = fp16.forward(x, s);
    const [a, b] = [await ya.data(), await yb.data()];
    T.dispose([x, s, ya, yb]);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    const mean = sum / a.length;
    expect(mean).toBeGreaterThan(0.001); // measured 0.003 here; 0 would mean one set of weights ran twice
    expect(mean).toBeLessThan(0.008);
  });

  it('gives the same style vector and image on every available backend (within 1e-4 of js)', async () => {
    const backends = (await T.availableBackendNames()).filter((b) => b !== 'js');
    const style = T.tensor(await picture(STYLE, 32, 32, true), [1, 3, 32, 32]);
    const content = T.tensor(await picture(CONTENT, 22, 26), [1, 3, 22, 26]);
    const run = async () => {
      const p = StylePredictor.fromTflite(load(FILES.prediction));
      const t = StyleTransformer.fromTflite(load(FILES.int8));
      const [s, c] = [T.tensor(await style.data(), style.shape), T.tensor(await content.data(), content.shape)];
      const v = p.forward(s);
      const y = t.forward(c, v);
      const out = { vector: Float32Array.from(await v.data()), image: Float32Array.from(await y.data()) };
      T.dispose([s, c, v, y]);
      p.dispose();
      t.dispose();
      return out;
    };
    const want = await run();
    try {
      for (const backend of backends) {
        await T.setBackend(backend);
        const got = await run();
        await T.setBackend('js');
        const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
        expect(maxDiff(got.vector, want.vector), `${backend} style vector`).toBeLessThan(1e-4);
        expect(maxDiff(got.image, want.image), `${backend} image`).toBeLessThan(1e-4);
      }
    } finally {
      await T.setBackend('js');
      T.dispose([style, content]);
    }
  });

  it('refuses unsupported operators, layers that do not fit and unaccounted operators at load', () => {
    const live = T.memory().tensors;
    const transfer = load(FILES.fp16);
    const ops = transfer.subgraphs[0].operators;
    const rsqrt = ops.find((op) => op.opcode === 'RSQRT')!;
    rsqrt.opcode = 'GATHER';
    expect(() => StyleTransformer.fromTflite(transfer)).toThrow(
      `${FILES.fp16}: operator GATHER (operator ${rsqrt.index}) is not supported by the Magenta style transfer network`,
    );
    rsqrt.opcode = 'RSQRT';

    const conv = ops.find((op) => op.opcode === 'CONV_2D')!;
    conv.options = { ...(conv.options as Conv2DOptions), strideH: 2 };
    expect(() => StyleTransformer.fromTflite(transfer)).toThrow(
      /contract conv 1: CONV_2D \(operator 3\) has filter \[8,9,9,3\], VALID stride 2×1/,
    );

    // The prediction file is a different network: refused for its operators before anything is read.
    expect(() => StyleTransformer.fromTflite(load(FILES.prediction))).toThrow(
      /operator DEPTHWISE_CONV_2D \(operator 2\) is not supported by the Magenta style transfer network/,
    );

    // An extra operator on the side (reading the style vector, writing a new tensor) is not silently skipped.
    const prediction = load(FILES.prediction);
    const sg = prediction.subgraphs[0];
    const add = sg.operators.find((op) => op.opcode === 'ADD')!;
    const vector = sg.outputs[0];
    sg.tensors.push({ ...sg.tensors[vector], index: sg.tensors.length, name: 'extra' });
    sg.operators.push({
      ...add,
      index: sg.operators.length,
      inputs: [vector, vector],
      outputs: [sg.tensors.length - 1],
    });
    expect(() => StylePredictor.fromTflite(prediction)).toThrow(
      `${FILES.prediction}: 1 operators are not part of the Magenta style-prediction network (MobileNet-v2) (ADD (operator 66))`,
    );
    // Failed loads free what they uploaded.
    expect(T.memory().tensors).toBe(live);
  });
});
