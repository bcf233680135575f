/**
 * Benchmarks as CLI commands: `bench:ops` (op × size × backend against js in the same run),
 * `bench:peers` (native and wasm against onnxruntime-node and onnxruntime-web) and
 * `bench:style` (the style-transfer network on every backend against the same peers).
 * The measuring lives in bench/; these commands parse options and choose the writers.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OP_BENCHES, OP_NAMES } from '../../bench/ops.js';
import { checkOpsOptions, runOpsSuite } from '../../bench/ops-suite.js';
import { runPeersSuite } from '../../bench/peers-suite.js';
import type { BenchReport } from '../../bench/record.js';
import {
  checkSectionId,
  opsSection,
  peersSection,
  sdSection,
  styleSection,
  writeResultsSection,
} from '../../bench/results-md.js';
import { STYLE_TOLERANCE, TARGET_SIZE } from '../../bench/style.js';
import { checkStyleOptions, runStyleSuite } from '../../bench/style-suite.js';
import { parseBackendList } from '../../bench/toolkit.js';
import { writeReportFiles } from '../../bench/writers/json.js';
import { markdownReport } from '../../bench/writers/markdown.js';
import { type CommandContext, defineCommand, EXIT, type OptionSpec, type ProjectSpec } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { DEFAULT_STYLE, findStyle, NAMED_STYLES } from '../../models/styles.js';
import { defaultImagesDir, repoRoot } from '../../node/paths.js';

/** --write-results and --results-file: every command that rewrites its section of bench/RESULTS.md. */
const RESULTS_OPTIONS = [
  {
    name: 'write-results',
    type: 'boolean',
    description: "Rewrite this command's section of the results file (see --results-section where it exists)",
  },
  {
    name: 'results-file',
    type: 'path',
    valueName: 'file',
    description: 'The results file --write-results updates (default: bench/RESULTS.md in the toolkit)',
  },
] as const satisfies readonly OptionSpec[];

/** --results-section, for commands whose results go to more than one section (CPU and real-GPU runs). */
function resultsSection(section: string, example: string) {
  return {
    name: 'results-section',
    type: 'string',
    valueName: 'id',
    default: section,
    description: `The section --write-results rewrites, between <!-- bench:ID:start/end --> (e.g. ${example})`,
  } as const satisfies OptionSpec;
}

const BIN = 'efficientai-toolkit';

/** `256,512` → [256, 512]. @throws UsageError naming the option and the bad entry. */
export function parseIntList(text: string, option: string, min = 1): number[] {
  const out = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < min) {
        throw new UsageError(
          `--${option}: '${s}' is not an integer ≥ ${min} (give a comma list, e.g. --${option} 256,512)`,
        );
      }
      return n;
    });
  if (out.length === 0) throw new UsageError(`--${option}: give at least one value, e.g. --${option} 256,512`);
  return out;
}

function parseOps(text: string): string[] {
  const ops = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const bad = ops.find((o) => !OP_BENCHES[o]);
  if (bad !== undefined || ops.length === 0) {
    throw new UsageError(`--ops: unknown op '${bad ?? text}'; choose from ${OP_NAMES.join(', ')}`);
  }
  return ops;
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

/** The measured-report tail shared by the commands: files, stdout (`human`, default the full table), exit code. */
async function finish(
  report: BenchReport,
  ctx: CommandContext,
  out: string | undefined,
  human = markdownReport(report),
): Promise<number> {
  if (out !== undefined) {
    const files = await writeReportFiles(report, out);
    ctx.log.info(`wrote ${files.json}, ${files.markdown} and ${files.html}`);
  }
  ctx.output(report, human);
  if (report.records.length === 0) {
    ctx.log.error('nothing was measured: every backend asked for is unavailable (see the list above)');
    return EXIT.failure;
  }
  return EXIT.ok;
}

/** Progress callbacks for a suite: it announces its total once probing is done, then ticks per measurement. */
function progressFor(ctx: CommandContext, label: string) {
  const p = ctx.progress('measurements');
  return {
    onPlan: (total: number) => p.start(total, label),
    onMeasured: (what: string) => {
      ctx.log.debug(`measured ${what}`);
      p.tick();
    },
    done: () => p.done(),
    abort: () => p.abort(),
  };
}

/** Run a suite with a progress reporter that is finished (or cleared on error) afterwards. */
async function withProgress<T>(
  ctx: CommandContext,
  label: string,
  run: (hooks: { onPlan(total: number): void; onMeasured(what: string): void }) => Promise<T>,
): Promise<T> {
  const p = progressFor(ctx, label);
  try {
    const result = await run(p);
    p.done();
    return result;
  } catch (err) {
    p.abort();
    throw err;
  }
}

const ops = defineCommand({
  name: 'ops',
  summary: 'Time ops (matmul, conv2d, …) per size and backend, with js as the same-run baseline',
  description:
    'Each op × size × backend: median, min, p90 and stddev of --runs timed runs after --warmup runs, and GFLOPS. ' +
    'The js backend is always measured in the same run on the same seeded inputs and is the baseline of every ratio; ' +
    'large cases run js once (over 0.5 GFLOP) or skip it (over --js-max-gflop), and say so. Unavailable backends are listed with the reason. ' +
    'Sizes: ' +
    OP_NAMES.map((n) => `${n} ${OP_BENCHES[n].sizeMeaning}`).join('; ') +
    '. A WebGPU adapter that is CPU-emulated (SwiftShader, a fallback adapter) is labelled "CPU-emulated — not GPU speed" everywhere. ' +
    'The global --backend only picks where other commands run; this command takes --backends.',
  options: [
    {
      name: 'backends',
      type: 'string',
      valueName: 'list',
      default: 'all',
      description: 'Comma list of js, wasm, webgpu, native, or all',
    },
    {
      name: 'ops',
      type: 'string',
      valueName: 'list',
      default: 'matmul,conv2d',
      description: `Comma list of ${OP_NAMES.join(', ')}`,
    },
    { name: 'sizes', type: 'string', valueName: 'list', default: '256,512,1024', description: 'Comma list of sizes' },
    { name: 'runs', type: 'integer', default: 10, min: 1, description: 'Timed runs per measurement' },
    { name: 'warmup', type: 'integer', default: 2, min: 0, description: 'Untimed runs first' },
    { name: 'threads', type: 'integer', min: 1, description: 'Threads for native and wasm (default: theirs)' },
    { name: 'dtype', type: 'enum', choices: ['f32', 'f16'], default: 'f32', description: 'Element type' },
    { name: 'seed', type: 'integer', default: 42, min: 0, description: 'Seed of the random inputs' },
    {
      name: 'js-max-gflop',
      type: 'number',
      default: 5,
      min: 0,
      description: 'Skip the js baseline for cases over this many GFLOP per run',
    },
    {
      name: 'budget-s',
      type: 'number',
      default: 60,
      min: 0.001,
      description: 'Seconds one measurement may take; later runs are dropped (and the record says so)',
    },
    {
      name: 'out',
      type: 'path',
      valueName: 'dir',
      description: 'Also write bench-ops-<date>.json, .md and .html here',
    },
    ...RESULTS_OPTIONS,
    resultsSection('ops', 'webgpu-ops'),
  ],
  examples: [
    `${BIN} bench:ops --backends js,native --ops matmul --sizes 256,512`,
    `${BIN} bench:ops --backends webgpu,js --ops matmul,conv2d --sizes 256,512,1024 --json --out bench/out`,
  ],
  async run(args, ctx) {
    const backends = usage(() => parseBackendList(args.backends));
    const opNames = parseOps(args.ops);
    const sizes = parseIntList(args.sizes, 'sizes');
    usage(() => checkOpsOptions({ ops: opNames, sizes }));
    const command = [
      `${BIN} bench:ops --backends ${backends.join(',')} --ops ${opNames.join(',')} --sizes ${sizes.join(',')}`,
      `--runs ${args.runs} --warmup ${args.warmup}`,
      args.threads === undefined ? '' : `--threads ${args.threads}`,
      `--dtype ${args.dtype} --seed ${args.seed} --js-max-gflop ${args['js-max-gflop']} --budget-s ${args['budget-s']}`,
    ]
      .filter(Boolean)
      .join(' ');
    const sectionId = usage(() => checkSectionId(args['results-section']));
    const report = await withProgress(ctx, 'bench:ops', (hooks) =>
      runOpsSuite({
        backends,
        ops: opNames,
        sizes,
        runs: args.runs,
        warmup: args.warmup,
        threads: args.threads,
        dtype: args.dtype,
        seed: args.seed,
        jsMaxGflop: args['js-max-gflop'],
        budgetS: args['budget-s'],
        command,
        signal: ctx.signal,
        ...hooks,
      }),
    );
    if (args['write-results']) {
      const file = args['results-file'] ?? `${repoRoot()}/bench/RESULTS.md`;
      await writeResultsSection(file, sectionId, opsSection(report));
      ctx.log.info(`updated the bench:${sectionId} section of ${file}`);
    }
    return finish(report, ctx, args.out);
  },
});

const peers = defineCommand({
  name: 'peers',
  summary: 'native and wasm against onnxruntime-node and onnxruntime-web at the same thread counts',
  description:
    'matmul f32 at --sizes and conv2d at 1×32×S×S with a 3×3 kernel (S = --conv-size), on the same seeded inputs in one process: ' +
    'native vs onnxruntime-node (CPU EP, intraOpNumThreads), wasm vs onnxruntime-web (wasm, env.wasm.numThreads), each at every --threads count, ' +
    'plus the js reference. The peers run tiny ONNX models built in memory. Backends not built yet are listed as unavailable; ' +
    'the rest is still measured. --write-results rewrites the bench:peers section of bench/RESULTS.md.',
  options: [
    {
      name: 'sizes',
      type: 'string',
      valueName: 'list',
      default: '256,512,1024',
      description: 'matmul sides (comma list)',
    },
    { name: 'threads', type: 'string', valueName: 'list', default: '1,2', description: 'Thread counts (comma list)' },
    {
      name: 'conv-size',
      type: 'integer',
      default: 256,
      min: 0,
      description: 'Image side of the conv2d case; 0 skips it',
    },
    { name: 'runs', type: 'integer', default: 10, min: 1, description: 'Timed runs per runtime' },
    {
      name: 'rounds',
      type: 'integer',
      default: 5,
      min: 1,
      description: 'Split the runs into round-robin rounds over all runtimes (noise hits all alike)',
    },
    { name: 'warmup', type: 'integer', default: 2, min: 0, description: 'Untimed runs first' },
    { name: 'seed', type: 'integer', default: 42, min: 0, description: 'Seed of the random inputs' },
    { name: 'js', type: 'boolean', default: true, description: 'Also measure the js reference backend' },
    {
      name: 'js-max-gflop',
      type: 'number',
      default: 5,
      min: 0,
      description: 'Skip js for cases over this many GFLOP per run',
    },
    {
      name: 'out',
      type: 'path',
      valueName: 'dir',
      description: 'Also write bench-peers-<date>.json, .md and .html here',
    },
    ...RESULTS_OPTIONS,
  ],
  examples: [`${BIN} bench:peers --write-results`, `${BIN} bench:peers --sizes 256 --threads 1 --conv-size 0 --json`],
  async run(args, ctx) {
    const sizes = parseIntList(args.sizes, 'sizes');
    const threads = parseIntList(args.threads, 'threads');
    const command = [
      `${BIN} bench:peers --sizes ${sizes.join(',')} --threads ${threads.join(',')} --conv-size ${args['conv-size']}`,
      `--runs ${args.runs} --rounds ${args.rounds} --warmup ${args.warmup} --seed ${args.seed}`,
      args.js ? `--js-max-gflop ${args['js-max-gflop']}` : '--no-js',
    ].join(' ');
    const report = await withProgress(ctx, 'bench:peers', (hooks) =>
      runPeersSuite({
        sizes,
        threads,
        convSize: args['conv-size'],
        runs: args.runs,
        rounds: args.rounds,
        warmup: args.warmup,
        seed: args.seed,
        js: args.js,
        jsMaxGflop: args['js-max-gflop'],
        command,
        signal: ctx.signal,
        ...hooks,
      }),
    );
    if (args['write-results']) {
      const file = args['results-file'] ?? `${repoRoot()}/bench/RESULTS.md`;
      await writeResultsSection(file, 'peers', peersSection(report));
      ctx.log.info(`updated the bench:peers section of ${file}`);
    }
    return finish(report, ctx, args.out);
  },
});

const style = defineCommand({
  name: 'style',
  summary: 'Style transfer (fast-style network) on each backend against onnxruntime-node and -web',
  description:
    'The fast-style TransformerNet of a named style (its ONNX file from the model registry) at each --sizes S (S×S images) on every ' +
    '--backends entry, with onnxruntime-node (CPU EP) and onnxruntime-web (wasm) running the same file on the same input at each ' +
    '--threads count, all in one process and interleaved round-robin. Only the network is timed (a [1,3,S,S] tensor in, the output ' +
    "read back), not image decoding or encoding. Every output is compared with onnxruntime-node's (max |Δ| on the 0..255 scale, " +
    `tolerance ${STYLE_TOLERANCE}), and issue 5's targets at ${TARGET_SIZE}² are reported as met or not met. js is slow: a size over ` +
    '--js-max-gflop is not measured and one over 0.5 GFLOP runs once; a CPU-emulated WebGPU adapter is labelled and not ' +
    "measured over --emulated-max-gflop; --budget-s caps any runtime's time per size. Unavailable backends are listed with the reason. " +
    '--write-results rewrites the style-transfer section of bench/RESULTS.md.',
  options: [
    { name: 'style', type: 'string', default: DEFAULT_STYLE, description: 'Named style (see style-transfer:styles)' },
    { name: 'sizes', type: 'string', valueName: 'list', default: '256,512', description: 'Image sides (comma list)' },
    {
      name: 'backends',
      type: 'string',
      valueName: 'list',
      default: 'all',
      description: 'Comma list of js, wasm, webgpu, native, or all',
    },
    { name: 'threads', type: 'string', valueName: 'list', default: '1,2', description: 'Thread counts (comma list)' },
    { name: 'runs', type: 'integer', default: 8, min: 1, description: 'Timed runs per runtime and size' },
    {
      name: 'rounds',
      type: 'integer',
      default: 4,
      min: 1,
      description: 'Split the runs into round-robin rounds over all runtimes (noise hits all alike)',
    },
    { name: 'warmup', type: 'integer', default: 1, min: 0, description: 'Untimed runs first' },
    {
      name: 'content',
      type: 'string',
      valueName: 'path',
      description:
        "Content image (its central square is scaled to each size), or 'seeded' for seeded pixel values (default: the astronaut sample, else seeded)",
    },
    { name: 'seed', type: 'integer', default: 42, min: 0, description: 'Seed of the seeded pixel values' },
    { name: 'peers', type: 'boolean', default: true, description: 'Run onnxruntime-node and onnxruntime-web as peers' },
    {
      name: 'js-max-gflop',
      type: 'number',
      default: 25,
      min: 0,
      description: 'Skip js at sizes whose forward pass is over this many GFLOP (256²: 20, 512²: 81)',
    },
    {
      name: 'emulated-max-gflop',
      type: 'number',
      default: 25,
      min: 0,
      description: 'Skip a CPU-emulated WebGPU adapter at sizes over this many GFLOP (it is not GPU speed)',
    },
    {
      name: 'budget-s',
      type: 'number',
      default: 120,
      min: 0.001,
      description: 'Seconds one runtime may spend on one size; its later rounds are then skipped (the record says so)',
    },
    {
      name: 'out',
      type: 'path',
      valueName: 'dir',
      description: 'Also write bench-style-<date>.json, .md and .html here',
    },
    ...RESULTS_OPTIONS,
    resultsSection('style', 'webgpu-style'),
  ],
  examples: [
    `${BIN} bench:style --write-results`,
    `${BIN} bench:style --sizes 256 --threads 1 --backends native,wasm --json`,
  ],
  async run(args, ctx) {
    const sizes = parseIntList(args.sizes, 'sizes');
    const threads = parseIntList(args.threads, 'threads');
    const backends = usage(() => parseBackendList(args.backends));
    usage(() => checkStyleOptions({ sizes, threads }));
    const sectionId = usage(() => checkSectionId(args['results-section']));
    if (!findStyle(args.style)) {
      throw new UsageError(
        `--style: unknown style '${args.style}'; choose one of ${NAMED_STYLES.map((s) => s.name).join(', ')}`,
      );
    }
    const content = args.content === 'seeded' ? null : (args.content ?? defaultStyleContent());
    const command = [
      `${BIN} bench:style --style ${args.style} --sizes ${sizes.join(',')} --backends ${backends.join(',')} --threads ${threads.join(',')}`,
      `--runs ${args.runs} --rounds ${args.rounds} --warmup ${args.warmup}`,
      args.content === undefined ? '' : `--content ${args.content}`,
      content === null ? `--seed ${args.seed}` : '',
      args.peers ? '' : '--no-peers',
      `--js-max-gflop ${args['js-max-gflop']} --emulated-max-gflop ${args['emulated-max-gflop']} --budget-s ${args['budget-s']}`,
    ]
      .filter(Boolean)
      .join(' ');
    const report = await withProgress(ctx, 'bench:style', (hooks) =>
      usageErrors(() =>
        runStyleSuite({
          style: args.style,
          sizes,
          backends,
          threads,
          runs: args.runs,
          rounds: args.rounds,
          warmup: args.warmup,
          content: content === null ? null : resolve(ctx.cwd, content),
          seed: args.seed,
          peers: args.peers,
          jsMaxGflop: args['js-max-gflop'],
          emulatedMaxGflop: args['emulated-max-gflop'],
          budgetS: args['budget-s'],
          command,
          signal: ctx.signal,
          ...hooks,
        }),
      ),
    );
    if (args['write-results']) {
      const file = args['results-file'] ?? `${repoRoot()}/bench/RESULTS.md`;
      await writeResultsSection(file, sectionId, styleSection(report));
      ctx.log.info(`updated the bench:${sectionId} section of ${file}`);
    }
    return finish(report, ctx, args.out, `## bench:style — ${report.machine.date}\n\n${styleSection(report)}\n`);
  },
});

const sd = defineCommand({
  name: 'sd',
  summary: 'Stable Diffusion: one SD-1.5-shaped UNet step per backend against PyTorch CPU, and tiny-sd img2img',
  description:
    "One UNet step at SD 1.5's real shapes (its config, 860 M seeded random weights generated here, latents [2,4,64,64], " +
    '77 tokens, timestep 500) on each --backends entry at each --threads count, every measurement in its own process ' +
    'so its peak memory (max RSS) is its own; PyTorch CPU (Debian python3-torch at /usr/bin/python3, the plain-torch ' +
    'UNet of test/fixtures/sd) over the same weights and inputs in the same run, with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE ' +
    'unset, OpenBLAS at one thread and large glibc malloc thresholds in its environment only. Each output is compared ' +
    "with PyTorch's. Then the whole tiny-sd img2img on each --img2img-backends entry: latency, peak tensor memory, " +
    'determinism and agreement across backends. js and CPU-emulated WebGPU are listed, not run, for the UNet step ' +
    '(hours). A step takes tens of seconds per runtime on a small CPU: choose --runs accordingly. --write-results ' +
    'rewrites the bench:sd section of bench/RESULTS.md.',
  options: [
    {
      name: 'backends',
      type: 'string',
      valueName: 'list',
      default: 'native,wasm',
      description: 'Backends for the UNet step (comma list, or all)',
    },
    { name: 'threads', type: 'string', valueName: 'list', default: '1,2', description: 'Thread counts (comma list)' },
    { name: 'runs', type: 'integer', default: 2, min: 1, description: 'Timed UNet steps per runtime' },
    { name: 'warmup', type: 'integer', default: 0, min: 0, description: 'Untimed UNet steps first, per runtime' },
    { name: 'seed', type: 'integer', default: 42, min: 0, description: 'Seed of the weights and inputs' },
    { name: 'peer', type: 'boolean', default: true, description: 'Run the PyTorch CPU peer' },
    {
      name: 'img2img-backends',
      type: 'string',
      valueName: 'list',
      default: 'all',
      description: "Backends for tiny-sd img2img ('none' skips it)",
    },
    { name: 'img2img-size', type: 'integer', default: 64, min: 16, description: 'tiny-sd image side (multiple of 16)' },
    { name: 'img2img-steps', type: 'integer', default: 10, min: 1, description: 'tiny-sd DDIM steps (strength 0.6)' },
    { name: 'img2img-runs', type: 'integer', default: 3, min: 1, description: 'Timed img2img runs per backend' },
    {
      name: 'out',
      type: 'path',
      valueName: 'dir',
      description: 'Also write bench-sd-<date>.json, .md and .html here',
    },
    ...RESULTS_OPTIONS,
    resultsSection('sd', 'sd'),
  ],
  examples: [
    `${BIN} bench:sd --write-results`,
    `${BIN} bench:sd --backends native --threads 2 --runs 1 --img2img-backends none`,
  ],
  async run(args, ctx) {
    const threads = parseIntList(args.threads, 'threads');
    const backends = usage(() => parseBackendList(args.backends));
    const img2imgBackends =
      args['img2img-backends'] === 'none' ? [] : usage(() => parseBackendList(args['img2img-backends']));
    if (args['img2img-size'] % 16 !== 0) {
      throw new UsageError(`--img2img-size ${args['img2img-size']}: tiny-sd takes sides that are multiples of 16`);
    }
    const sectionId = usage(() => checkSectionId(args['results-section']));
    const command = [
      `${BIN} bench:sd --backends ${backends.join(',')} --threads ${threads.join(',')} --runs ${args.runs} --warmup ${args.warmup} --seed ${args.seed}`,
      args.peer ? '' : '--no-peer',
      `--img2img-backends ${img2imgBackends.length ? img2imgBackends.join(',') : 'none'} --img2img-size ${args['img2img-size']} --img2img-steps ${args['img2img-steps']} --img2img-runs ${args['img2img-runs']}`,
    ]
      .filter(Boolean)
      .join(' ');
    const { runSdSuite } = await import('../../bench/sd-suite.js');
    const progress = ctx.progress('parts');
    progress.start(1, 'bench:sd');
    const report = await usageErrors(() =>
      runSdSuite({
        backends,
        threads,
        runs: args.runs,
        warmup: args.warmup,
        seed: args.seed,
        noPeer: !args.peer,
        img2img: { backends: img2imgBackends, size: args['img2img-size'], steps: args['img2img-steps'] },
        img2imgRuns: args['img2img-runs'],
        childScript: join(repoRoot(), 'dist', 'bench', 'sd-step-child.js'),
        command,
        signal: ctx.signal,
        onProgress: (what) => ctx.log.info(`bench:sd: ${what}…`),
      }),
    );
    progress.done();
    if (args['write-results']) {
      const file = args['results-file'] ?? `${repoRoot()}/bench/RESULTS.md`;
      await writeResultsSection(file, sectionId, sdSection(report));
      ctx.log.info(`updated the bench:${sectionId} section of ${file}`);
    }
    return finish(report, ctx, args.out, `## bench:sd — ${report.machine.date}\n\n${sdSection(report)}\n`);
  },
});

/** The astronaut sample the style-transfer CLI stylises by default, when the sample images are here. */
function defaultStyleContent(): string | null {
  const dir = defaultImagesDir();
  const file = dir === undefined ? undefined : join(dir, 'content', 'astronaut.png');
  return file !== undefined && existsSync(file) ? file : null;
}

/** Like usage(), for an asynchronous suite. */
async function usageErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

export const project: ProjectSpec = {
  namespace: 'bench',
  aliases: [],
  summary:
    'Benchmarks: ops across backends, the CPU backends and style transfer against onnxruntime peers, Stable Diffusion against PyTorch',
  commands: [ops, peers, style, sd],
};
