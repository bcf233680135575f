/**
 * The style transfer workflow (seed project coreml-stable-diffusion-style-transfer):
 * `transfer` stylises one image or a folder of them; `styles` lists the named styles.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type CommandContext, defineCommand, type ProjectSpec } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { readImage, writeImage } from '../../node/image/codec.js';
import { defaultImagesDir } from '../../node/paths.js';
import { registryModelSource } from './node-models.js';
import {
  DEFAULT_SIZE,
  MAX_SIZE,
  MIN_SIZE,
  type Stage,
  StyleTransferPipeline,
  type TransferResult,
} from './pipeline.js';
import { DEFAULT_STYLE, findStyle, NAMED_STYLES } from './styles.js';

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
  summary: 'Stylise an image (or a folder of images) with a named style',
  description:
    'Scales the content image so its long side is --size pixels (keeping the aspect ratio), runs the style network ' +
    'on the current backend and writes a PNG or JPEG (by the output extension). Without --content it stylises the ' +
    'bundled public-domain astronaut photo. A folder as --content stylises every .png/.jpg in it, with a progress bar, ' +
    'into the --output folder. Named styles are fast per-style networks (see style-transfer:styles); their weights come ' +
    'from the model registry (EAI_MODELS_DIR or the download cache). Large images are scaled, not tiled: the networks ' +
    'normalise with whole-image statistics.',
  options: [
    {
      name: 'content',
      type: 'path',
      description: 'Content image, or a folder of images (default: the astronaut sample)',
    },
    { name: 'style', type: 'string', description: 'Named style (see style-transfer:styles)', default: DEFAULT_STYLE },
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
      description: 'How much style to apply, 0..1 (arbitrary style images only)',
      default: 1,
      min: 0,
      max: 1,
    },
    {
      name: 'output',
      type: 'path',
      description: 'Output file (.png/.jpg), or folder for a folder of inputs (default: <content>-<style>.png here)',
    },
    { name: 'content-image', type: 'path', description: 'Same as --content (the seed CLI name)' },
    { name: 'style-image', type: 'path', description: 'A style image (arbitrary style; the seed CLI name)' },
  ],
  examples: [
    'efficientai-toolkit style-transfer:transfer',
    'efficientai-toolkit style-transfer:transfer --content photo.jpg --style candy --size 768 --output candy.png',
    'efficientai-toolkit style-transfer:transfer --content photos/ --style udnie --output stylized/ --json',
    'efficientai-toolkit coreml-stable-diffusion-style-transfer:transfer --content-image photo.jpg --style mosaic',
  ],
  async run(args, ctx) {
    if (args['style-image']) {
      throw new UsageError(
        'arbitrary style from an image (--style-image) needs the Magenta networks, which this build does not run yet; use --style with a named style',
      );
    }
    const style = findStyle(args.style);
    if (!style) {
      throw new UsageError(
        `unknown style '${args.style}': choose one of ${NAMED_STYLES.map((s) => s.name).join(', ')} (style-transfer:styles lists them)`,
      );
    }
    const content = args.content ?? args['content-image'] ?? defaultContent();
    const batch = await isDirectory(content);
    const inputs = batch ? await listImages(content) : [content];
    const outDir = batch ? (args.output ?? resolve(ctx.cwd, `${basename(content)}-${style.name}`)) : undefined;
    const pipeline = new StyleTransferPipeline(registryModelSource);
    const progress = batch ? ctx.progress('images') : undefined;
    progress?.start(inputs.length, `Stylising ${inputs.length} images with ${style.name}`);
    const results: { input: string; output: string; result: TransferResult; encodeMs: number }[] = [];
    try {
      for (const input of inputs) {
        if (ctx.signal.aborted) throw new UsageError('interrupted');
        const output = outDir
          ? join(outDir, outputName(input, style.name))
          : (args.output ?? resolve(ctx.cwd, outputName(input, style.name)));
        const started = performance.now();
        const image = await readImage(input);
        const decodeMs = performance.now() - started;
        const result = await pipeline.transfer(
          image,
          { kind: 'named', name: style.name },
          { size: args.size },
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
      pipeline.dispose();
    }
    const summary = {
      style: style.name,
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
  summary: 'List the named styles with their licences',
  options: [],
  examples: ['efficientai-toolkit style-transfer:styles', 'efficientai-toolkit style-transfer:styles --json'],
  async run(_args, ctx) {
    const width = Math.max(...NAMED_STYLES.map((s) => s.name.length));
    ctx.output(
      NAMED_STYLES,
      [
        ...NAMED_STYLES.map((s) => `${s.name.padEnd(width)}  ${s.title}  (${s.license}; ${s.source})`),
        '',
        'Any image can also be a style with --style-image (arbitrary style; not available in this build yet).',
      ].join('\n'),
    );
  },
});

export const project: ProjectSpec = {
  namespace: 'style-transfer',
  aliases: ['coreml-stable-diffusion-style-transfer'],
  summary: 'Fast and arbitrary neural style transfer, Stable Diffusion img2img, ONNX and Core ML export',
  commands: [transfer, styles],
};
