/**
 * The style-transfer pipeline end to end on a real photo, against onnxruntime-node
 * running the same ONNX file on the same preprocessed input (the independent oracle),
 * compared on the final 8-bit image: at most 2 levels apart on the 0..255 scale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as T from '../../../index.js';
import { imageToTensor, planesToImage, resizeImage } from '../../../models/image-tensor.js';
import { readImage } from '../../../node/image/codec.js';
import { defaultImagesDir, defaultModelsDir } from '../../../node/paths.js';
import { registryModelSource } from '../../../projects/style-transfer/node-models.js';
import { StyleTransferPipeline } from '../../../projects/style-transfer/pipeline.js';

const content = join(defaultImagesDir()!, 'content', 'chelsea.png'); // 451×300: odd sizes exercise the crop

describe('style-transfer pipeline', () => {
  it('matches onnxruntime on the same input, after clamping to 8 bits', async () => {
    const image = await readImage(content);
    const pipeline = new StyleTransferPipeline(registryModelSource);
    const stages: string[] = [];
    const result = await pipeline.transfer(image, { kind: 'named', name: 'udnie' }, { size: 50 }, (s, state) =>
      stages.push(`${s}:${state}`),
    );
    pipeline.dispose();
    expect(result.output).toEqual({ width: 50, height: 33 });
    expect(result.image.data.length).toBe(50 * 33 * 4);
    expect(stages.filter((s) => s.endsWith(':done'))).toEqual([
      'load-model:done',
      'preprocess:done',
      'stylize:done',
      'postprocess:done',
    ]);
    expect(result.times['predict-style']).toBe(0);

    const x = T.tidy(() => resizeImage(imageToTensor(image), 33, 50));
    const input = (await x.data()) as Float32Array;
    x.dispose();
    const session = await ort.InferenceSession.create(
      readFileSync(join(defaultModelsDir()!, 'fast-neural-style', 'udnie.onnx')),
    );
    const { output } = await session.run({ input: new ort.Tensor('float32', input, [1, 3, 33, 50]) });
    const [, , oh, ow] = output.dims.map(Number);
    expect([oh, ow]).toEqual([36, 52]);
    const full = output.data as Float32Array;
    const cropped = new Float32Array(3 * 33 * 50);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 33; y++)
        for (let xx = 0; xx < 50; xx++) cropped[(c * 33 + y) * 50 + xx] = full[(c * oh + y) * ow + xx];
    const oracle = planesToImage(cropped, 33, 50);
    let maxDiff = 0;
    for (let i = 0; i < oracle.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(oracle.data[i] - result.image.data[i]));
    expect(maxDiff).toBeLessThanOrEqual(2);
    expect(T.memory().tensors).toBe(0);
  });

  it('rejects unknown styles and bad sizes with a clear message', async () => {
    const pipeline = new StyleTransferPipeline(registryModelSource);
    const image = { width: 8, height: 8, data: new Uint8Array(256) };
    await expect(pipeline.transfer(image, { kind: 'named', name: 'picasso' })).rejects.toThrow(
      /unknown style 'picasso': choose one of candy, mosaic, pointilism, rain-princess, udnie/,
    );
    await expect(pipeline.transfer(image, { kind: 'named', name: 'candy' }, { size: 5000 })).rejects.toThrow(
      /size 5000 is out of range: use an integer from 16 to 2048/,
    );
    await expect(
      pipeline.transfer(
        { width: 8, height: 8, data: new Uint8Array(10) },
        { kind: 'named', name: 'candy' },
        { size: 16 },
      ),
    ).rejects.toThrow(/10 bytes do not match 8×8 RGBA/);
    pipeline.dispose();
  });
});
