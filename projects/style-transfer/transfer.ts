/**
 * `style-transfer:transfer`: reads the content and style images, runs the pipeline on the chosen backend
 * and writes the results. Loaded by commands.ts only when the command runs.
 *
 * Every check a user can fail happens before any network runs: the style, the inputs, the output paths
 * (an output that would replace an input is refused without --force), and a warning with a faster way when
 * the run will take minutes. In a batch an image that fails names itself; --keep-going carries on and
 * reports the failures at the end (exit 1).
 */
import { mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type CommandContext, EXIT } from '../../cli/command.js';
import type { BackendName } from '../../core/backend.js';
import { UsageError } from '../../core/errors.js';
import type { RgbaImage } from '../../core/image.js';
import * as T from '../../index.js';
import { transformerNetFlops } from '../../models/fast-style/transformer-net.js';
import { fitSize } from '../../models/image-tensor.js';
import { DEFAULT_STYLE, findStyle, NAMED_STYLES } from '../../models/styles.js';
import { formatForPath, readImage, writeImage } from '../../node/image/codec.js';
import { defaultImagesDir } from '../../node/paths.js';
import { DEFAULT_OUTPUT_DIR, type TransferArgs } from './commands.js';
import { estimateSeconds, formatEstimate, SLOW_RUN_SECONDS, TYPICAL_GFLOPS } from './estimate.js';
import { registryModelSource } from './node-models.js';
import { type Stage, type StyleChoice, StyleTransferPipeline, type TransferResult } from './pipeline.js';

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

async function statOf(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  const st = await statOf(path);
  if (!st) throw new UsageError(`${path}: no such file or folder`);
  return st.isDirectory();
}

async function isFile(path: string): Promise<boolean> {
  return (await statOf(path))?.isFile() === true;
}

/** A style image given on the command line, read once for every content image. */
interface StyleFile {
  readonly path: string;
  readonly weight: number;
}

/** A parsed --blend value; `badWeight` is the text after the last colon when it is not a number. */
interface BlendArg {
  readonly path: string;
  readonly weight: number;
  readonly badWeight?: { readonly path: string; readonly text: string };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * `PATH:WEIGHT` (the weight after the last colon). Without a numeric weight the whole argument is the path
 * with weight 1, and `badWeight` keeps the other reading, so that a missing file can be reported as a bad weight.
 */
export function parseBlend(arg: string): BlendArg {
  const colon = arg.lastIndexOf(':');
  const tail = colon >= 0 ? arg.slice(colon + 1) : '';
  if (colon > 0 && NUMBER.test(tail)) {
    const weight = Number(tail);
    if (!(weight >= 0)) throw new UsageError(`--blend ${arg}: the weight ${tail} must be ≥ 0`);
    return { path: arg.slice(0, colon), weight };
  }
  return colon > 0
    ? { path: arg, weight: 1, badWeight: { path: arg.slice(0, colon), text: tail } }
    : { path: arg, weight: 1 };
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
  const files = async (list: readonly BlendArg[]) => {
    const out: StyleFile[] = [];
    for (const { path, weight, badWeight } of list) {
      const abs = resolve(cwd, path);
      if (!(await isFile(abs))) {
        if (badWeight && (await isFile(resolve(cwd, badWeight.path)))) {
          throw new UsageError(
            `--blend ${path}: '${badWeight.text}' is not a weight; give a number ≥ 0 after the last colon, e.g. ${badWeight.path}:0.5`,
          );
        }
        throw new UsageError(`${abs}: no such style image file`);
      }
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

/**
 * Where each input's result goes. Without --output: ./stylized/<name>-<style>.png, or for a folder
 * ./stylized/<folder>/<name>-<style>.png. --output names the file for one image, or a folder: an existing
 * one for one image, the one to fill for a folder. Refused before any work: a folder input with a file
 * --output, an unsupported extension, and an output that is one of the inputs (unless --force).
 */
async function planOutputs(o: {
  readonly output: string | undefined;
  readonly content: string;
  readonly batch: boolean;
  readonly inputs: readonly string[];
  readonly styleFiles: readonly string[];
  readonly style: string;
  readonly force: boolean;
  readonly cwd: string;
}): Promise<string[]> {
  let dir: string | undefined;
  let file: string | undefined;
  const given = o.output === undefined ? undefined : await statOf(o.output);
  if (o.batch) {
    if (
      o.output !== undefined &&
      (given?.isFile() || (!given && IMAGE_EXTENSIONS.has(extname(o.output).toLowerCase())))
    ) {
      throw new UsageError(
        `--output ${o.output}: --content is a folder (${o.content}), so --output must be the folder to write its ` +
          `images into, not ${given ? 'a file' : 'an image file name'}`,
      );
    }
    dir = o.output ?? join(o.cwd, DEFAULT_OUTPUT_DIR, basename(o.content));
  } else if (o.output === undefined) dir = join(o.cwd, DEFAULT_OUTPUT_DIR);
  else if (given?.isDirectory()) dir = o.output;
  else file = o.output;

  const names = o.inputs.map((input) => basename(input, extname(input)));
  const outputs = o.inputs.map((input, i) => {
    if (file !== undefined) return file;
    // Two inputs with one name (a.png, a.jpg) keep their extensions apart.
    const shared = names.filter((n) => n === names[i]).length > 1;
    const stem = shared ? `${names[i]}-${extname(input).slice(1).toLowerCase()}` : names[i];
    return join(dir!, `${stem}-${o.style}.png`);
  });
  if (file !== undefined && extname(file) === '') {
    throw new UsageError(
      `--output ${file}: no such folder, and no image extension; name a .png or .jpg file, or an existing folder to write into`,
    );
  }
  for (const out of new Set(outputs)) formatForPath(out);

  if (!o.force) {
    const real = async (p: string) => realpath(p).catch(() => resolve(p));
    const protectedFiles = new Map<string, string>();
    for (const p of o.inputs) protectedFiles.set(await real(p), 'the content image');
    for (const p of o.styleFiles) protectedFiles.set(await real(p), 'a style image');
    for (const out of outputs) {
      const which = protectedFiles.get(await real(out));
      if (which) {
        throw new UsageError(
          `--output ${out} is ${which} itself: writing would replace it. Choose another --output, or add --force to overwrite it`,
        );
      }
    }
  }
  return outputs;
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

/**
 * Say up front when a run will take minutes, with a faster way. `sizes` are the outputs' sizes (for a folder
 * not yet read: size × size each, an upper bound).
 */
async function warnIfSlow(
  ctx: CommandContext,
  sizes: readonly { width: number; height: number }[],
  upperBound: boolean,
  size: number,
): Promise<void> {
  const availability = await T.backendAvailability();
  const emulated = availability.webgpu.available && availability.webgpu.details?.emulated === true;
  const secondsOn = (b: BackendName) =>
    sizes.reduce((sum, s) => sum + estimateSeconds(b, b === 'webgpu' && emulated, s.width, s.height), 0);
  const seconds = secondsOn(ctx.backend);
  if (seconds < SLOW_RUN_SECONDS) return;
  const gflop = sizes.reduce((sum, s) => sum + transformerNetFlops(s.height, s.width), 0) / 1e9;
  const rate = TYPICAL_GFLOPS[ctx.backend === 'webgpu' && emulated ? 'webgpu-emulated' : ctx.backend];
  const faster = T.BACKEND_NAMES.filter((b) => b !== ctx.backend && availability[b].available)
    .map((b) => ({ b, s: secondsOn(b) }))
    .filter(({ s }) => s < seconds / 4)
    .sort((a, b) => a.s - b.s)[0];
  const half = Math.max(16, Math.round(size / 2));
  ctx.log.warn(
    `this run will take ${upperBound ? 'up to ' : ''}${formatEstimate(seconds)}: ${sizes.length === 1 ? 'the image is' : `${sizes.length} images are`} ` +
      `${gflop.toFixed(0)} GFLOP of work, and the ${ctx.backend}${emulated && ctx.backend === 'webgpu' ? ' (CPU-emulated)' : ''} backend runs ` +
      `about ${rate} GFLOP/s. Faster: ${faster ? `--backend ${faster.b} (${formatEstimate(faster.s)}), or ` : ''}` +
      `--size ${half} (${formatEstimate(seconds / 4)}). Ctrl-C stops it.`,
  );
}

/** An error from one input, with that input named in its message. */
function naming(err: unknown, input: string): unknown {
  if (
    err instanceof Error &&
    err.name !== 'CancelledError' &&
    err.name !== 'AbortError' &&
    !err.message.includes(input)
  ) {
    err.message = `${input}: ${err.message}`;
  }
  return err;
}

function hasTransparency(image: RgbaImage): boolean {
  for (let i = 3; i < image.data.length; i += 4) if (image.data[i] !== 255) return true;
  return false;
}

/** Run `style-transfer:transfer` with parsed arguments. */
export async function runTransfer(args: TransferArgs, ctx: CommandContext): Promise<number> {
  if (args.method === 'diffusion') {
    if (args['style-image'] !== undefined || args.blend.length > 0) {
      throw new UsageError(
        '--method diffusion takes --prompt or --style NAME, not style images (--style-image, --blend)',
      );
    }
    const { transferDiffusion } = await import('./diffusion.js');
    await transferDiffusion(
      {
        ...args,
        content: args.content ?? args['content-image'] ?? defaultContent(),
        negativePrompt: args['negative-prompt'],
        loras: args.lora,
      },
      ctx,
    );
    return EXIT.ok;
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
  const content = args.content ?? args['content-image'] ?? defaultContent();
  const batch = await isDirectory(content);
  const inputs = batch ? await listImages(content) : [content];
  const outputs = await planOutputs({
    output: args.output,
    content,
    batch,
    inputs,
    styleFiles: chosen.kind === 'files' ? chosen.files.map((f) => f.path) : [],
    style: styleLabel,
    force: args.force,
    cwd: ctx.cwd,
  });

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
  // One image is read now (its size makes the estimate exact); a folder's images as they come.
  const readStart = performance.now();
  const first = batch ? undefined : await readImage(content);
  const firstDecodeMs = performance.now() - readStart;
  await warnIfSlow(
    ctx,
    first
      ? [fitSize(first.width, first.height, args.size)]
      : inputs.map(() => ({ width: args.size, height: args.size })),
    !first,
    args.size,
  );

  const pipeline = new StyleTransferPipeline(registryModelSource);
  const progress = batch ? ctx.progress('images') : undefined;
  progress?.start(inputs.length, `Stylising ${inputs.length} images with ${styleLabel}`);
  const results: { input: string; output: string; result: TransferResult; encodeMs: number }[] = [];
  const failures: { input: string; error: string }[] = [];
  try {
    for (const [i, input] of inputs.entries()) {
      ctx.signal.throwIfAborted();
      const output = outputs[i];
      try {
        const started = performance.now();
        const image = first ?? (await readImage(input));
        const decodeMs = first ? firstDecodeMs : performance.now() - started;
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
        if (formatForPath(output) === 'jpeg' && hasTransparency(result.image)) {
          ctx.log.warn(
            `${output}: JPEG has no transparency, so ${input}'s alpha channel is dropped (write .png to keep it)`,
          );
        }
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
      } catch (err) {
        naming(err, input);
        if (!(args['keep-going'] && batch) || (err as Error).name === 'CancelledError') throw err;
        failures.push({ input, error: (err as Error).message });
        ctx.log.error((err as Error).message);
      }
      progress?.tick();
    }
    progress?.done();
  } catch (err) {
    progress?.abort();
    if (results.length > 0)
      ctx.log.info(`stopped after ${results.length} of ${inputs.length} images (those are written)`);
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
    backend: results[0]?.result.backend ?? ctx.backend,
    size: args.size,
    images: results.map(({ input, output, result, encodeMs }) => ({
      input,
      output,
      inputSize: result.input,
      outputSize: result.output,
      ms: { ...result.times, 'decode+encode': encodeMs },
    })),
    ...(failures.length > 0 ? { failures } : {}),
  };
  const lines = results.map((r) => `Wrote ${r.output}`);
  if (failures.length > 0) {
    lines.push(`${failures.length} of ${inputs.length} images failed:`, ...failures.map((f) => `  ${f.error}`));
  }
  ctx.output(summary, lines.join('\n'));
  return failures.length > 0 ? EXIT.failure : EXIT.ok;
}

function logStage(ctx: CommandContext, stage: Stage, state: 'start' | 'done'): void {
  if (state === 'start') ctx.log.debug(`${stage}…`);
}
