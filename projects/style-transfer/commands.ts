/**
 * The style transfer workflow (seed project coreml-stable-diffusion-style-transfer):
 * `transfer` stylises one image or a folder of them with a named style or any style image (or a weighted
 * blend of style images); `styles` lists the named styles and the arbitrary-style networks.
 */

import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type CommandContext, defineCommand, type ProjectSpec } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import type { RgbaImage } from '../../core/image.js';
import { SCHEDULER_NAMES } from '../../models/sd/schedulers/scheduler.js';
import {
  ARBITRARY_STYLE_MODELS,
  ARBITRARY_WEIGHTS,
  DEFAULT_ARBITRARY_WEIGHTS,
  DEFAULT_STYLE,
  findStyle,
  MAX_SIZE,
  MIN_SIZE,
  NAMED_STYLES,
} from '../../models/styles.js';
import { readImage, writeImage } from '../../node/image/codec.js';
import { defaultImagesDir } from '../../node/paths.js';
import { DIFFUSION_DEFAULTS, DIFFUSION_STYLES } from './diffusion-styles.js';
import { registryModelSource } from './node-models.js';
import {
  DEFAULT_SIZE,
  MAX_STYLE_SIZE,
  MIN_STYLE_SIZE,
  type Stage,
  type StyleChoice,
  StyleTransferPipeline,
  type TransferResult,
} from './pipeline.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

function defaultContent(): string {
  const dir = defaultImagesDir();
  if (!dir) {
    throw new UsageError('no --content given and no sample images found: pass --content PATH or set EAI_IMAGES_DIR');
  }
  return join(dir, 'content', 'astronaut.png');
}

async function listImages(folder: string): Promise<string[]> {
  const names = (await readdir(folder)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new UsageError(`${folder}: no .png, .jpg or .jpeg images in this folder`);
  return names.map((n) => join(folder, n));
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    throw new UsageError(`${path}: no such file or folder`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A style image given on the command line, read once for every content image. */
interface StyleFile {
  readonly path: string;
  readonly weight: number;
}

/** `PATH:WEIGHT` (the weight after the last colon; without a numeric one the whole argument is the path, weight 1). */
export function parseBlend(arg: string): { path: string; weight: number } {
  const colon = arg.lastIndexOf(':');
  const tail = colon >= 0 ? arg.slice(colon + 1) : '';
  if (colon > 0 && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(tail)) {
    const weight = Number(tail);
    if (!(weight >= 0)) throw new UsageError(`--blend ${arg}: the weight ${tail} must be ≥ 0`);
    return { path: arg.slice(0, colon), weight };
  }
  return { path: arg, weight: 1 };
}

/** What --style, --style-image and --blend ask for: a named style, or style image files with weights. */
async function chooseStyle(
  args: { style?: string; 'style-image'?: string; blend: readonly string[] },
  cwd: string,
): Promise<{ kind: 'named'; name: string } | { kind: 'files'; files: StyleFile[]; label: string }> {
  const given = [args.style !== undefined, args['style-image'] !== undefined, args.blend.length > 0].filter(Boolean);
  if (given.length > 1) {
    throw new UsageError(
      'give one of --style, --style-image or --blend (for several style images, give each as --blend PATH:WEIGHT)',
    );
  }
  const files = async (list: { path: string; weight: number }[]) => {
    const out: StyleFile[] = [];
    for (const { path, weight } of list) {
      const abs = resolve(cwd, path);
      if (!(await isFile(abs))) throw new UsageError(`${abs}: no such style image file`);
      out.push({ path: abs, weight });
    }
    const label = out.map((f) => basename(f.path, extname(f.path))).join('+');
    return { kind: 'files' as const, files: out, label };
  };
  if (args.blend.length > 0) return files(args.blend.map(parseBlend));
  if (args['style-image'] !== undefined) return files([{ path: args['style-image'], weight: 1 }]);
  const name = args.style ?? DEFAULT_STYLE;
  const named = findStyle(name);
  if (named) return { kind: 'named', name: named.name };
  if (await isFile(resolve(cwd, name))) return files([{ path: name, weight: 1 }]);
  throw new UsageError(
    `unknown style '${name}': not a named style (${NAMED_STYLES.map((s) => s.name).join(', ')}; ` +
      'style-transfer:styles lists them) and no image file by that name',
  );
}

function outputName(content: string, style: string): string {
  return `${basename(content, extname(content))}-${style}.png`;
}

function summaryLine(path: string, r: TransferResult): string {
  const t = r.times;
  return (
    `${path}  ${r.output.width}×${r.output.height}  ${r.style} on ${r.backend}  ` +
    `load ${t['load-model'].toFixed(0)} ms, stylize ${t.stylize.toFixed(0)} ms, total ${Object.values(t)
      .reduce((a, b) => a + b, 0)
      .toFixed(0)} ms`
  );
}

const transfer = defineCommand({
  name: 'transfer',
  summary: 'Stylise an image (or a folder of images) with a named style or the style of any image',
  description:
    'Scales the content image so its long side is --size pixels (keeping the aspect ratio), runs the style network ' +
    'on the current backend and writes a PNG or JPEG (by the output extension). Without --content it stylises the ' +
    'bundled public-domain astronaut photo. A folder as --content stylises every .png/.jpg in it, with a progress bar, ' +
    'into the --output folder. Named styles are fast per-style networks (see style-transfer:styles). Any image can be ' +
    'the style instead (--style PATH or --style-image PATH): Magenta arbitrary style transfer predicts a style vector ' +
    'from the central square of the style image, scaled to --style-size (256, as trained); --strength below 1 blends ' +
    "in the content image's own style vector, and --blend PATH:WEIGHT (repeatable) mixes several style images. Model " +
    'weights come from the model registry (EAI_MODELS_DIR or the download cache). Large images are scaled, not tiled: ' +
    'the networks normalise with whole-image statistics. --method diffusion restyles with Stable Diffusion img2img ' +
    `instead: --prompt, or --style with a diffusion style (${DIFFUSION_STYLES.map((d) => d.name).join(', ')}), ` +
    '--strength, --steps, --guidance, --scheduler, --seed, --lora and --model (default tiny-sd, a tiny test ' +
    'pipeline with random weights: download sd-1.5 with models:download for real pictures).',
  options: [
    {
      name: 'content',
      type: 'path',
      description: 'Content image, or a folder of images (default: the astronaut sample)',
    },
    {
      name: 'style',
      type: 'string',
      valueName: 'name|path',
      description: `Named style (see style-transfer:styles; default ${DEFAULT_STYLE}), or a style image file (arbitrary style)`,
    },
    {
      name: 'size',
      type: 'integer',
      description: 'Long side of the output in pixels',
      default: DEFAULT_SIZE,
      min: MIN_SIZE,
      max: MAX_SIZE,
    },
    {
      name: 'strength',
      type: 'number',
      description:
        "How much of the style image's style to apply, 0..1 (arbitrary style; default 1); with --method diffusion, " +
        `how far the image is re-noised (default ${DIFFUSION_DEFAULTS.strength})`,
      min: 0,
      max: 1,
    },
    {
      name: 'blend',
      type: 'string',
      repeatable: true,
      valueName: 'path:weight',
      description: 'A style image and its weight (repeat to blend several; weights are normalised)',
    },
    {
      name: 'style-size',
      type: 'integer',
      description: 'Side of the square style images are scaled to for style prediction (arbitrary style)',
      default: 256,
      min: MIN_STYLE_SIZE,
      max: MAX_STYLE_SIZE,
    },
    {
      name: 'arbitrary-weights',
      type: 'enum',
      choices: ARBITRARY_WEIGHTS,
      default: DEFAULT_ARBITRARY_WEIGHTS,
      description:
        'Arbitrary style transfer network weights: int8 (magenta-arbitrary) or fp16 (magenta-arbitrary-fp16)',
    },
    {
      name: 'output',
      type: 'path',
      description: 'Output file (.png/.jpg), or folder for a folder of inputs (default: <content>-<style>.png here)',
    },
    {
      name: 'method',
      type: 'enum',
      choices: ['neural', 'diffusion'],
      default: 'neural',
      description: 'neural: fast style networks and arbitrary style; diffusion: Stable Diffusion img2img with a prompt',
    },
    { name: 'prompt', type: 'string', description: 'Diffusion: what the result should look like' },
    { name: 'negative-prompt', type: 'string', description: 'Diffusion: what to steer away from (default "")' },
    {
      name: 'steps',
      type: 'integer',
      description: `Diffusion: scheduler steps; img2img runs strength × steps of them (default ${DIFFUSION_DEFAULTS.steps})`,
      min: 1,
      max: 1000,
    },
    {
      name: 'guidance',
      type: 'number',
      description: `Diffusion: classifier-free guidance scale; 1 or less turns it off (default ${DIFFUSION_DEFAULTS.guidance})`,
      min: 0,
      max: 100,
    },
    {
      name: 'scheduler',
      type: 'enum',
      choices: SCHEDULER_NAMES,
      description: "Diffusion: sampler (default: the model folder's scheduler)",
    },
    {
      name: 'model',
      type: 'string',
      valueName: 'dir|name',
      description: `Diffusion: a diffusers folder or a model registry name (default ${DIFFUSION_DEFAULTS.model}; sd-1.5, sd-2.1-base)`,
    },
    {
      name: 'seed',
      type: 'integer',
      description: 'Diffusion: seed of the noise (default 0)',
      min: 0,
      max: 2 ** 32 - 1,
    },
    {
      name: 'noise',
      type: 'path',
      description:
        'Diffusion: initial noise, raw little-endian float32 [1, 4, H/8, W/8] (reproduces another implementation)',
    },
    {
      name: 'lora',
      type: 'string',
      repeatable: true,
      valueName: 'path[:weight]',
      description: 'Diffusion: a style LoRA (diffusers or kohya safetensors) and its weight (default 1); repeatable',
    },
    { name: 'content-image', type: 'path', description: 'Same as --content (the seed CLI name)' },
    {
      name: 'style-image',
      type: 'path',
      description: 'A style image (arbitrary style; same as --style PATH, the seed CLI name)',
    },
  ],
  examples: [
    'efficientai-toolkit style-transfer:transfer',
    'efficientai-toolkit style-transfer:transfer --content photo.jpg --style candy --size 768 --output candy.png',
    'efficientai-toolkit style-transfer:transfer --content photos/ --style udnie --output stylized/ --json',
    'efficientai-toolkit style-transfer:transfer --content photo.jpg --style starry_night.jpg --strength 0.7',
    'efficientai-toolkit style-transfer:transfer --content photo.jpg --blend great_wave.jpg:0.7 --blend the_kiss.jpg:0.3',
    'efficientai-toolkit coreml-stable-diffusion-style-transfer:transfer --content-image photo.jpg --style mosaic',
    'efficientai-toolkit style-transfer:transfer --method diffusion --content photo.jpg --style watercolor --model sd-1.5',
    'efficientai-toolkit style-transfer:transfer --method diffusion --prompt "an oil painting" --strength 0.5 --steps 30 --lora style.safetensors:0.8',
  ],
  async run(args, ctx) {
    if (args.method === 'diffusion') {
      if (args['style-image'] !== undefined || args.blend.length > 0) {
        throw new UsageError(
          '--method diffusion takes --prompt or --style NAME, not style images (--style-image, --blend)',
        );
      }
      const { transferDiffusion } = await import('./diffusion.js');
      return transferDiffusion(
        {
          ...args,
          content: args.content ?? args['content-image'] ?? defaultContent(),
          negativePrompt: args['negative-prompt'],
          loras: args.lora,
        },
        ctx,
      );
    }
    const diffusionOnly = [
      'prompt',
      'negative-prompt',
      'steps',
      'guidance',
      'scheduler',
      'model',
      'seed',
      'noise',
    ] as const;
    const stray: string[] = diffusionOnly.filter((k) => args[k] !== undefined);
    if (args.lora.length > 0) stray.push('lora');
    if (stray.length) throw new UsageError(`${stray.map((k) => `--${k}`).join(', ')}: only with --method diffusion`);
    const strength = args.strength ?? 1;
    const chosen = await chooseStyle(args, ctx.cwd);
    const styleLabel = chosen.kind === 'named' ? chosen.name : chosen.label;
    if (chosen.kind === 'named' && strength !== 1) {
      ctx.log.warn(`--strength applies to arbitrary style (a style image); the named style '${styleLabel}' ignores it`);
    }
    let style: StyleChoice;
    if (chosen.kind === 'named') {
      style = { kind: 'named', name: chosen.name };
    } else {
      const images: { image: RgbaImage; weight: number; name: string }[] = [];
      for (const f of chosen.files) {
        images.push({ image: await readImage(f.path), weight: f.weight, name: basename(f.path, extname(f.path)) });
      }
      style = images.length === 1 ? { kind: 'image', ...images[0] } : { kind: 'blend', images };
    }
    const content = args.content ?? args['content-image'] ?? defaultContent();
    const batch = await isDirectory(content);
    const inputs = batch ? await listImages(content) : [content];
    const outDir = batch ? (args.output ?? resolve(ctx.cwd, `${basename(content)}-${styleLabel}`)) : undefined;
    const pipeline = new StyleTransferPipeline(registryModelSource);
    const progress = batch ? ctx.progress('images') : undefined;
    progress?.start(inputs.length, `Stylising ${inputs.length} images with ${styleLabel}`);
    const results: { input: string; output: string; result: TransferResult; encodeMs: number }[] = [];
    try {
      for (const input of inputs) {
        if (ctx.signal.aborted) throw new UsageError('interrupted');
        const output = outDir
          ? join(outDir, outputName(input, styleLabel))
          : (args.output ?? resolve(ctx.cwd, outputName(input, styleLabel)));
        const started = performance.now();
        const image = await readImage(input);
        const decodeMs = performance.now() - started;
        const result = await pipeline.transfer(
          image,
          style,
          {
            size: args.size,
            strength,
            styleSize: args['style-size'],
            arbitraryWeights: args['arbitrary-weights'],
          },
          (s, state) => logStage(ctx, s, state),
        );
        const encodeStart = performance.now();
        await mkdir(dirname(output), { recursive: true });
        await writeImage(output, result.image);
        const encodeMs = performance.now() - encodeStart;
        results.push({
          input,
          output,
          result: { ...result, times: { ...result.times } },
          encodeMs: encodeMs + decodeMs,
        });
        if (!ctx.json && !batch) ctx.log.info(summaryLine(output, result));
        progress?.tick();
      }
      progress?.done();
    } catch (err) {
      progress?.abort();
      throw err;
    } finally {
      await pipeline.dispose();
    }
    const arbitrary =
      chosen.kind === 'files'
        ? {
            styleImages: chosen.files.map((f) => ({ path: f.path, weight: f.weight })),
            strength,
            styleSize: args['style-size'],
            weights: args['arbitrary-weights'],
          }
        : undefined;
    const summary = {
      style: styleLabel,
      ...(arbitrary ? { arbitrary } : {}),
      backend: results[0]?.result.backend,
      size: args.size,
      images: results.map(({ input, output, result, encodeMs }) => ({
        input,
        output,
        inputSize: result.input,
        outputSize: result.output,
        ms: { ...result.times, 'decode+encode': encodeMs },
      })),
    };
    ctx.output(summary, results.map((r) => `Wrote ${r.output}`).join('\n'));
  },
});

function logStage(ctx: CommandContext, stage: Stage, state: 'start' | 'done'): void {
  if (state === 'start') ctx.log.debug(`${stage}…`);
}

const styles = defineCommand({
  name: 'styles',
  summary: 'List the named styles and the arbitrary-style networks with their licences',
  description:
    'Named styles are fast per-style networks: --style NAME. Any image can also be the style (--style PATH, ' +
    '--style-image PATH or --blend PATH:WEIGHT): Magenta arbitrary style transfer, listed below the named styles. ' +
    'With --json the output is the array of named styles.',
  options: [],
  examples: ['efficientai-toolkit style-transfer:styles', 'efficientai-toolkit style-transfer:styles --json'],
  async run(_args, ctx) {
    const width = Math.max(...NAMED_STYLES.map((s) => s.name.length));
    const arbitrary = Object.values(ARBITRARY_STYLE_MODELS);
    ctx.output(
      NAMED_STYLES,
      [
        ...NAMED_STYLES.map((s) => `${s.name.padEnd(width)}  ${s.title}  (${s.license}; ${s.source})`),
        '',
        'Arbitrary style: any image is a style with --style PATH or --style-image PATH, --strength 0..1 and',
        '--blend PATH:WEIGHT (repeatable). Networks (--arbitrary-weights):',
        ...arbitrary.map(
          (m) => `${m.weights.padEnd(width)}  ${m.title}, model ${m.model}  (${m.license}; ${m.source})`,
        ),
      ].join('\n'),
    );
  },
});

export const project: ProjectSpec = {
  namespace: 'style-transfer',
  aliases: ['coreml-stable-diffusion-style-transfer'],
  summary:
    'Fast per-style and arbitrary (any image) neural style transfer, and Stable Diffusion img2img (--method diffusion)',
  commands: [transfer, styles],
};
