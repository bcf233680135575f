/**
 * Benchmarks as CLI commands: `bench:ops` (op × size × backend against js in the same run),
 * `bench:peers` (native and wasm against onnxruntime-node and onnxruntime-web) and
 * `bench:style` (the style-transfer network on every backend against the same peers).
 * The measuring lives in bench/; run.ts (loaded when a command runs) parses options and chooses the writers.
 * This file stays light for `--help`: option specs only.
 */
import { OP_NAMES, OP_SIZE_MEANINGS, STYLE_TOLERANCE, TARGET_SIZE } from '../../bench/catalog.js';
import { type ArgsOf, defineCommand, type OptionSpec, type ProjectSpec } from '../../cli/command.js';
import { DEFAULT_STYLE } from '../../models/styles.js';

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

/** --history: every measuring command can append its run to a history file for bench:compare. */
const HISTORY_OPTION = {
  name: 'history',
  type: 'path',
  valueName: 'file.jsonl',
  description:
    'Append this run (suite, git commit, machine, each case’s median) to a JSON-lines history for bench:compare',
} as const satisfies OptionSpec;

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

const OPS_OPTIONS = [
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
  HISTORY_OPTION,
  ...RESULTS_OPTIONS,
  resultsSection('ops', 'webgpu-ops'),
] as const satisfies readonly OptionSpec[];
export type OpsArgs = ArgsOf<typeof OPS_OPTIONS>;

const PEERS_OPTIONS = [
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
  HISTORY_OPTION,
  ...RESULTS_OPTIONS,
] as const satisfies readonly OptionSpec[];
export type PeersArgs = ArgsOf<typeof PEERS_OPTIONS>;

const STYLE_OPTIONS = [
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
  HISTORY_OPTION,
  ...RESULTS_OPTIONS,
  resultsSection('style', 'webgpu-style'),
] as const satisfies readonly OptionSpec[];
export type StyleArgs = ArgsOf<typeof STYLE_OPTIONS>;

const ops = defineCommand({
  name: 'ops',
  summary: 'Time ops (matmul, conv2d, …) per size and backend, with js as the same-run baseline',
  description:
    'Each op × size × backend: median, min, p90 and stddev of --runs timed runs after --warmup runs, and GFLOPS. ' +
    'The js backend is always measured in the same run on the same seeded inputs and is the baseline of every ratio; ' +
    'large cases run js once (over 0.5 GFLOP) or skip it (over --js-max-gflop), and say so. Unavailable backends are listed with the reason. ' +
    'Sizes: ' +
    OP_NAMES.map((n) => `${n} ${OP_SIZE_MEANINGS[n]}`).join('; ') +
    '. A WebGPU adapter that is CPU-emulated (SwiftShader, a fallback adapter) is labelled "CPU-emulated — not GPU speed" everywhere. ' +
    'The global --backend only picks where other commands run; this command takes --backends.',
  options: OPS_OPTIONS,
  examples: [
    `${BIN} bench:ops --backends js,native --ops matmul --sizes 256,512`,
    `${BIN} bench:ops --backends webgpu,js --ops matmul,conv2d --sizes 256,512,1024 --json --out bench/out`,
  ],
  async run(args, ctx) {
    const { runOps } = await import('./run.js');
    return runOps(args, ctx);
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
  options: PEERS_OPTIONS,
  examples: [`${BIN} bench:peers --write-results`, `${BIN} bench:peers --sizes 256 --threads 1 --conv-size 0 --json`],
  async run(args, ctx) {
    const { runPeers } = await import('./run.js');
    return runPeers(args, ctx);
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
  options: STYLE_OPTIONS,
  examples: [
    `${BIN} bench:style --write-results`,
    `${BIN} bench:style --sizes 256 --threads 1 --backends native,wasm --json`,
  ],
  async run(args, ctx) {
    const { runStyle } = await import('./run.js');
    return runStyle(args, ctx);
  },
});

const COMPARE_OPTIONS = [
  { name: 'history', type: 'path', valueName: 'file.jsonl', required: true, description: 'The history file' },
  {
    name: 'head',
    type: 'string',
    valueName: 'ref',
    description: 'Commit (hash prefix or git ref) whose runs are compared (default: the latest run)',
  },
  {
    name: 'base',
    type: 'string',
    valueName: 'ref',
    description: 'Commit whose runs are the base (default: the last --last runs before the head)',
  },
  {
    name: 'last',
    type: 'integer',
    default: 10,
    min: 1,
    description: 'Base = this many runs before the head, when --base is not given',
  },
  { name: 'suite', type: 'string', description: 'Only this suite (ops, peers, style)' },
  {
    name: 'machine',
    type: 'string',
    valueName: 'key|any',
    description: "Compare with runs of this machine key, or any machine (default: the head run's machine)",
  },
  {
    name: 'max-mads',
    type: 'number',
    default: 3,
    min: 0,
    description: 'Noise threshold in median absolute deviations',
  },
  { name: 'min-change', type: 'number', default: 5, min: 0, description: 'Smallest change that counts, per cent' },
  { name: 'fail-on-regression', type: 'boolean', description: 'Exit 1 when any case regressed' },
  {
    name: 'out',
    type: 'path',
    valueName: 'dir',
    description: 'Also write bench-compare-<date>.json, .md and .html here',
  },
] as const satisfies readonly OptionSpec[];
export type CompareArgs = ArgsOf<typeof COMPARE_OPTIONS>;

const compare = defineCommand({
  name: 'compare',
  summary: 'Flag benchmark regressions: a head run or commit against base runs in a --history file',
  description:
    'Reads the JSON-lines history that bench:ops, bench:peers and bench:style append to with --history (each run gives ' +
    'a case its median time). The head is the latest run, or every run of --head REF; the base is the last --last runs ' +
    'before it on the same machine, or every run of --base REF. A case regresses when the head is slower than the base by ' +
    "more than --max-mads MADs of the case's noise in the history AND by more than --min-change per cent; faster by as " +
    'much is an improvement. The noise is the MAD (scaled by 1.4826 to estimate σ, as R computes it) over the base runs ' +
    'when there are 3 or more, else over all earlier runs of the case on that machine; with fewer, the percentage alone ' +
    'decides (the output says so). With K head runs the fastest is compared with the 1/(K+1) quantile of the base ' +
    '(with one, the base median): load only adds time, so repeating the head run cuts false alarms. Runs compare only with runs of ' +
    'the same machine (CPU, cores, OS, architecture) unless --machine any. REF is a commit hash (prefix) or a git ref. ' +
    'Prints a table per suite; --out DIR also writes JSON, Markdown and an HTML page with a trend chart per case. ' +
    'Exit 0 even with regressions unless --fail-on-regression (then 1).',
  options: COMPARE_OPTIONS,
  examples: [
    `${BIN} bench:ops --backends native,wasm --sizes 256 --history bench/history.jsonl`,
    `${BIN} bench:compare --history bench/history.jsonl --head HEAD --fail-on-regression`,
    `${BIN} bench:compare --history bench/history.jsonl --base main --head HEAD --out bench/out`,
  ],
  async run(args, ctx) {
    const { runCompare } = await import('./run.js');
    return runCompare(args, ctx);
  },
});

export const project: ProjectSpec = {
  namespace: 'bench',
  aliases: [],
  summary: 'Benchmarks: ops across backends, the CPU backends and style transfer against onnxruntime peers',
  commands: [ops, peers, style, compare],
  tests: ['test/bench'],
};
