/**
 * `style-transfer:benchmark`: a style model run on a folder of test images, per backend — per-image latency
 * (median, p90 over every image's runs), throughput and peak tensor memory — written as JSON, Markdown and HTML
 * with bench/'s writers. Models:
 *
 * - a Core ML `.mlpackage` (from `style-transfer:convert`): its MIL program interpreted on the toolkit's
 *   backends (method `coreml-mil`), at the package's fixed input shape;
 * - anything `style-transfer:convert` reads (a named style, `.pth`, `.safetensors`, `.onnx`, Magenta): the
 *   toolkit's own network (method `neural`), each image scaled to `--size` on its long side.
 *
 * A `.mlpackage` is also run by Core ML itself where it exists (macOS, through the native addon: unverified,
 * see ./coreml-runtime.ts); elsewhere the report lists `coreml` as unavailable and why.
 *
 * Each timed run is one image: a tensor in, the output read back (decoding and encoding files are not timed,
 * as in bench:style). Images take turns, so the statistics cover all of them.
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { makeRecord, measure } from '../../bench/harness.js';
import { machineInfo } from '../../bench/machine.js';
import { withPeakTensorBytes } from '../../bench/peak-memory.js';
import type { BenchRecord, BenchReport, UnavailableBackend } from '../../bench/record.js';
import { transformerNetFlops } from '../../bench/style.js';
import { backendStatus, fallbackNotes, parseBackendList } from '../../bench/toolkit.js';
import { type WrittenFiles, writeReportFiles } from '../../bench/writers/json.js';
import { markdownReport } from '../../bench/writers/markdown.js';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { decodeCoreMLModel } from '../../core/io/coreml.js';
import * as T from '../../index.js';
import { MilInterpreter } from '../../models/export/mil-run.js';
import { fitSize, imageToTensor, type RgbaImage, resizeImage } from '../../models/image-tensor.js';
import { DEFAULT_STYLE } from '../../models/styles.js';
import { readImage } from '../../node/image/codec.js';
import { readMlPackage } from '../../node/io/mlpackage.js';
import { defaultImagesDir } from '../../node/paths.js';
import { examplePixels, loadExportable, resolveModelArg } from './convert-model.js';
import { COREML_UNVERIFIED_NOTE, openCoreML } from './coreml-runtime.js';
import { DEFAULT_SIZE, MAX_SIZE, MIN_SIZE } from './pipeline.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export interface BenchmarkOptions {
  readonly modelPath: string;
  /** A folder of images, or one image. */
  readonly testImages: string;
  readonly backends: readonly T.BackendName[];
  /** Long side images are scaled to for models without a fixed input shape. */
  readonly size: number;
  /** Timed runs per image. */
  readonly runs: number;
  readonly warmup: number;
  /** Folder for the JSON, Markdown and HTML reports; null: none. */
  readonly outputDir: string | null;
  /** The command line, recorded in the report. */
  readonly command: string;
  readonly signal?: AbortSignal;
  readonly onPlan?: (total: number) => void;
  readonly onMeasured?: (label: string) => void;
}

interface ImageFile {
  readonly path: string;
  readonly image: RgbaImage;
}

/** A model ready to run on the current backend: inputs per image → one output. */
interface Runner {
  readonly method: 'coreml-mil' | 'neural';
  readonly label: string;
  /** Input tensors for one image (made on the current backend). */
  inputs(image: RgbaImage): T.Tensor[];
  run(inputs: readonly T.Tensor[]): T.Tensor;
  /** `[1,3,512,512]`, or a description when images keep their own shapes. */
  readonly shape: string;
  /** FLOPs for an input, when known. */
  flops(inputs: readonly T.Tensor[]): number | null;
  dispose(): void;
}

async function listImages(path: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    throw new UsageError(`--test-images ${path}: no such file or folder`);
  }
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new UsageError(`--test-images ${path}: no .png, .jpg or .jpeg images in this folder`);
  return names.map((n) => join(path, n));
}

/** An RGB image as [1, 3, h, w] on the 0..`scale` scale. */
function imageInput(image: RgbaImage, h: number, w: number, scale: number): T.Tensor {
  return T.tidy(() => {
    const x = resizeImage(imageToTensor(image), h, w);
    return scale === 255 ? x : T.mul(x, scale / 255);
  });
}

/** 255 for inputs described as 0..255, else 1. */
function scaleOf(meaning: string): number {
  return meaning.includes('0..255') ? 255 : 1;
}

/** Makes a runner per backend; `release` frees what all of them share. */
interface RunnerSource {
  make(): Runner;
  release(): void;
}

async function mlPackageRunner(path: string): Promise<RunnerSource> {
  const pkg = await readMlPackage(path);
  const { model } = decodeCoreMLModel(path, pkg.model);
  const meaning = model.description?.metadata?.userDefined ?? {};
  const make = (): Runner => {
    const interp = MilInterpreter.load(path, model, pkg.weights);
    const image = interp.inputs.find((i) => i.shape.length === 4 && i.shape[1] === 3);
    if (!image) throw new UsageError(`${path}: no [1, 3, H, W] image input to feed the test images to`);
    const others = interp.inputs.filter((i) => i !== image);
    return {
      method: 'coreml-mil',
      label: basename(path),
      shape: `[${image.shape.join(',')}]`,
      inputs: (img) => [
        imageInput(
          img,
          image.shape[2],
          image.shape[3],
          scaleOf(meaning[`efficientai.input.${image.name}`] ?? '0..255'),
        ),
        ...others.map((o) => {
          const n = o.shape.reduce((a, b) => a * b, 1);
          const data =
            o.shape.length === 4
              ? examplePixels(o.shape[2], o.shape[3], scaleOf(meaning[`efficientai.input.${o.name}`] ?? ''))
              : Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i * 0.7));
          return T.tensor(data, o.shape);
        }),
      ],
      run: (xs) => {
        const feeds = Object.fromEntries([image, ...others].map((io, k) => [io.name, xs[k]]));
        const out = interp.run(feeds);
        const [first, ...rest] = interp.outputs.map((o) => out[o.name]);
        T.dispose(rest);
        return first;
      },
      flops: () =>
        meaning['efficientai.architecture'] === 'fast-style'
          ? transformerNetFlops(image.shape[2], image.shape[3])
          : null,
      dispose: () => interp.dispose(),
    };
  };
  return { make, release: () => {} };
}

async function networkRunner(modelPath: string, size: number): Promise<RunnerSource> {
  // The example shapes do not matter here: only the forward pass and the image input's scale are used.
  const model = await loadExportable(modelPath, { size: [64, 64] });
  const [image, ...others] = model.inputs;
  const make = (): Runner => ({
    method: 'neural',
    label: model.label,
    shape: `1×3×H×W, long side ${size}`,
    inputs: (img) => {
      const { width, height } = fitSize(img.width, img.height, size);
      return [
        imageInput(img, height, width, scaleOf(image.meaning)),
        ...others.map((o) => T.tensor(o.data, [...o.shape])),
      ];
    },
    run: (xs) => T.tidy(() => model.forward(...xs)),
    flops: (xs) => (model.architecture === 'fast-style' ? transformerNetFlops(xs[0].shape[2], xs[0].shape[3]) : null),
    // One model serves every backend (its weights move to each backend as ops run): released at the end.
    dispose: () => {},
  });
  return { make, release: () => model.dispose() };
}

/** The package run by Core ML itself (macOS, through the native addon; unverified), each image a timed run. */
async function measureCoreML(
  options: BenchmarkOptions,
  images: readonly ImageFile[],
  machine: ReturnType<typeof machineInfo>,
): Promise<{ record: BenchRecord } | { unavailable: string }> {
  const opened = await openCoreML(options.modelPath);
  if ('unavailable' in opened) return opened;
  const pkg = await readMlPackage(options.modelPath);
  const { model } = decodeCoreMLModel(options.modelPath, pkg.model);
  const inputs = (model.description?.input ?? []).map((d) => ({
    name: d.name ?? '',
    shape: (d.type?.multiArrayType?.shape ?? []).map(Number),
  }));
  const meaning = model.description?.metadata?.userDefined ?? {};
  const feeds = await Promise.all(
    images.map(async ({ image }) => {
      const feed: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const [k, i] of inputs.entries()) {
        let data: Float32Array;
        if (k === 0 && i.shape.length === 4) {
          const t = imageInput(
            image,
            i.shape[2],
            i.shape[3],
            scaleOf(meaning[`efficientai.input.${i.name}`] ?? '0..255'),
          );
          data = Float32Array.from(await t.data());
          t.dispose();
        } else {
          data = Float32Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, (_, j) => 0.5 * Math.sin(j * 0.7));
        }
        feed[i.name] = { data, shape: i.shape };
      }
      return feed;
    }),
  );
  let next = 0;
  const m = await measure(
    async () => {
      await opened.runner.predict(feeds[next++ % feeds.length]);
    },
    { warmup: options.warmup, runs: options.runs * images.length, signal: options.signal },
  );
  const record = makeRecord(
    {
      suite: 'style-benchmark',
      op: `coreml ${basename(options.modelPath)}`,
      size: options.size,
      shape: `[${inputs[0]?.shape.join(',')}]`,
      backend: 'coreml',
      kind: 'peer',
      threads: null,
      dtype: 'f32',
      flops: null,
      machine,
      adapter: null,
      notes: [COREML_UNVERIFIED_NOTE, `throughput ${(1000 / m.stats.mean).toFixed(2)} images/s (batch 1)`],
    },
    m,
  );
  return { record };
}

export interface BenchmarkResult {
  readonly report: BenchReport;
  readonly files: WrittenFiles | null;
}

/** Measure the model on every requested backend. */
export async function runStyleBenchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
  if (!Number.isInteger(options.runs) || options.runs < 1)
    throw new UsageError(`--runs ${options.runs}: give an integer ≥ 1`);
  const paths = await listImages(options.testImages);
  const images: ImageFile[] = [];
  for (const path of paths) images.push({ path, image: await readImage(path) });
  const isPackage = extname(options.modelPath).toLowerCase() === '.mlpackage';
  const source = isPackage
    ? await mlPackageRunner(options.modelPath)
    : await networkRunner(options.modelPath, options.size);
  const machine = machineInfo();
  const records: BenchRecord[] = [];
  const unavailable: UnavailableBackend[] = [];
  const previous = T.getBackendName();
  options.onPlan?.(options.backends.length);
  try {
    for (const name of options.backends) {
      options.signal?.throwIfAborted();
      const status = await backendStatus(name);
      if (!status.available) {
        unavailable.push({ backend: name, reason: status.reason });
        continue;
      }
      await T.setBackend(name);
      const runner = source.make();
      const inputs = images.map((img) => runner.inputs(img.image));
      const ledgerBefore = T.fallbackLedger();
      let next = 0;
      try {
        const {
          result: m,
          startBytes,
          peakBytes,
        } = await withPeakTensorBytes(() =>
          measure(
            async () => {
              const xs = inputs[next++ % inputs.length];
              const y = runner.run(xs);
              try {
                await y.data();
              } finally {
                y.dispose();
              }
            },
            { warmup: options.warmup, runs: options.runs * images.length, signal: options.signal },
          ),
        );
        const flops = inputs.map((xs) => runner.flops(xs));
        const meanFlops = flops.every((f) => f !== null)
          ? (flops as number[]).reduce((a, b) => a + b, 0) / flops.length
          : null;
        const fallbacks = T.ledgerDelta(ledgerBefore, T.fallbackLedger());
        const notes = [
          `${images.length} image(s), ${options.runs} timed run(s) each; ${runner.method === 'coreml-mil' ? 'MIL program interpreted by the toolkit' : "the toolkit's network"}`,
          `throughput ${(1000 / m.stats.mean).toFixed(2)} images/s (batch 1)`,
          `peak tensor memory ${(peakBytes / 1e6).toFixed(1)} MB (${(startBytes / 1e6).toFixed(1)} MB resident before the runs: weights and inputs)`,
          ...(status.adapter?.emulated ? ['CPU-emulated WebGPU adapter: not GPU speed'] : []),
          ...fallbackNotes(fallbacks),
        ];
        const record = makeRecord(
          {
            suite: 'style-benchmark',
            op: `${runner.method} ${runner.label}`,
            size: options.size,
            shape: runner.shape,
            backend: name,
            kind: 'toolkit',
            threads: status.threads,
            dtype: 'f32',
            flops: meanFlops,
            machine,
            adapter: status.adapter,
            fallbacks,
            notes,
          },
          m,
        );
        records.push({ ...record, peakMemoryBytes: peakBytes });
        options.onMeasured?.(name);
      } finally {
        for (const xs of inputs) T.dispose(xs);
        runner.dispose();
      }
    }
    if (isPackage) {
      options.signal?.throwIfAborted();
      const coreml = await measureCoreML(options, images, machine);
      if ('unavailable' in coreml) unavailable.push({ backend: 'coreml', reason: coreml.unavailable });
      else records.push(coreml.record);
    }
  } finally {
    source.release();
    await T.setBackend(previous);
  }
  const report: BenchReport = {
    suite: 'style-benchmark',
    command: options.command,
    machine,
    records,
    unavailable,
    notes: [
      `model: ${options.modelPath}`,
      `test images: ${images.map((i) => `${basename(i.path)} (${i.image.width}×${i.image.height})`).join(', ')}`,
      isPackage
        ? 'Each image is resized to the package input shape (Core ML models have a fixed shape); latency is the interpreted MIL program, not Core ML.'
        : `Each image is scaled so its long side is ${options.size} (aspect kept); latency covers the network (tensor in, output read back).`,
    ],
  };
  const files = options.outputDir ? await writeReportFiles(report, options.outputDir) : null;
  return { report, files };
}

/** The parsed options of `style-transfer:benchmark` (projects/style-transfer/commands.ts declares them). */
export interface BenchmarkCommandArgs {
  readonly 'model-path'?: string;
  readonly 'test-images'?: string;
  readonly backends?: string;
  readonly output?: string;
  readonly size?: number;
  readonly runs: number;
  readonly warmup: number;
}

/** `style-transfer:benchmark`: measure, write the reports, print the Markdown table (or the report as JSON). */
export async function benchmarkCommand(args: BenchmarkCommandArgs, ctx: CommandContext): Promise<void> {
  const modelArg = args['model-path'] ?? DEFAULT_STYLE;
  const modelPath = await resolveModelArg(modelArg, ctx.cwd);
  const samples = defaultImagesDir();
  if (!args['test-images'] && !samples) {
    throw new UsageError(
      'no --test-images given and no sample images found: pass --test-images DIR or set EAI_IMAGES_DIR',
    );
  }
  const images = args['test-images'] ?? join(samples as string, 'content');
  const size = args.size ?? DEFAULT_SIZE;
  if (size < MIN_SIZE || size > MAX_SIZE)
    throw new UsageError(`--size ${size}: use ${MIN_SIZE}..${MAX_SIZE} (pixels, long side)`);
  let backends: T.BackendName[];
  try {
    backends = args.backends ? parseBackendList(args.backends) : [ctx.backend];
  } catch (err) {
    throw new UsageError(`--backends: ${(err as Error).message}`);
  }
  const progress = ctx.progress('backends');
  try {
    const { report, files } = await runStyleBenchmark({
      modelPath,
      testImages: images,
      backends,
      size,
      runs: args.runs,
      warmup: args.warmup,
      outputDir: args.output ?? join(ctx.cwd, 'style-benchmark'),
      command: [
        'efficientai-toolkit style-transfer:benchmark',
        `--model-path ${modelArg}`,
        `--test-images ${images}`,
        `--backends ${backends.join(',')}`,
        `--size ${size}`,
        `--runs ${args.runs}`,
        `--warmup ${args.warmup}`,
      ].join(' '),
      signal: ctx.signal,
      onPlan: (n) => progress.start(n, 'Benchmarking'),
      onMeasured: () => progress.tick(),
    });
    progress.done();
    const written = files ? `\nWrote ${files.json}\n      ${files.markdown}\n      ${files.html}` : '';
    ctx.output({ ...report, files }, `${markdownReport(report)}${written}`);
  } catch (err) {
    progress.abort();
    throw err;
  }
}
