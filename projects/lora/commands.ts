/**
 * The LoRA fine-tuning workflow (seed project lora-finetuning-mlx): language-model commands. Each command's
 * implementation is imported when it runs, so `--help` stays fast.
 */
import { type ArgsOf, defineCommand, type OptionSpec, type ProjectSpec } from '../../cli/command.js';

const MODEL_HELP =
  'A registry name (stories260K, stories260K-hf), a Hugging Face model folder (config.json + safetensors + ' +
  'tokenizer.json), or a llama2.c checkpoint (.bin, its tokenizer found beside it or given with --tokenizer)';

/** The model and, for a llama2.c checkpoint, its tokenizer: every command that loads a model takes these. */
const MODEL_OPTIONS = [
  { name: 'model', type: 'string', description: MODEL_HELP, default: 'stories260K', valueName: 'path|name' },
  { name: 'tokenizer', type: 'path', description: 'Tokenizer for a llama2.c checkpoint (.bin or tokenizer.json)' },
] as const satisfies readonly OptionSpec[];

/** An adapter from lora:train applied on top of the model (mlx-lm's --adapter-path). */
const ADAPTER_OPTION = {
  name: 'adapter-path',
  type: 'path',
  description: 'An adapter folder from lora:train (adapters.safetensors + adapter_config.json), applied without fusing',
  valueName: 'dir',
} as const satisfies OptionSpec;

const generateOptions = [
  ...MODEL_OPTIONS,
  ADAPTER_OPTION,
  { name: 'prompt', type: 'string', description: 'The text to continue', default: 'hello', valueName: 'text' },
  { name: 'max-tokens', type: 'integer', description: 'Most tokens to generate', default: 100, min: 1 },
  { name: 'temp', type: 'number', description: 'Sampling temperature (0: greedy)', default: 0, min: 0 },
  {
    name: 'top-p',
    type: 'number',
    description: 'Nucleus sampling: keep the likeliest tokens up to this probability mass (1: off)',
    default: 1,
    min: 0,
    max: 1,
  },
  { name: 'top-k', type: 'integer', description: 'Keep the k likeliest tokens (0: off)', default: 0, min: 0 },
  {
    name: 'min-p',
    type: 'number',
    description: "Drop tokens below this fraction of the top token's probability (0: off)",
    default: 0,
    min: 0,
    max: 1,
  },
  { name: 'repetition-penalty', type: 'number', description: 'Discount tokens among the last 20 (1: off)', min: 0 },
  { name: 'seed', type: 'integer', description: 'Seed for sampling (default: random, printed in the statistics)' },
  {
    name: 'stop',
    type: 'string',
    description: 'End generation at this text',
    repeatable: true,
    valueName: 'text',
  },
  { name: 'chat', type: 'boolean', description: "Wrap the prompt in the tokenizer's chat template" },
  { name: 'system', type: 'string', description: 'System message for --chat', valueName: 'text' },
  {
    name: 'max-kv-size',
    type: 'integer',
    description: 'Keep only the last N positions in the KV cache (rotating cache)',
    min: 2,
  },
] as const satisfies readonly OptionSpec[];

const generate = defineCommand({
  name: 'generate',
  summary: 'Generate text from a prompt, streamed as it is produced',
  description:
    "Continues --prompt with a Llama-family model, printing text as it comes, then the speed on stderr. Options and defaults follow mlx-lm's " +
    'generate: greedy unless --temp is above 0; --top-p, --min-p and --top-k filter the candidates (applied in that order, on the ' +
    'untempered probabilities), --repetition-penalty discounts the last 20 tokens, --seed makes sampling repeatable. --chat renders ' +
    "the prompt (and --system) with the tokenizer's chat template. Generation ends at an end-of-sequence token, a --stop text, or " +
    '--max-tokens; Ctrl-C stops it (exit 130). With --json the whole result (text, tokens, finish reason, statistics) is one JSON object. ' +
    '"\\n" and "\\t" in the prompt are read as a newline and a tab, as mlx-lm reads them.',
  options: generateOptions,
  examples: [
    'efficientai-toolkit lora:generate --prompt "Once upon a time"',
    'efficientai-toolkit lora:generate --model stories260K-hf --prompt "Once upon a time" --temp 0.8 --top-p 0.9 --seed 1',
    'efficientai-toolkit lora:generate --model stories260K-hf --adapter-path ./adapters --prompt "Lily found"',
    'efficientai-toolkit lora:generate --model ./Llama-3.2-1B-Instruct --chat --system "Be brief." --prompt "What is RoPE?"',
    'efficientai-toolkit lora:generate --model ./stories15M.bin --tokenizer ./tokenizer.bin --max-tokens 256 --json',
  ],
  async run(args, ctx) {
    const { runGenerate } = await import('./generate.js');
    return runGenerate(args, ctx);
  },
});

const perplexityOptions = [
  ...MODEL_OPTIONS,
  ADAPTER_OPTION,
  { name: 'data', type: 'path', description: 'A text file (paragraphs) or a .jsonl file (records)', required: true },
  { name: 'max-paragraphs', type: 'integer', description: 'Score only the first N paragraphs or records', min: 1 },
] as const satisfies readonly OptionSpec[];

const perplexity = defineCommand({
  name: 'perplexity',
  summary: 'Score a text or jsonl file: mean negative log-likelihood per token and perplexity',
  description:
    'A text file is split on blank lines ("\\n\\n") and each paragraph is scored alone, starting with BOS; a .jsonl file is read ' +
    "record by record in mlx-lm's formats (text, completions or chat, detected from the first record), each scored alone. The " +
    'result is the mean NLL in nats over every predicted token (each token given the ones before it in its paragraph or record) ' +
    'and the perplexity exp(mean NLL). Sequences longer than the context length are cut to it (and counted).',
  options: perplexityOptions,
  examples: [
    'efficientai-toolkit lora:perplexity --model stories260K --data ../shared/data/tinystories/valid.txt --max-paragraphs 100',
    'efficientai-toolkit lora:perplexity --model ./my-model --data valid.jsonl --json',
  ],
  async run(args, ctx) {
    const { runPerplexity } = await import('./perplexity.js');
    return runPerplexity(args, ctx);
  },
});

const serveOptions = [
  {
    ...MODEL_OPTIONS[0],
    description: `${MODEL_HELP}. The default has a chat template, so /v1/chat/completions works`,
    default: 'stories260K-hf',
  },
  MODEL_OPTIONS[1],
  {
    name: 'host',
    type: 'string',
    description: 'Address to listen on; 0.0.0.0 for every interface (then set --api-key)',
    default: '127.0.0.1',
  },
  {
    name: 'port',
    type: 'integer',
    description: 'Port to listen on; 0 picks a free one',
    default: 8080,
    min: 0,
    max: 65535,
  },
  {
    name: 'api-key',
    type: 'string',
    description:
      'Require Authorization: Bearer KEY on every request (or set EAI_LORA__SERVE__API_KEY, which keeps the key out of the process list)',
    valueName: 'key',
  },
  {
    name: 'max-concurrency',
    type: 'integer',
    description: 'Requests generating at once (each holds a KV cache)',
    default: 4,
    min: 1,
  },
  {
    name: 'max-queue',
    type: 'integer',
    description: 'Requests waiting for a slot; more get 429 with Retry-After',
    default: 64,
    min: 0,
  },
  {
    name: 'max-tokens',
    type: 'integer',
    description: 'Tokens to generate when a request sets no max_tokens',
    default: 512,
    min: 1,
  },
  {
    name: 'max-tokens-limit',
    type: 'integer',
    description: "The most max_tokens a request may ask for (default: the model's context length)",
    min: 1,
  },
  { name: 'temp', type: 'number', description: 'Default sampling temperature (0: greedy)', default: 0, min: 0 },
  { name: 'top-p', type: 'number', description: 'Default nucleus sampling top-p (1: off)', default: 1, min: 0, max: 1 },
  { name: 'top-k', type: 'integer', description: 'Default top-k (0: off)', default: 0, min: 0 },
  { name: 'min-p', type: 'number', description: 'Default min-p (0: off)', default: 0, min: 0, max: 1 },
  {
    name: 'body-limit',
    type: 'integer',
    description: 'Largest request body in bytes; larger ones get 413',
    default: 1024 * 1024,
    min: 1024,
  },
  {
    name: 'allowed-origins',
    type: 'string',
    description: 'Comma-separated origins browsers may call from (CORS); * for any, empty for none',
    default: '*',
    valueName: 'list',
  },
  {
    name: 'drain-timeout',
    type: 'number',
    description: 'Seconds SIGTERM waits for requests in flight before aborting them',
    default: 30,
    min: 0,
  },
] as const satisfies readonly OptionSpec[];

const serve = defineCommand({
  name: 'serve',
  summary: 'Serve a model over an OpenAI-compatible HTTP API (chat and text completions, streaming)',
  description:
    "An HTTP server speaking OpenAI's API, as mlx-lm's server does: GET /v1/models, POST /v1/completions and " +
    'POST /v1/chat/completions (stream: true sends server-sent events), GET /health. Requests are validated and ' +
    "refused in OpenAI's error shape; --max-concurrency requests generate at once and --max-queue more wait, " +
    'beyond that the answer is 429 with Retry-After. A client that disconnects cancels its generation. ' +
    'Listens on 127.0.0.1:8080 by default; with --host 0.0.0.0 set --api-key. --port 0 picks a free port and ' +
    'prints it (with --json, one JSON line with the URL). SIGTERM drains requests in flight and exits. ' +
    'docs/server.md lists every field and how it differs from OpenAI and mlx-lm.',
  options: serveOptions,
  examples: [
    'efficientai-toolkit lora:serve',
    'efficientai-toolkit lora:serve --model ./Llama-3.2-1B-Instruct --port 0 --json',
    'EAI_LORA__SERVE__API_KEY=secret efficientai-toolkit lora:serve --host 0.0.0.0 --max-concurrency 2',
    'curl localhost:8080/v1/chat/completions -d \'{"messages": [{"role": "user", "content": "Tell me a story"}], "max_tokens": 50}\'',
  ],
  async run(args, ctx) {
    const { runServe } = await import('./serve/run.js');
    return runServe(args, ctx);
  },
});

/** mlx-lm's lora options; no defaults here: unset flags fall back to --config, then mlx-lm's defaults. */
const trainOptions = [
  {
    name: 'model',
    type: 'string',
    description: `${MODEL_HELP} (default stories260K-hf)`,
    valueName: 'path|name',
  },
  {
    name: 'data',
    type: 'string',
    description:
      "A folder with train.jsonl, valid.jsonl (and test.jsonl for --test) in mlx-lm's text, completions, chat or tools format, or a data set name (stories-sample, bundled; wikisql, wwdc25-completions from the data folder; default stories-sample)",
    valueName: 'dir|name',
  },
  {
    name: 'config',
    type: 'path',
    description: 'An mlx-lm lora YAML file (its keys: lora_parameters, lr_schedule, ...); flags given override it',
    valueName: 'file.yaml',
  },
  {
    name: 'fine-tune-type',
    type: 'enum',
    choices: ['lora', 'dora', 'full'],
    description: 'What trains (default lora)',
  },
  { name: 'optimizer', type: 'enum', choices: ['adam', 'adamw', 'sgd'], description: "MLX's optimizer (default adam)" },
  { name: 'iters', type: 'integer', description: 'Training iterations (batches; default 1000)', min: 1 },
  { name: 'epochs', type: 'integer', description: 'Passes over train.jsonl instead of --iters', min: 1 },
  { name: 'batch-size', type: 'integer', description: 'Examples per batch (default 4)', min: 1 },
  { name: 'learning-rate', type: 'number', description: 'Adam learning rate (default 1e-5)', min: 0 },
  {
    name: 'num-layers',
    type: 'integer',
    description: "Blocks from the top to adapt; -1 for all (default 16, or all of a smaller model's)",
    min: -1,
  },
  { name: 'rank', type: 'integer', description: 'LoRA rank (default 8)', min: 1 },
  { name: 'scale', type: 'number', description: 'LoRA scale, a plain multiplier (default 20)' },
  { name: 'dropout', type: 'number', description: 'Dropout on the LoRA branch (default 0)', min: 0, max: 0.999 },
  {
    name: 'adapter-path',
    type: 'string',
    description: 'Folder for adapters.safetensors (default adapters)',
    valueName: 'dir',
  },
  { name: 'save-every', type: 'integer', description: 'Save the adapter every N iterations (default 100)', min: 1 },
  {
    name: 'steps-per-report',
    type: 'integer',
    description: 'Report the training loss every N iterations (default 10)',
    min: 1,
  },
  { name: 'steps-per-eval', type: 'integer', description: 'Validation loss every N iterations (default 200)', min: 1 },
  {
    name: 'val-batches',
    type: 'integer',
    description: 'Validation batches; -1 for all, 0 for none (default 25)',
    min: -1,
  },
  { name: 'max-seq-length', type: 'integer', description: 'Longer examples are truncated (default 2048)', min: 2 },
  { name: 'mask-prompt', type: 'boolean', description: 'Train only the completion / last message (chat, completions)' },
  { name: 'grad-checkpoint', type: 'boolean', description: 'Recompute each block in the backward pass (less memory)' },
  { name: 'grad-accumulation-steps', type: 'integer', description: 'Batches per update (default 1)', min: 1 },
  {
    name: 'max-grad-norm',
    type: 'number',
    description: 'Clip the global gradient norm (default: no clipping)',
    min: 0,
  },
  {
    name: 'seed',
    type: 'integer',
    description: 'Seed for initialisation, dropout and batch order (default 0)',
    min: 0,
  },
  {
    name: 'resume',
    type: 'boolean',
    description:
      'Continue the run saved in --adapter-path (training_state.safetensors, written every --save-every): same losses as an uninterrupted run',
  },
  { name: 'resume-adapter-file', type: 'path', description: 'Start from these adapter weights (adapters.safetensors)' },
  { name: 'test', type: 'boolean', description: 'Report the test loss and perplexity on test.jsonl at the end' },
  { name: 'test-batches', type: 'integer', description: 'Test batches; -1 for all (default 500)', min: -1 },
] as const satisfies readonly OptionSpec[];

const train = defineCommand({
  name: 'train',
  summary: 'Fine-tune a model with LoRA, DoRA or full fine-tuning on jsonl data (mlx-lm lora)',
  description:
    "mlx-lm's lora command: reads --data DIR (train.jsonl, valid.jsonl, test.jsonl in the text, completions, chat or tools " +
    "format), adapts the last --num-layers blocks with LoRA (or DoRA, or trains them fully), and trains with MLX's Adam " +
    "(no bias correction), AdamW or SGD. Defaults are mlx-lm's (batch 4, 1000 iterations, learning rate 1e-5, rank 8, " +
    "scale 20); --config takes mlx-lm's YAML (lr_schedule, optimizer_config, lora_parameters.keys, ...) and flags override " +
    'it. Reports the training loss every --steps-per-report and the validation loss every --steps-per-eval; writes ' +
    "adapters.safetensors and adapter_config.json (mlx-lm's layout) to --adapter-path every --save-every iterations and at " +
    'the end, atomically. Ctrl-C stops promptly and writes nothing more (exit 130). Loads with lora:generate --adapter-path ' +
    'and lora:fuse.',
  options: trainOptions,
  ownsConfig: true,
  examples: [
    'efficientai-toolkit lora-finetuning-mlx:train --epochs 3',
    'efficientai-toolkit lora:train --model stories260K-hf --data wikisql --iters 200 --learning-rate 1e-3 --adapter-path ./adapters',
    'efficientai-toolkit lora:train --model ./Llama-3.2-1B-Instruct --data ./chats --mask-prompt --fine-tune-type dora',
    'efficientai-toolkit lora:train --config lora_config.yaml --iters 50',
  ],
  async run(args, ctx) {
    const { runTrain } = await import('./train/run.js');
    return runTrain(args, ctx);
  },
});

const fuseOptions = [
  { ...MODEL_OPTIONS[0], description: `${MODEL_HELP}; must be a Hugging Face folder`, default: 'stories260K-hf' },
  {
    name: 'adapter-path',
    type: 'path',
    description: 'The adapter folder from lora:train (adapters.safetensors + adapter_config.json)',
    default: 'adapters',
    valueName: 'dir',
  },
  {
    name: 'save-path',
    type: 'path',
    description: 'Folder for the fused model',
    default: 'fused_model',
    valueName: 'dir',
  },
] as const satisfies readonly OptionSpec[];

const fuse = defineCommand({
  name: 'fuse',
  summary: "Fold an adapter into the model's weights and save a model folder (mlx-lm fuse)",
  description:
    "mlx-lm's fuse: each LoRA layer becomes W + scale·Bᵀ·Aᵀ, each DoRA layer (m/‖W'‖ per row)·W', and the model is saved " +
    'to --save-path as a Hugging Face folder (model.safetensors in float32 with the original tensor names, plus the ' +
    "source folder's config, tokenizer and license files) that lora:generate --model loads.",
  options: fuseOptions,
  examples: [
    'efficientai-toolkit lora:fuse --model stories260K-hf --adapter-path ./adapters --save-path ./fused',
    'efficientai-toolkit lora:generate --model ./fused --prompt "Lily found"',
  ],
  async run(args, ctx) {
    const { runFuse } = await import('./fuse.js');
    return runFuse(args, ctx);
  },
});

const exportOptions = [
  {
    name: 'adapter-path',
    type: 'path',
    description:
      'The adapter folder to convert: mlx-lm (adapters.safetensors) for --format peft, PEFT for --format mlx',
    default: 'adapters',
    valueName: 'dir',
  },
  {
    name: 'format',
    type: 'enum',
    choices: ['peft', 'mlx'],
    description: 'The layout to write: peft (adapter_model.safetensors) or mlx (adapters.safetensors)',
    default: 'peft',
  },
  {
    name: 'output',
    type: 'path',
    description: 'Folder for the converted adapter',
    default: 'peft_adapter',
    valueName: 'dir',
  },
] as const satisfies readonly OptionSpec[];

const exportCommand = defineCommand({
  name: 'export',
  summary: 'Convert an adapter between mlx-lm and Hugging Face PEFT layouts',
  description:
    "mlx-lm's <module>.lora_a [in,r] / lora_b [r,out] / m become PEFT's base_model.model.<module>.lora_A.weight [r,in], " +
    'lora_B.weight [out,r] and lora_magnitude_vector (and back); scale becomes lora_alpha = scale·r (when that is not an ' +
    'integer, it is rounded and the ratio folded into lora_B). Importing takes scale = lora_alpha/r and refuses PEFT ' +
    'adapters mlx-lm cannot express (per-module rank_pattern/alpha_pattern, biases, modules_to_save, fan_in_fan_out).',
  options: exportOptions,
  examples: [
    'efficientai-toolkit lora:export --adapter-path ./adapters --format peft --output ./peft_adapter',
    'efficientai-toolkit lora:export --adapter-path ./peft_adapter --format mlx --output ./adapters_from_peft',
  ],
  async run(args, ctx) {
    const { runExport } = await import('./export.js');
    return runExport(args, ctx);
  },
});

const testOptions = [
  { ...MODEL_OPTIONS[0], default: 'stories260K-hf' },
  ADAPTER_OPTION,
  {
    name: 'data',
    type: 'string',
    description: 'A folder with test.jsonl (any mlx-lm format) or a data set name',
    default: 'stories-sample',
    valueName: 'dir|name',
  },
  { name: 'batch-size', type: 'integer', description: 'Examples per batch', default: 4, min: 1 },
  { name: 'test-batches', type: 'integer', description: 'Batches to score; -1 for all', default: 500, min: -1 },
  { name: 'max-seq-length', type: 'integer', description: 'Longer examples are truncated', default: 2048, min: 2 },
  { name: 'mask-prompt', type: 'boolean', description: 'Score only the completion / last message' },
] as const satisfies readonly OptionSpec[];

const test = defineCommand({
  name: 'test',
  summary: 'Test loss and perplexity of a model (and adapter) on test.jsonl',
  description:
    "mlx-lm's `lora --test`: test.jsonl batched, padded and masked as in training (a last partial batch is left out, as " +
    'mlx-lm does), the token-weighted mean cross-entropy over the first --test-batches batches and its exp, the perplexity.',
  options: testOptions,
  examples: [
    'efficientai-toolkit lora:test --adapter-path ./adapters',
    'efficientai-toolkit lora:test --model stories260K-hf --data wikisql --test-batches -1 --json',
  ],
  async run(args, ctx) {
    const { runTest } = await import('./evaluate.js');
    return runTest(args, ctx);
  },
});

const optimizeOptions = [
  { ...MODEL_OPTIONS[0], description: `${MODEL_HELP} (default stories260K-hf)` },
  {
    name: 'data',
    type: 'string',
    description: 'As lora:train --data (needs valid.jsonl; default stories-sample)',
    valueName: 'dir|name',
  },
  {
    name: 'config',
    type: 'path',
    description: 'mlx-lm lora YAML for every trial, plus an optional search_space: {key: {type, low, high | values}}',
    valueName: 'file.yaml',
  },
  {
    name: 'trials',
    type: 'integer',
    description: 'Trials in the study (a rerun continues to this many)',
    default: 10,
    min: 1,
  },
  { name: 'iters', type: 'integer', description: 'Training iterations per trial', default: 30, min: 1 },
  {
    name: 'steps-per-eval',
    type: 'integer',
    description: 'Validation (and pruning) every N iterations',
    default: 10,
    min: 1,
  },
  {
    name: 'startup-trials',
    type: 'integer',
    description: 'Random trials before TPE; also the trials pruning waits for',
    default: 3,
    min: 1,
  },
  {
    name: 'study-path',
    type: 'path',
    description: 'Folder for study.json, trial adapters, best.json, report.html',
    default: 'lora_optimize',
    valueName: 'dir',
  },
  { name: 'seed', type: 'integer', description: 'Seed of the sampler and of every trial', default: 0, min: 0 },
] as const satisfies readonly OptionSpec[];

const optimize = defineCommand({
  name: 'optimize',
  summary: "Search LoRA hyperparameters: TPE sampling, median pruning, a resumable study (the seed's Optuna)",
  description:
    'Runs --trials lora:train trials one at a time over a search space (default: learning_rate log-uniform 1e-5..1e-2, rank ' +
    'in {4, 8, 16}, scale in {10, 20}, dropout 0..0.2; set your own under search_space in --config). The first ' +
    '--startup-trials draw at random, later ones by TPE from the finished trials; a trial whose validation loss is above the ' +
    'median of the finished trials at the same iteration is pruned. The objective is the final validation loss. The study ' +
    'file (STUDY/study.json) is rewritten after every trial: rerun the command to continue a crashed or interrupted study. ' +
    'Prints a table; writes best.json (parameters, configuration, adapter folder) and report.html (validation curves).',
  options: optimizeOptions,
  ownsConfig: true,
  examples: [
    'efficientai-toolkit lora-finetuning-mlx:optimize --trials 10',
    'efficientai-toolkit lora:optimize --model stories260K-hf --data wikisql --trials 20 --iters 100 --study-path ./study',
  ],
  async run(args, ctx) {
    const { runOptimize } = await import('./optimize/run.js');
    return runOptimize(args, ctx);
  },
});

export const project: ProjectSpec = {
  namespace: 'lora',
  aliases: ['lora-finetuning-mlx'],
  summary: 'LoRA, DoRA and QLoRA fine-tuning of Llama-family language models: train, fuse, generate, serve',
  commands: [generate, perplexity, serve, train, fuse, exportCommand, test, optimize],
};

export type GenerateArgs = ArgsOf<typeof generateOptions>;
export type PerplexityArgs = ArgsOf<typeof perplexityOptions>;
export type ServeArgs = ArgsOf<typeof serveOptions>;
export type TrainArgs = ArgsOf<typeof trainOptions>;
export type FuseArgs = ArgsOf<typeof fuseOptions>;
export type ExportArgs = ArgsOf<typeof exportOptions>;
export type TestArgs = ArgsOf<typeof testOptions>;
export type OptimizeArgs = ArgsOf<typeof optimizeOptions>;
