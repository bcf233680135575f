/**
 * `style-transfer:transfer`: reads the content and style images, runs the pipeline on the chosen backend
 * and writes the results. Loaded by commands.ts only when the command runs.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import type { RgbaImage } from '../../core/image.js';
import { readImage, writeImage } from '../../node/image/codec.js';
import { defaultImagesDir } from '../../node/paths.js';
import type { TransferArgs } from './commands.js';
import { registryModelSource } from './node-models.js';
import { type Stage, type StyleChoice, StyleTransferPipeline, type TransferResult } from './pipeline.js';
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

/** Run `style-transfer:transfer` with parsed arguments. */
export async function runTransfer(args: TransferArgs, ctx: CommandContext): Promise<void> {
  const chosen = await chooseStyle(args, ctx.cwd);
  const styleLabel = chosen.kind === 'named' ? chosen.name : chosen.label;
  if (chosen.kind === 'named' && args.strength !== 1) {
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
      ctx.signal.throwIfAborted();
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
          strength: args.strength,
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
          strength: args.strength,
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
}

function logStage(ctx: CommandContext, stage: Stage, state: 'start' | 'done'): void {
  if (state === 'start') ctx.log.debug(`${stage}…`);
}
