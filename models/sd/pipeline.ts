/**
 * Stable Diffusion text-to-image and image-to-image over a loaded model (load.ts), following diffusers'
 * StableDiffusionPipeline / StableDiffusionImg2ImgPipeline and the tiny-sd README's conventions:
 *
 * - prompt ids: BOS + 75 BPE ids + EOS padded to 77 with the files' pad token; the text encoder's
 *   last_hidden_state, no attention mask;
 * - guidance g > 1: the UNet runs once on the batch [uncond (negative prompt, default ""), cond] and
 *   ε = ε_u + g·(ε_c − ε_u); g ≤ 1 runs cond alone;
 * - img2img: x = 2·(p/255) − 1, latents = the VAE mean × scaling_factor, `init = min(⌊steps·strength⌋, steps)`,
 *   the loop runs timesteps[steps − init:] and the first of them is the noising level;
 * - txt2img: latents = noise × the scheduler's init_noise_sigma;
 * - noise: from `noise` (the `--noise FILE` values: little-endian f32, C order, [1, latent, H/8, W/8]) or drawn
 *   from the seeded generator;
 * - out: decode(latents / scaling_factor), clamp(y/2 + 0.5, 0, 1).
 *
 * Progress is reported per step, and the loop stops between steps when `signal` aborts (its reason is thrown).
 * Browser-safe.
 * @module
 */

import { yieldToEventLoop } from '../../core/yield.js';
import * as T from '../../index.js';
import type { StableDiffusionModel } from './load.js';
import { createScheduler, type Scheduler, type SchedulerName } from './schedulers/index.js';

export interface GenerateOptions {
  readonly prompt: string;
  readonly negativePrompt?: string;
  /** img2img: the input image [1, 3, H, W] with values 0..255 (H, W multiples of {@link StableDiffusion.sizeMultiple}). */
  readonly image?: T.Tensor;
  /** txt2img: output size in pixels (multiples of sizeMultiple). */
  readonly width?: number;
  readonly height?: number;
  /** img2img: 0..1, how far the image is noised (1 = start from pure noise at the first timestep). Default 0.8. */
  readonly strength?: number;
  /** Inference steps of the schedule (img2img runs ⌊steps·strength⌋ of them). Default 50. */
  readonly steps?: number;
  /** Classifier-free guidance scale. Default 7.5. */
  readonly guidance?: number;
  /** Seeds the noise (and Euler ancestral's per-step noise). Default 0. */
  readonly seed?: number;
  /** Initial noise values of the latent shape (overrides the seed for it). */
  readonly noise?: Float32Array;
  /** Default: the folder's scheduler class. */
  readonly scheduler?: SchedulerName;
  /** DDIM η (default 0). */
  readonly eta?: number;
  /** Query rows per attention call (attention.ts). */
  readonly sliceSize?: number;
  /** VAE tile side in pixels (default the VAE's sample_size). */
  readonly tileSize?: number;
  readonly signal?: AbortSignal;
  /** Called after each denoising step with the step (1-based), the number of steps and the timestep. */
  readonly onStep?: (step: number, total: number, timestep: number) => void;
}

export interface GenerateResult {
  /** [1, 3, H, W] in 0..1. */
  readonly image: T.Tensor;
  /** The timesteps the loop ran, in order. */
  readonly timesteps: readonly number[];
  readonly scheduler: SchedulerName;
}

/** Checks a number option, naming it in the error. */
function checkRange(name: string, value: number, min: number, max: number, integer = false): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new T.UsageError(
      `${name} ${value} is out of range: use ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  }
}

export class StableDiffusion {
  constructor(readonly model: StableDiffusionModel) {}

  /** Image sides must be multiples of this: the VAE factor times the UNet's. */
  get sizeMultiple(): number {
    return this.model.vae.factor * this.model.unet.latentMultiple;
  }

  /** Text conditioning [1 or 2, 77, D]: [uncond, cond] with guidance, else cond alone. */
  encodePrompt(prompt: string, negativePrompt: string, guided: boolean): T.Tensor {
    const tok = this.model.tokenizer;
    const rows = guided ? [tok.encodePadded(negativePrompt), tok.encodePadded(prompt)] : [tok.encodePadded(prompt)];
    return this.model.textEncoder.forward(rows);
  }

  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const { unet, vae } = this.model;
    const steps = options.steps ?? 50;
    const guidance = options.guidance ?? 7.5;
    const strength = options.strength ?? 0.8;
    checkRange('steps', steps, 1, this.model.schedulerConfig.numTrainTimesteps, true);
    checkRange('guidance', guidance, 0, 100);
    checkRange('strength', strength, 0, 1);
    const m = this.sizeMultiple;
    const image = options.image;
    const height = image ? image.shape[2] : (options.height ?? vae.config.sampleSize);
    const width = image ? image.shape[3] : (options.width ?? vae.config.sampleSize);
    if (image && (image.rank !== 4 || image.shape[0] !== 1 || image.shape[1] !== 3)) {
      throw new T.ShapeError(`img2img: the image must be [1, 3, H, W], got [${image.shape.join(', ')}]`);
    }
    if (height % m !== 0 || width % m !== 0 || height < m || width < m) {
      throw new T.UsageError(
        `image size ${width}×${height}: both sides must be positive multiples of ${m} for this model`,
      );
    }
    const latentShape = [1, vae.config.latentChannels, height / vae.factor, width / vae.factor];
    const latentSize = latentShape.reduce((a, b) => a * b, 1);
    if (options.noise && options.noise.length !== latentSize) {
      throw new T.UsageError(
        `noise: ${options.noise.length} values, but the latents are [${latentShape.join(', ')}] = ${latentSize} ` +
          `values (${latentSize * 4} bytes of little-endian float32)`,
      );
    }
    if (options.noise?.some((v) => !Number.isFinite(v))) throw new T.UsageError('noise: the values must be finite');

    const rng = new T.Rng(options.seed ?? 0);
    const scheduler: Scheduler = createScheduler(this.model.schedulerConfig, options.scheduler, {
      rng: rng.fork(),
      eta: options.eta,
    });
    const guided = guidance > 1;
    const owned: T.Tensor[] = [];
    try {
      scheduler.setTimesteps(steps);
      let start = 0;
      if (image) {
        const init = Math.min(Math.floor(steps * strength), steps);
        if (init < 1) {
          throw new T.UsageError(
            `strength ${strength} × steps ${steps} rounds down to 0 denoising steps; raise the strength or the steps`,
          );
        }
        start = steps - init; // × scheduler order, which is 1 for every scheduler here
      }
      const timesteps = scheduler.timesteps.slice(start);
      const context = this.encodePrompt(options.prompt, options.negativePrompt ?? '', guided);
      owned.push(context);
      const noise = options.noise ? T.tensor(options.noise, latentShape) : T.randomNormal(latentShape, 0, 1, { rng });
      owned.push(noise);

      let latents: T.Tensor;
      if (image) {
        const x = T.tidy(() => T.sub(T.mul(image, 2 / 255), 1));
        const clean = await vae.encode(x, {
          sliceSize: options.sliceSize,
          tileSize: options.tileSize,
          signal: options.signal,
        });
        x.dispose();
        latents = scheduler.addNoise(clean, noise, start);
        clean.dispose();
      } else {
        latents = T.mul(noise, scheduler.initNoiseSigma);
      }
      owned.push(latents);

      for (let k = 0; k < timesteps.length; k++) {
        options.signal?.throwIfAborted();
        const i = start + k;
        const t = scheduler.timesteps[i];
        const output = T.tidy(() => {
          const input = scheduler.scaleModelInput(latents, i);
          const batch = guided ? T.concat([input, input], 0) : input;
          const eps = unet.forward(batch, t, context, { sliceSize: options.sliceSize });
          if (!guided) return eps;
          const [uncond, cond] = T.split(eps, 2, 0);
          return T.add(uncond, T.mul(T.sub(cond, uncond), guidance));
        });
        const next = scheduler.step(output, i, latents);
        owned.splice(owned.indexOf(latents), 1, next);
        latents.dispose();
        latents = next;
        // Reading the small latents back paces GPU backends (progress then means finished work) and lets an
        // abort request (Ctrl-C) in before the next step.
        await latents.data();
        options.onStep?.(k + 1, timesteps.length, t);
        await yieldToEventLoop();
      }
      options.signal?.throwIfAborted();
      const decoded = await vae.decode(latents, {
        sliceSize: options.sliceSize,
        tileSize: options.tileSize,
        signal: options.signal,
      });
      const out = T.tidy(() => T.clamp(T.add(T.div(decoded, 2), 0.5), 0, 1));
      decoded.dispose();
      return { image: out, timesteps, scheduler: scheduler.name };
    } finally {
      T.dispose(owned);
      scheduler.dispose();
    }
  }

  dispose(): void {
    this.model.textEncoder.dispose();
    this.model.unet.dispose();
    this.model.vae.dispose();
  }
}
