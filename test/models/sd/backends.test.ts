/**
 * The whole tiny-sd img2img and txt2img on every available backend (js, wasm, native, WebGPU on SwiftShader):
 * each run twice gives the same bytes (deterministic), and every backend's image is within a mean |Δ| of 1 on
 * the 0..255 scale of the js backend's (the reference kernels). 16×16 images keep the js backend quick; the
 * numbers against PyTorch are in oracle.test.ts.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import { loadStableDiffusion } from '../../../models/sd/load.js';
import { StableDiffusion } from '../../../models/sd/pipeline.js';
import { diskFolder } from '../../../node/io/model-folder.js';
import { defaultModelsDir } from '../../../node/paths.js';
import { backendSkipReason, titled } from '../../helpers/requirements.js';

const TINY_SD = join(defaultModelsDir()!, 'tiny-sd');

/** A fixed 16×16 RGB picture, 0..255. */
function picture(): T.Tensor {
  const v = new Float32Array(3 * 16 * 16);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) v[(c * 16 + y) * 16 + x] = (37 * c + 13 * x + 7 * y) % 256;
  return T.tensor(v, [1, 3, 16, 16]);
}

async function bytes(t: T.Tensor): Promise<Uint8Array> {
  const d = await t.data();
  return Uint8Array.from(d, (v) => Math.round(255 * v));
}

function meanAbs(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

const BACKENDS: readonly T.BackendName[] = ['js', 'wasm', 'native', 'webgpu'];
const skips = new Map(await Promise.all(BACKENDS.map(async (b) => [b, await backendSkipReason(b)] as const)));

describe('tiny-sd on every backend', () => {
  const results = new Map<string, { img2img: Uint8Array; txt2img: Uint8Array }>();
  afterAll(async () => {
    await T.setBackend('js');
  });

  for (const backend of BACKENDS) {
    const skip = skips.get(backend) ?? null;
    it.skipIf(skip !== null)(
      titled(`${backend}: img2img (DDIM, guided) and txt2img (Euler ancestral) run, deterministically`, skip),
      async () => {
        await T.setBackend(backend);
        const sd = new StableDiffusion(await loadStableDiffusion(await diskFolder(TINY_SD)));
        const image = picture();
        const steps: number[] = [];
        const run = async () =>
          sd.generate({
            prompt: 'a photo of a cat',
            image,
            steps: 4,
            strength: 0.5,
            seed: 5,
            onStep: (s) => steps.push(s),
          });
        const a = await run();
        const b = await run();
        expect(a.timesteps).toEqual([251, 1]);
        expect(steps).toEqual([1, 2, 1, 2]);
        const img2img = await bytes(a.image);
        expect(await bytes(b.image)).toEqual(img2img);
        const t = await sd.generate({
          prompt: 'a watercolor painting',
          negativePrompt: 'blurry',
          width: 16,
          height: 16,
          steps: 2,
          guidance: 1,
          seed: 9,
          scheduler: 'euler-ancestral',
        });
        expect(t.image.shape).toEqual([1, 3, 16, 16]);
        const txt2img = await bytes(t.image);
        T.dispose([a.image, b.image, t.image, image]);
        sd.dispose();
        expect(T.memory().tensors).toBe(0);
        results.set(backend, { img2img, txt2img });
        const ref = results.get('js');
        if (ref && backend !== 'js') {
          expect(meanAbs(img2img, ref.img2img), `${backend} img2img vs js`).toBeLessThanOrEqual(1);
          expect(meanAbs(txt2img, ref.txt2img), `${backend} txt2img vs js`).toBeLessThanOrEqual(1);
        }
        // Not a constant image: the output depends on the input.
        expect(new Set(img2img).size).toBeGreaterThan(20);
      },
    );
  }
});
