/**
 * Arbitrary style (Magenta) through the one pipeline, on the js backend at small sizes.
 *
 * The oracle for the image: onnxruntime-node running the two TFLite files (transcribed operator for operator,
 * test/models/tflite-onnx-oracle.ts) on the same preprocessed inputs — the style image's central square
 * scaled to styleSize², the content scaled to the output size, both in [0, 1] — compared on the final 8-bit
 * image. The strength and blend properties are checked against Magenta's definitions (the TF Lite
 * example's content_blending_ratio): the transfer network run directly on the blended style vector.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTflite } from '../../../core/io/tflite.js';
import * as T from '../../../index.js';
import {
  centerSquare,
  imageToTensor,
  planesToImage,
  type RgbaImage,
  resizeImage,
} from '../../../models/image-tensor.js';
import { readImage } from '../../../node/image/codec.js';
import { defaultImagesDir, defaultModelsDir } from '../../../node/paths.js';
import { registryModelSource } from '../../../projects/style-transfer/node-models.js';
import { type ModelSource, StyleTransferPipeline } from '../../../projects/style-transfer/pipeline.js';
import { runOracle } from '../../models/tflite-onnx-oracle.js';

const images = defaultImagesDir()!;
const magenta = join(defaultModelsDir()!, 'magenta-arbitrary');
const content = await readImage(join(images, 'content', 'chelsea.png')); // 451×300
const starry = await readImage(join(images, 'style', 'vangogh_starry_night.jpg')); // 1280×1014: cropped to its centre
const wave = await readImage(join(images, 'style', 'hokusai_great_wave.jpg'));
const STYLE_SIZE = 48; // the network ends in a global mean, so small style sizes run (256 is the default)

const pipeline = new StyleTransferPipeline(registryModelSource);
afterAll(async () => {
  await pipeline.dispose();
  expect(T.memory().tensors).toBe(0);
});

/** [1,3,H,W] planes as NHWC. */
function toNhwc(planes: ArrayLike<number>, h: number, w: number): Float32Array {
  const out = new Float32Array(planes.length);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[3 * i + c] = planes[c * h * w + i];
  return out;
}

async function planes(t: T.Tensor): Promise<Float32Array> {
  const data = Float32Array.from(await t.data());
  t.dispose();
  return data;
}

/** The transfer network run directly on a style vector, as the pipeline would at this size. */
async function stylizeWith(vector: Float32Array, h: number, w: number): Promise<RgbaImage> {
  const { transformer } = await pipeline.arbitraryNets();
  const y = T.tidy(() => {
    const x = T.mul(resizeImage(imageToTensor(content), h, w), 1 / 255);
    const out = transformer.forward(x, T.tensor(vector, [1, 100]));
    return T.mul(T.slice(out, [null, null, { end: h }, { end: w }]), 255);
  });
  return planesToImage(await planes(y), h, w);
}

function maxLevelDiff(a: RgbaImage, b: RgbaImage): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}

describe('arbitrary style transfer pipeline', () => {
  it('matches onnxruntime running both TFLite files on the same inputs (8-bit output within 1 level)', async () => {
    const stages: string[] = [];
    const result = await pipeline.transfer(
      content,
      { kind: 'image', image: starry, name: 'starry' },
      { size: 45, styleSize: STYLE_SIZE },
      (s, state) => stages.push(`${s}:${state}`),
    );
    expect(result.style).toBe('starry');
    expect(result.output).toEqual({ width: 45, height: 30 });
    expect(stages.filter((s) => s.endsWith(':done'))).toEqual([
      'load-model:done',
      'preprocess:done',
      'predict-style:done',
      'stylize:done',
      'postprocess:done',
    ]);

    const s = STYLE_SIZE;
    const style = await planes(T.tidy(() => T.mul(centerSquare(imageToTensor(starry), s), 1 / 255)));
    const prediction = join(magenta, 'magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite');
    const [vector] = await runOracle(parseTflite(prediction, readFileSync(prediction)), {
      style_image: { data: toNhwc(style, s, s), shape: [1, s, s, 3] },
    });
    const [h, w] = [30, 45];
    const x = await planes(T.tidy(() => T.mul(resizeImage(imageToTensor(content), h, w), 1 / 255)));
    const transfer = join(magenta, 'magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite');
    const [y] = await runOracle(parseTflite(transfer, readFileSync(transfer)), {
      content_image: { data: toNhwc(x, h, w), shape: [1, h, w, 3] },
      'mobilenet_conv/Conv/BiasAdd': { data: vector, shape: [1, 1, 1, 100] },
    });
    // The oracle's output is [1, 32, 48, 3] (padded to ×4): crop to 30×45 and turn into planes on 0..255.
    const [oh, ow] = [32, 48];
    expect(y.length).toBe(oh * ow * 3);
    const cropped = new Float32Array(3 * h * w);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) cropped[(c * h + i) * w + j] = 255 * y[(i * ow + j) * 3 + c];
    expect(maxLevelDiff(result.image, planesToImage(cropped, h, w))).toBeLessThanOrEqual(1);
  });

  it("strength blends in the content image's own style vector (Magenta's content_blending_ratio)", async () => {
    const [h, w] = [20, 30];
    const size = 30;
    const styleVec = await pipeline.styleVector(starry, STYLE_SIZE);
    const ownVec = await pipeline.styleVector(content, STYLE_SIZE);
    // strength 0 is the content image's own style: the same as using the content image as the style.
    const zero = await pipeline.transfer(
      content,
      { kind: 'image', image: starry },
      { size, styleSize: STYLE_SIZE, strength: 0 },
    );
    const own = await pipeline.transfer(content, { kind: 'image', image: content }, { size, styleSize: STYLE_SIZE });
    expect(maxLevelDiff(zero.image, own.image)).toBe(0);
    // strength 0.3 = 0.3·style + 0.7·own, run through the transfer network directly.
    const part = await pipeline.transfer(
      content,
      { kind: 'image', image: starry },
      { size, styleSize: STYLE_SIZE, strength: 0.3 },
    );
    const mixed = styleVec.map((v, i) => 0.3 * v + 0.7 * ownVec[i]);
    expect(maxLevelDiff(part.image, await stylizeWith(mixed, h, w))).toBeLessThanOrEqual(1);
    // ... and differs from both ends, so the test can tell strengths apart.
    const full = await pipeline.transfer(content, { kind: 'image', image: starry }, { size, styleSize: STYLE_SIZE });
    expect(maxLevelDiff(part.image, full.image)).toBeGreaterThan(10);
    expect(maxLevelDiff(part.image, own.image)).toBeGreaterThan(10);
  });

  it('blends style images by their normalised weights', async () => {
    const size = 30;
    const opts = { size, styleSize: STYLE_SIZE };
    const single = await pipeline.transfer(content, { kind: 'image', image: wave }, opts);
    const oneZero = await pipeline.transfer(
      content,
      {
        kind: 'blend',
        images: [
          { image: wave, weight: 1 },
          { image: starry, weight: 0 },
        ],
      },
      opts,
    );
    expect(maxLevelDiff(single.image, oneZero.image)).toBe(0);
    expect(oneZero.style).toBe('image1+image2');

    const a = await pipeline.styleVector(wave, STYLE_SIZE);
    const b = await pipeline.styleVector(starry, STYLE_SIZE);
    const blend = await pipeline.transfer(
      content,
      {
        kind: 'blend',
        images: [
          { image: wave, weight: 2, name: 'wave' },
          { image: starry, weight: 6, name: 'starry' },
        ],
      },
      { ...opts, strength: 1 },
    );
    expect(blend.style).toBe('wave+starry');
    const expected = await stylizeWith(
      a.map((v, i) => 0.25 * v + 0.75 * b[i]),
      20,
      30,
    );
    expect(maxLevelDiff(blend.image, expected)).toBeLessThanOrEqual(1);
  });

  it('keys cached style vectors by image content, not by object', async () => {
    const image = { width: starry.width, height: starry.height, data: Uint8Array.from(starry.data) };
    const before = await pipeline.styleVector(image, 32);
    image.data.set(content.data.subarray(0, 4 * 300 * 300)); // a caller reusing its buffer for a new picture
    const after = await pipeline.styleVector(image, 32);
    expect(Math.max(...before.map((v, i) => Math.abs(v - after[i])))).toBeGreaterThan(0.01);
    expect(Array.from(await pipeline.styleVector({ ...image, data: Uint8Array.from(image.data) }, 32))).toEqual(
      Array.from(after),
    );
  });

  it('rejects bad strengths, weights, style sizes and sources without loadFile, with a clear message', async () => {
    const opts = { size: 16 };
    const image = (kind: 'image') => ({ kind, image: starry });
    await expect(pipeline.transfer(content, image('image'), { ...opts, strength: 1.5 })).rejects.toThrow(
      /strength 1.5 is out of range: use a number from 0 to 1/,
    );
    await expect(pipeline.transfer(content, image('image'), { ...opts, styleSize: 8 })).rejects.toThrow(
      /style size 8 is out of range: use an integer from 32 to 1024/,
    );
    await expect(pipeline.transfer(content, { kind: 'blend', images: [] }, opts)).rejects.toThrow(
      /needs at least one style image/,
    );
    await expect(
      pipeline.transfer(content, { kind: 'blend', images: [{ image: starry, weight: -1, name: 'starry' }] }, opts),
    ).rejects.toThrow(/style image 1 \(starry\) has weight -1: weights must be finite and ≥ 0/);
    await expect(
      pipeline.transfer(content, { kind: 'blend', images: [{ image: starry, weight: 0 }] }, opts),
    ).rejects.toThrow(/every style image has weight 0/);
    const namedOnly: ModelSource = { load: registryModelSource.load };
    const other = new StyleTransferPipeline(namedOnly);
    await expect(other.transfer(content, image('image'), opts)).rejects.toThrow(
      /arbitrary style needs the Magenta model files \(magenta-arbitrary\), but this model source has no loadFile/,
    );
    await other.dispose();
  });
});
