/**
 * The model compression workflow (seed project model-compression-mlx). Each command's implementation is
 * imported when it runs, so `--help` stays fast.
 */
import { type ArgsOf, defineCommand, type OptionSpec, type ProjectSpec } from '../../cli/command.js';

const MODEL_OPTION = {
  name: 'model',
  type: 'string',
  description:
    'A Hugging Face Llama/Qwen2 folder (config.json + safetensors + tokenizer files) or a registry name stored as one',
  default: 'stories260K-hf',
  valueName: 'path|name',
} as const satisfies OptionSpec;

function outputOption<D extends string>(fallback: D) {
  return {
    name: 'output',
    type: 'path',
    description: 'The folder to write (must not exist, or be empty); it appears whole or not at all',
    default: fallback,
    valueName: 'dir',
  } as const satisfies OptionSpec;
}

/** Calibration text for the methods that look at activations (gptq, wanda). */
const CALIBRATION_OPTIONS = [
  {
    name: 'calibration-data',
    type: 'path',
    description:
      'Calibration text, paragraphs separated by blank lines (the first N are used); default: the last N paragraphs of the bundled TinyStories text (evaluation uses its first ones)',
  },
  {
    name: 'calibration-samples',
    type: 'integer',
    description: 'Paragraphs of calibration text (N)',
    default: 128,
    min: 1,
  },
  {
    name: 'calibration-length',
    type: 'integer',
    description: 'Most tokens per calibration paragraph',
    default: 512,
    min: 2,
  },
] as const satisfies readonly OptionSpec[];

const quantizeOptions = [
  MODEL_OPTION,
  outputOption('mlx_model'),
  { name: 'bits', type: 'integer', description: 'Bits per weight: 2, 3, 4, 5, 6 or 8', default: 4 },
  {
    name: 'group-size',
    type: 'integer',
    description: 'Weights sharing one scale and bias: 32, 64 or 128',
    default: 64,
  },
  {
    name: 'recipe',
    type: 'enum',
    choices: ['mixed_2_6', 'mixed_3_4', 'mixed_3_6', 'mixed_4_6'],
    description:
      "mlx-lm's mixed-precision recipes: low/high bits, high for v_proj and down_proj in some blocks and for lm_head",
  },
  {
    name: 'method',
    type: 'enum',
    choices: ['rtn', 'gptq', 'hqq'],
    description:
      'rtn: round to nearest (mx.quantize); gptq: error-compensating rounding from calibration text; hqq: zero points fitted without data',
    default: 'rtn',
  },
  ...CALIBRATION_OPTIONS,
] as const satisfies readonly OptionSpec[];

const quantize = defineCommand({
  name: 'quantize',
  summary: 'Quantize a language model to an mlx-lm compatible folder (2-8 bits, group 32/64/128)',
  description:
    "Writes --output laid out as mlx-lm's quantized models (mlx_lm.convert -q): model.safetensors with a U32 .weight, " +
    '.scales and .biases per quantized Linear and the embedding, config.json with "quantization" and ' +
    '"quantization_config", and the tokenizer files copied; lora:generate, lora:perplexity and mlx-lm load it as it is. ' +
    'As mlx-lm does, a module whose input size is not a multiple of --group-size stays float (stories260K: its ' +
    'down_proj has 172 inputs, and at group 128 nothing fits its 64-wide layers). The folder appears only when complete.',
  options: quantizeOptions,
  examples: [
    'efficientai-toolkit compression:quantize --bits 8 --group-size 32 --output stories-q8',
    'efficientai-toolkit compression:quantize --model ./Llama-3.2-1B-Instruct --bits 4 --output ./llama-1b-4bit',
    'efficientai-toolkit compression:quantize --model ./Qwen2.5-0.5B --recipe mixed_3_6 --output ./qwen-mixed --json',
    'efficientai-toolkit compression:quantize --bits 4 --group-size 32 --method gptq --output stories-gptq4',
    'efficientai-toolkit compression:quantize --bits 4 --method hqq --output stories-hqq4',
  ],
  async run(args, ctx) {
    const { runQuantize } = await import('./quantize.js');
    return runQuantize(args, ctx);
  },
});

const pruneOptions = [
  MODEL_OPTION,
  outputOption('pruned_model'),
  {
    name: 'sparsity',
    type: 'number',
    description: 'Fraction of the projection weights to remove, in [0, 1)',
    default: 0.5,
    min: 0,
  },
  {
    name: 'method',
    type: 'enum',
    choices: ['magnitude', 'wanda', 'structured'],
    description:
      'magnitude: smallest |w|; wanda: smallest |w|·‖x‖ per output row (calibration text); structured: whole FFN neurons removed (a smaller dense model)',
    default: 'magnitude',
  },
  {
    name: 'pattern',
    type: 'string',
    description: 'N:M semi-structured sparsity (2:4: two zeros in every four consecutive inputs of a row)',
    valueName: 'N:M',
  },
  {
    name: 'scope',
    type: 'enum',
    choices: ['layer', 'global'],
    description: 'Unstructured magnitude: the sparsity per matrix, or one threshold across all of them',
    default: 'layer',
  },
  ...CALIBRATION_OPTIONS,
] as const satisfies readonly OptionSpec[];

const prune = defineCommand({
  name: 'prune',
  summary: 'Prune a language model (magnitude, Wanda, N:M, structured FFN neurons) and report each layer',
  description:
    'Writes --output as an ordinary Hugging Face folder of the same dtype (pruned weights are zeros; structured pruning ' +
    'removes FFN neurons and lowers intermediate_size, so the model is smaller), loadable by every command ' +
    'and quantizable afterwards. Only the attention and MLP projections are pruned; the embedding and the head keep ' +
    'every weight. The sparsity of every projection is reported (with --json, per layer). No recovery fine-tuning is done here.',
  options: pruneOptions,
  examples: [
    'efficientai-toolkit compression:prune --sparsity 0.5',
    'efficientai-toolkit compression:prune --pattern 2:4 --method wanda --output stories-2of4',
    'efficientai-toolkit compression:prune --method structured --sparsity 0.25 --output stories-slim --json',
  ],
  async run(args, ctx) {
    const { runPrune } = await import('./prune.js');
    return runPrune(args, ctx);
  },
});

export const project: ProjectSpec = {
  namespace: 'compression',
  aliases: ['model-compression-mlx'],
  summary: 'Quantization, pruning and distillation of models, with memory, speed and quality benchmarks',
  commands: [quantize, prune],
};

export type QuantizeArgs = ArgsOf<typeof quantizeOptions>;
export type PruneArgs = ArgsOf<typeof pruneOptions>;
