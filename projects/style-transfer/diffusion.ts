/**
 * `style-transfer:transfer --method diffusion`: Stable Diffusion img2img on one content image, steered by a
 * prompt or a named diffusion style, with optional style LoRAs. The model is a diffusers folder (--model DIR)
 * or a model registry entry (default tiny-sd, the bundled test pipeline; sd-1.5 and sd-2.1-base download with
 * models:download). Loaded by commands.ts with a dynamic import, so --help never loads the model code.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import type { SafetensorsReader } from '../../core/io/safetensors.js';
import * as T from '../../index.js';
import { fitSize, imageToTensor, planesToImage, resizeImage } from '../../models/image-tensor.js';
import type { ModelFolder } from '../../models/sd/folder.js';
import { loadStableDiffusion } from '../../models/sd/load.js';
import type { LoraFile } from '../../models/sd/lora.js';
import { StableDiffusion } from '../../models/sd/pipeline.js';
import type { SchedulerName } from '../../models/sd/schedulers/scheduler.js';
import { readImage, writeImage } from '../../node/image/codec.js';
import { openFileSource } from '../../node/io/file-source.js';
import { diskFolder } from '../../node/io/model-folder.js';
import { loadSafetensorsFile } from '../../node/io/safetensors-file.js';
import { resolveModelFile } from '../../node/models/cache.js';
import { findModel } from '../../node/models/registry.js';
import { DIFFUSION_DEFAULTS, DIFFUSION_STYLES, findDiffusionStyle } from './diffusion-styles.js';

export interface DiffusionArgs {
  readonly content: string;
  readonly output?: string;
  readonly style?: string;
  readonly prompt?: string;
  readonly negativePrompt?: string;
  readonly strength?: number;
  readonly steps?: number;
  readonly guidance?: number;
  readonly scheduler?: SchedulerName;
  readonly model?: string;
  readonly seed?: number;
  readonly noise?: string;
  readonly loras: readonly string[];
  readonly size: number;
}

/** A registry entry's files as a folder: each file is looked up (models folder, then cache) when opened. */
function registryFolder(name: string): ModelFolder {
  // Fails now, naming how to download, when the pipeline index is missing.
  const index = resolveModelFile(name, 'model_index.json');
  return {
    name: `${name} (${resolve(index.path, '..')})`,
    async open(path) {
      if (!findModel(name)?.files.some((f) => f.path === path)) return null;
      return openFileSource(resolveModelFile(name, path).path);
    },
  };
}

/** A diffusers folder on disk, or a model registry entry holding one (tiny-sd, sd-1.5, …). */
export async function openModel(spec: string, cwd: string): Promise<ModelFolder> {
  const path = resolve(cwd, spec);
  const isDir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) return diskFolder(path);
  if (findModel(spec)) return registryFolder(spec);
  throw new UsageError(
    `--model ${spec}: neither a diffusers folder nor a model registry entry (try tiny-sd, sd-1.5 or sd-2.1-base; ` +
      'models:list shows them)',
  );
}

/** `PATH` or `PATH:WEIGHT` (weight after the last colon when it is a number). */
export function parseLoraArg(arg: string): { path: string; weight: number } {
  const colon = arg.lastIndexOf(':');
  const tail = colon > 0 ? arg.slice(colon + 1) : '';
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(tail)) return { path: arg.slice(0, colon), weight: Number(tail) };
  return { path: arg, weight: 1 };
}

async function readNoise(path: string): Promise<Float32Array> {
  const bytes = await readFile(path).catch(() => {
    throw new UsageError(`--noise ${path}: no such file`);
  });
  if (bytes.length % 4 !== 0) {
    throw new UsageError(`--noise ${path}: ${bytes.length} bytes is not a whole number of float32 values`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

export async function transferDiffusion(args: DiffusionArgs, ctx: CommandContext): Promise<void> {
  let prompt = args.prompt;
  let negativePrompt = args.negativePrompt;
  let label = 'diffusion';
  if (args.style !== undefined) {
    const preset = findDiffusionStyle(args.style);
    if (!preset) {
      throw new UsageError(
        `unknown diffusion style '${args.style}': use one of ${DIFFUSION_STYLES.map((s) => s.name).join(', ')}, ` +
          'or describe the style with --prompt',
      );
    }
    prompt = prompt ? `${prompt}, ${preset.prompt}` : preset.prompt;
    negativePrompt = negativePrompt ?? preset.negativePrompt;
    label = preset.name;
  }
  if (prompt === undefined) {
    throw new UsageError(
      `--method diffusion needs --prompt TEXT or --style NAME (${DIFFUSION_STYLES.map((s) => s.name).join(', ')})`,
    );
  }
  const content = resolve(ctx.cwd, args.content);
  const contentIsDir = await stat(content).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (contentIsDir) throw new UsageError(`${content}: --method diffusion takes one content image, not a folder`);
  const noise = args.noise ? await readNoise(resolve(ctx.cwd, args.noise)) : undefined;

  const started = performance.now();
  const readers: SafetensorsReader[] = [];
  const loras: LoraFile[] = [];
  let sd: StableDiffusion | undefined;
  try {
    for (const arg of args.loras) {
      const { path, weight } = parseLoraArg(arg);
      const reader = await loadSafetensorsFile(resolve(ctx.cwd, path));
      readers.push(reader);
      loras.push({ reader, weight });
    }
    const folder = await openModel(args.model ?? DIFFUSION_DEFAULTS.model, ctx.cwd);
    ctx.log.info(`Loading ${folder.name}…`);
    sd = new StableDiffusion(await loadStableDiffusion(folder, { loras }));
  } finally {
    for (const r of readers) await r.close();
  }
  const loadMs = performance.now() - started;
  try {
    const image = await readImage(content);
    const fit = fitSize(image.width, image.height, args.size);
    const m = sd.sizeMultiple;
    const width = Math.max(m, Math.round(fit.width / m) * m);
    const height = Math.max(m, Math.round(fit.height / m) * m);
    const x = T.tidy(() => resizeImage(imageToTensor(image), height, width));
    const progress = ctx.progress('steps');
    let began = false;
    const genStart = performance.now();
    let result: Awaited<ReturnType<StableDiffusion['generate']>>;
    try {
      result = await sd.generate({
        prompt,
        negativePrompt,
        image: x,
        strength: args.strength ?? DIFFUSION_DEFAULTS.strength,
        steps: args.steps ?? DIFFUSION_DEFAULTS.steps,
        guidance: args.guidance ?? DIFFUSION_DEFAULTS.guidance,
        seed: args.seed ?? DIFFUSION_DEFAULTS.seed,
        scheduler: args.scheduler,
        noise,
        signal: ctx.signal,
        onStep: (_step, total) => {
          if (!began) progress.start(total, `Denoising (${label})`);
          began = true;
          progress.tick();
        },
      });
      progress.done();
    } catch (err) {
      progress.abort();
      throw err;
    } finally {
      x.dispose();
    }
    const generateMs = performance.now() - genStart;
    const pixels = await result.image.data();
    result.image.dispose();
    const scaled = Float32Array.from(pixels, (v) => 255 * v);
    const output = args.output ?? resolve(ctx.cwd, `${basename(content, extname(content))}-${label}.png`);
    await writeImage(output, planesToImage(scaled, height, width));
    const summary = {
      method: 'diffusion',
      model: sd.model.name,
      prompt,
      negativePrompt: negativePrompt ?? '',
      style: label,
      strength: args.strength ?? DIFFUSION_DEFAULTS.strength,
      steps: args.steps ?? DIFFUSION_DEFAULTS.steps,
      denoisingSteps: result.timesteps.length,
      guidance: args.guidance ?? DIFFUSION_DEFAULTS.guidance,
      scheduler: result.scheduler,
      seed: args.seed ?? DIFFUSION_DEFAULTS.seed,
      noise: args.noise ? resolve(ctx.cwd, args.noise) : undefined,
      loras: args.loras.map(parseLoraArg),
      backend: T.getBackendName(),
      input: content,
      output,
      inputSize: { width: image.width, height: image.height },
      outputSize: { width, height },
      ms: { load: loadMs, generate: generateMs },
    };
    ctx.output(
      summary,
      `Wrote ${output}  ${width}×${height}  ${result.timesteps.length} ${result.scheduler} steps on ${summary.backend}, ` +
        `load ${loadMs.toFixed(0)} ms, generate ${generateMs.toFixed(0)} ms`,
    );
  } finally {
    sd.dispose();
  }
}
