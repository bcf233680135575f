/**
 * `style-transfer:convert`: a network (see ./convert-model.ts for the sources) traced once on example inputs
 * and written as a Core ML ML Program (`.mlpackage`) or an ONNX model (`.onnx`, opset 17), then checked:
 * the `.mlpackage` is read back from disk and its MIL program interpreted on the toolkit's backends, the
 * `.onnx` run in onnxruntime-node (when installed), and each output compared with the toolkit's own output
 * for the same input. The input shape is fixed at export (`--size`).
 * @module
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { decodeCoreMLModel, encodeCoreMLModel } from '../../core/io/coreml.js';
import * as T from '../../index.js';
import { opCounts, type Trace, traceGraph } from '../../models/export/graph.js';
import { COREML_SPEC_VERSION, type ComputePrecision, exportMil } from '../../models/export/mil-export.js';
import { MilInterpreter } from '../../models/export/mil-run.js';
import { exportOnnxWithData, ONNX_OPSET } from '../../models/export/onnx-export.js';
import { DEFAULT_STYLE } from '../../models/styles.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { readMlPackage, writeMlPackage } from '../../node/io/mlpackage.js';
import { componentsOf, type ExportableModel, loadExportable, resolveModelArg } from './convert-model.js';

export type OutputFormat = 'mlpackage' | 'onnx';

/** ONNX weights past this many bytes go to `<output>.data` (protobuf messages stop at 2 GB). */
export const ONNX_EXTERNAL_ABOVE = 1.5e9;

export interface ConvertOptions {
  readonly modelPath: string;
  readonly outputPath: string;
  /** [height, width] of the image input (default: 512×512; Stable Diffusion: the UNet's sample size in pixels). */
  readonly size?: readonly [number, number];
  readonly component?: string;
  readonly precision: ComputePrecision;
  readonly quantizeBits?: 4 | 6 | 8;
  readonly verify: boolean;
  readonly signal?: AbortSignal;
  readonly onStage?: (stage: string) => void;
  readonly onWeight?: (done: number, total: number) => void;
}

export interface Verification {
  /** What ran the written file. */
  readonly runtime: string;
  readonly maxAbsDiff: number;
  readonly meanAbsDiff: number;
  /** The largest value of the reference output (the scale the differences are on). */
  readonly outputMaxAbs: number;
  /** Peak signal to noise ratio in dB: 20·log10(max |y| / RMS Δ), as Apple's converter reports it. */
  readonly psnrDb: number;
  /**
   * The max |Δ| allowed (float32 files), or null where it is not the criterion: float16 .mlpackage files are
   * judged by `minPsnrDb`, palettized ones are reported, not judged.
   */
  readonly tolerance: number | null;
  /** The least PSNR allowed (float16 .mlpackage files), else null. */
  readonly minPsnrDb: number | null;
  readonly ok: boolean;
}

export interface ConvertResult {
  readonly input: string;
  readonly output: string;
  readonly format: OutputFormat;
  readonly model: string;
  readonly architecture: string;
  readonly inputs: readonly { name: string; shape: readonly number[]; meaning: string }[];
  readonly outputs: readonly { name: string; shape: readonly number[]; meaning: string }[];
  readonly ops: Readonly<Record<string, number>>;
  readonly weights: number;
  readonly bytes: number;
  readonly precision: ComputePrecision;
  readonly quantizeBits: number | null;
  readonly palettized: { readonly weights: number; readonly maxRmsError: number } | null;
  readonly verification: Verification | { readonly skipped: string };
  readonly ms: Readonly<Record<string, number>>;
}

/** `512`, `512x384` (height × width) → [h, w]. */
export function parseSize(text: string): [number, number] {
  const m = /^(\d+)(?:[x×](\d+))?$/i.exec(text.trim());
  const h = m ? Number(m[1]) : Number.NaN;
  const w = m?.[2] ? Number(m[2]) : h;
  if (!m || !(h >= 16 && h <= 2048 && w >= 16 && w <= 2048)) {
    throw new UsageError(
      `--size ${text}: give the image input as SIDE or HEIGHTxWIDTH, each 16..2048 (e.g. 512 or 384x512)`,
    );
  }
  return [h, w];
}

export function outputFormat(path: string): OutputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.mlpackage') return 'mlpackage';
  if (ext === '.onnx') return 'onnx';
  throw new UsageError(`--output-path ${path}: the extension picks the format: .mlpackage (Core ML) or .onnx`);
}

interface Difference {
  readonly max: number;
  readonly mean: number;
  /** max |reference|: the scale the differences are on. */
  readonly scale: number;
  readonly psnrDb: number;
}

function compare(reference: Float32Array, got: ArrayLike<number>): Difference {
  let max = 0;
  let sum = 0;
  let squares = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(reference[i] - got[i]);
    max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(max, d);
    sum += d;
    squares += d * d;
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  const n = Math.max(reference.length, 1);
  // coremltools/ml-stable-diffusion's _compute_psnr: 20·log10((max|b| + ε) / (√mse + ε)).
  const eps = 1e-5;
  const psnrDb = Number.isFinite(max) ? 20 * Math.log10((scale + eps) / (Math.sqrt(squares / n) + eps)) : -Infinity;
  return { max, mean: sum / n, scale, psnrDb };
}

/** float32 files differ only by summation order: max |Δ| within 1e-3 of the output's scale. */
function float32Tolerance(scale: number): number {
  return 1e-3 * Math.max(scale, 1);
}

/**
 * float16 files round weights and every stored activation; an error bound on the largest |Δ| fails on
 * the one element a deep network happens to amplify (a text encoder position measured at 3.7% of the output
 * scale while the mean stays at 0.1%), so they are judged as Apple's Stable Diffusion converter judges its
 * float16 Core ML models: PSNR at least 35 dB (ml-stable-diffusion torch2coreml.py ABSOLUTE_MIN_PSNR).
 */
export const FLOAT16_MIN_PSNR_DB = 35;

async function verifyOnnx(
  path: string,
  model: ExportableModel,
  reference: Float32Array,
): Promise<Verification | { skipped: string }> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = (await import('onnxruntime-node')).default as unknown as typeof import('onnxruntime-node');
  } catch (err) {
    return { skipped: `onnxruntime-node is not installed here (${(err as Error).message.split('\n')[0]})` };
  }
  // From the path, so external weights next to it are found.
  const session = await ort.InferenceSession.create(path);
  try {
    const feeds = Object.fromEntries(
      model.inputs.map((i) => [
        i.name,
        i.dtype === 'i32'
          ? new ort.Tensor('int32', Int32Array.from(i.data), [...i.shape])
          : new ort.Tensor('float32', Float32Array.from(i.data), [...i.shape]),
      ]),
    );
    const out = await session.run(feeds);
    const got = out[model.outputs[0].name].data as Float32Array;
    const d = compare(reference, got);
    const tolerance = float32Tolerance(d.scale);
    return {
      runtime: 'onnxruntime-node (CPU)',
      maxAbsDiff: d.max,
      meanAbsDiff: d.mean,
      outputMaxAbs: d.scale,
      psnrDb: d.psnrDb,
      tolerance,
      minPsnrDb: null,
      ok: d.max <= tolerance,
    };
  } finally {
    await session.release();
  }
}

async function verifyMlPackage(
  path: string,
  model: ExportableModel,
  reference: Float32Array,
  precision: ComputePrecision,
  palettized: boolean,
): Promise<Verification> {
  const pkg = await readMlPackage(path);
  const { model: spec, unknown } = decodeCoreMLModel(path, pkg.model);
  if (unknown.length > 0)
    throw new UsageError(`${path}: read back with fields outside the ML Program schema: ${unknown.join(', ')}`);
  const interp = MilInterpreter.load(path, spec, pkg.weights);
  // Core ML inputs are float32 arrays (token ids too: the program casts them).
  const xs = model.inputs.map((i) => T.tensor(Float32Array.from(i.data), [...i.shape]));
  try {
    const out = interp.run(Object.fromEntries(model.inputs.map((i, k) => [i.name, xs[k]])));
    const y = out[model.outputs[0].name];
    const got = await y.data();
    T.dispose(Object.values(out));
    const d = compare(reference, got);
    const tolerance = !palettized && precision === 'float32' ? float32Tolerance(d.scale) : null;
    const minPsnrDb = !palettized && precision === 'float16' ? FLOAT16_MIN_PSNR_DB : null;
    return {
      runtime: `the toolkit's MIL interpreter on ${T.getBackendName()} (Core ML itself runs only on Apple platforms)`,
      maxAbsDiff: d.max,
      meanAbsDiff: d.mean,
      outputMaxAbs: d.scale,
      psnrDb: d.psnrDb,
      tolerance,
      minPsnrDb,
      ok: tolerance !== null ? d.max <= tolerance : minPsnrDb !== null ? d.psnrDb >= minPsnrDb : Number.isFinite(d.max),
    };
  } finally {
    T.dispose(xs);
    interp.dispose();
  }
}

async function sizeOnDisk(path: string, format: OutputFormat, externalData: string | null): Promise<number> {
  if (format === 'onnx') {
    const data = externalData ? (await stat(join(dirname(path), externalData))).size : 0;
    return (await stat(path)).size + data;
  }
  const { model, weights } = await readMlPackage(path);
  return model.length + (weights?.length ?? 0);
}

/** Convert and verify; throws a UsageError for input the user can fix. */
export async function convertModel(options: ConvertOptions): Promise<ConvertResult> {
  const format = outputFormat(options.outputPath);
  if (format === 'onnx' && options.quantizeBits !== undefined) {
    throw new UsageError('--quantize-nbits palettizes Core ML weights; it applies to .mlpackage outputs only');
  }
  const ms: Record<string, number> = {};
  const timed = async <R>(stage: string, fn: () => Promise<R> | R): Promise<R> => {
    options.signal?.throwIfAborted();
    options.onStage?.(stage);
    const t0 = performance.now();
    const r = await fn();
    ms[stage] = performance.now() - t0;
    return r;
  };
  const model = await timed('load', () =>
    loadExportable(options.modelPath, { size: options.size, component: options.component }),
  );
  try {
    const xs = model.inputs.map((i) => T.tensor(i.data, [...i.shape], i.dtype ?? 'f32'));
    let trace: Trace;
    try {
      trace = await timed('trace', () =>
        traceGraph(
          (...ts) => model.forward(...ts),
          model.inputs.map((i, k) => ({ name: i.name, tensor: xs[k] })),
          model.outputs.map((o) => o.name),
        ),
      );
    } finally {
      T.dispose(xs);
    }
    const { graph } = trace;
    // The traced run's own output is the reference the written file must reproduce.
    const reference = Float32Array.from(trace.outputs[0]);
    const doc = `${model.label}; inputs: ${model.inputs.map((i) => `${i.name} [${i.shape}] ${i.meaning}`).join('; ')}; outputs: ${model.outputs.map((o) => `${o.name} ${o.meaning}`).join('; ')}`;
    const outPath = resolve(options.outputPath);
    let palettized: ConvertResult['palettized'] = null;
    let externalData: string | null = null;
    if (format === 'onnx') {
      const weightBytes = [...graph.constants.values()].reduce((n, c) => n + 4 * c.data.length, 0);
      externalData = weightBytes > ONNX_EXTERNAL_ABOVE ? `${basename(outPath)}.data` : null;
      const exported = await timed('export', () =>
        exportOnnxWithData(graph, { graphName: model.architecture, doc, externalData: externalData ?? undefined }),
      );
      await timed('write', async () => {
        // The weights first: a model file never names a data file that is not complete.
        if (externalData) await writeFileAtomic(join(dirname(outPath), externalData), exported.data);
        await writeFileAtomic(outPath, exported.model);
      });
    } else {
      const exported = await timed('export', () =>
        exportMil(graph, {
          precision: options.precision,
          quantizeBits: options.quantizeBits,
          onWeight: options.onWeight,
          signal: options.signal,
          metadata: {
            shortDescription: doc,
            author: 'efficientai-toolkit style-transfer:convert',
            license: model.license,
            versionString: '1',
            userDefined: {
              'efficientai.source': basename(options.modelPath),
              'efficientai.architecture': model.architecture,
              'efficientai.precision': options.precision,
              ...Object.fromEntries(model.inputs.map((i) => [`efficientai.input.${i.name}`, i.meaning])),
              ...Object.fromEntries(model.outputs.map((o) => [`efficientai.output.${o.name}`, o.meaning])),
              ...(options.quantizeBits
                ? { 'efficientai.palettization': `${options.quantizeBits}-bit k-means LUT, per tensor` }
                : {}),
            },
          },
        }),
      );
      if (exported.palettized.length > 0) {
        palettized = {
          weights: exported.palettized.length,
          maxRmsError: Math.max(...exported.palettized.map((p) => p.rmsError)),
        };
      }
      await timed('write', () =>
        writeMlPackage(
          outPath,
          { model: encodeCoreMLModel(exported.model), weights: exported.weights },
          options.signal,
        ),
      );
    }
    let verification: ConvertResult['verification'] = { skipped: 'not asked for (--no-verify)' };
    if (options.verify) {
      verification = await timed('verify', () =>
        format === 'onnx'
          ? verifyOnnx(outPath, model, reference)
          : verifyMlPackage(outPath, model, reference, options.precision, options.quantizeBits !== undefined),
      );
    }
    const outputShapes = graph.outputs.map((o) => o.value.shape);
    return {
      input: options.modelPath,
      output: outPath,
      format,
      model: model.label,
      architecture: model.architecture,
      inputs: model.inputs.map((i) => ({ name: i.name, shape: i.shape, meaning: i.meaning })),
      outputs: model.outputs.map((o, k) => ({ name: o.name, shape: outputShapes[k], meaning: o.meaning })),
      ops: opCounts(graph),
      weights: [...graph.constants.values()].reduce((n, c) => n + c.data.length, 0),
      bytes: await sizeOnDisk(outPath, format, externalData),
      precision: format === 'onnx' ? 'float32' : options.precision,
      quantizeBits: options.quantizeBits ?? null,
      palettized,
      verification,
      ms,
    };
  } finally {
    model.dispose();
  }
}

/** The human summary of a conversion. */
export function describeConversion(r: ConvertResult): string {
  const io = (list: ConvertResult['inputs']) =>
    list.map((i) => `${i.name} [${i.shape.join(', ')}] (${i.meaning})`).join(', ');
  const kind =
    r.format === 'onnx'
      ? `ONNX opset ${ONNX_OPSET}, float32`
      : `Core ML ML Program (spec ${COREML_SPEC_VERSION}, iOS 16+), ${r.precision}${r.quantizeBits ? `, ${r.quantizeBits}-bit palettized weights` : ''}`;
  const lines = [
    `Wrote ${r.output}: ${kind}, ${(r.bytes / 1e6).toFixed(2)} MB`,
    `  model:   ${r.model}`,
    `  inputs:  ${io(r.inputs)}`,
    `  outputs: ${io(r.outputs)}`,
    `  ops:     ${Object.entries(r.ops)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ')}`,
  ];
  if (r.palettized)
    lines.push(
      `  palettized ${r.palettized.weights} weights, largest RMS weight error ${r.palettized.maxRmsError.toExponential(2)}`,
    );
  const v = r.verification;
  if ('skipped' in v) lines.push(`  not verified: ${v.skipped}`);
  else {
    const verdict =
      v.tolerance !== null
        ? v.ok
          ? `(within ${v.tolerance.toPrecision(3)})`
          : `— OVER the tolerance ${v.tolerance.toPrecision(3)}`
        : v.minPsnrDb !== null
          ? v.ok
            ? `(PSNR ≥ ${v.minPsnrDb} dB)`
            : `— PSNR UNDER ${v.minPsnrDb} dB`
          : '(palettized: reported, not judged)';
    lines.push(
      `  verified with ${v.runtime}: max |Δ| ${v.maxAbsDiff.toPrecision(3)}, mean |Δ| ${v.meanAbsDiff.toPrecision(3)}, PSNR ${v.psnrDb.toFixed(1)} dB against the toolkit's output (max |y| ${v.outputMaxAbs.toPrecision(3)}) ${verdict}`,
    );
  }
  return lines.join('\n');
}

/** The parsed options of `style-transfer:convert` (projects/style-transfer/commands.ts declares them). */
export interface ConvertCommandArgs {
  readonly 'model-path'?: string;
  readonly 'output-path'?: string;
  readonly size?: string;
  readonly 'quantize-nbits'?: '4' | '6' | '8';
  readonly precision: ComputePrecision;
  readonly component?: string;
  readonly verify: boolean;
}

/** `style-transfer:convert`: convert, print what was written and how it checked; exit 1 when a check failed. */
export async function convertCommand(args: ConvertCommandArgs, ctx: CommandContext): Promise<number | undefined> {
  const modelArg = args['model-path'] ?? DEFAULT_STYLE;
  const modelPath = await resolveModelArg(modelArg, ctx.cwd);
  const outputPath = args['output-path'] ?? resolve(ctx.cwd, `${basename(modelArg, extname(modelArg))}.mlpackage`);
  const size = args.size === undefined ? undefined : parseSize(args.size);
  const ext = extname(outputPath);
  outputFormat(outputPath);
  // A pipeline without --component converts every network, one file each: OUT_<component>.ext.
  const components = args.component === undefined ? await componentsOf(modelPath) : null;
  const jobs = components
    ? components.map((c) => ({
        component: c,
        output: join(dirname(outputPath), `${basename(outputPath, ext)}_${c}${ext}`),
      }))
    : [{ component: args.component, output: outputPath }];
  const results: ConvertResult[] = [];
  const progress = ctx.progress('steps');
  progress.start(5 * jobs.length, `Converting ${modelArg}`);
  try {
    for (const job of jobs) {
      results.push(
        await convertModel({
          modelPath,
          outputPath: job.output,
          size,
          component: job.component,
          precision: args.precision,
          quantizeBits: args['quantize-nbits'] ? (Number(args['quantize-nbits']) as 4 | 6 | 8) : undefined,
          verify: args.verify,
          signal: ctx.signal,
          onStage: (stage) => {
            progress.tick();
            ctx.log.debug(`${stage}…`);
          },
          onWeight: (done, total) => ctx.log.debug(`palettized ${done}/${total} weights`),
        }),
      );
    }
    progress.done();
  } catch (err) {
    progress.abort();
    throw err;
  }
  ctx.output(components ? results : results[0], results.map(describeConversion).join('\n'));
  const failed = results.filter((r) => !('skipped' in r.verification) && !r.verification.ok);
  for (const r of failed) {
    ctx.log.error(
      `${r.output}: the written model's output differs from the toolkit's by more than the criterion allows`,
    );
  }
  return failed.length > 0 ? 1 : undefined;
}
