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

const generateOptions = [
  ...MODEL_OPTIONS,
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

export const project: ProjectSpec = {
  namespace: 'lora',
  aliases: ['lora-finetuning-mlx'],
  summary: 'LoRA, DoRA and QLoRA fine-tuning of Llama-family language models: train, fuse, generate, serve',
  commands: [generate, perplexity, serve],
};

export type GenerateArgs = ArgsOf<typeof generateOptions>;
export type PerplexityArgs = ArgsOf<typeof perplexityOptions>;
export type ServeArgs = ArgsOf<typeof serveOptions>;
