/**
 * The style transfer workflow (seed project coreml-stable-diffusion-style-transfer):
 * `transfer` stylises one image or a folder of them with a named style or any style image (or a weighted
 * blend of style images); `styles` lists the named styles and the arbitrary-style networks.
 *
 * This file stays light (`--help` loads it): the transfer itself is in transfer.ts, loaded when it runs.
 */
import { type ArgsOf, defineCommand, type OptionSpec, type ProjectSpec } from '../../cli/command.js';
import { SCHEDULER_NAMES } from '../../models/sd/schedulers/scheduler.js';
import {
  ARBITRARY_STYLE_MODELS,
  ARBITRARY_WEIGHTS,
  DEFAULT_ARBITRARY_WEIGHTS,
  DEFAULT_SIZE,
  DEFAULT_STYLE,
  MAX_SIZE,
  MAX_STYLE_SIZE,
  MIN_SIZE,
  MIN_STYLE_SIZE,
  NAMED_STYLES,
} from '../../models/styles.js';
import { DIFFUSION_DEFAULTS, DIFFUSION_STYLES } from './diffusion-styles.js';

/** Where results go without --output (relative to the working directory; ignored by git in this repository). */
export const DEFAULT_OUTPUT_DIR = 'stylized';

export const TRANSFER_OPTIONS = [
  {
    name: 'content',
    type: 'path',
    description: 'Content image, or a folder of images (default: the astronaut sample)',
  },
  {
    name: 'style',
    type: 'string',
    valueName: 'name|path',
    description: `Named style (see style-transfer:styles; default ${DEFAULT_STYLE}), or a style image file (arbitrary style)`,
  },
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
    description:
      "How much of the style image's style to apply, 0..1 (arbitrary style; default 1); with --method diffusion, " +
      `how far the image is re-noised (default ${DIFFUSION_DEFAULTS.strength})`,
    min: 0,
    max: 1,
  },
  {
    name: 'blend',
    type: 'string',
    repeatable: true,
    valueName: 'path:weight',
    description: 'A style image and its weight (repeat to blend several; weights are normalised)',
  },
  {
    name: 'style-size',
    type: 'integer',
    description: 'Side of the square style images are scaled to for style prediction (arbitrary style)',
    default: 256,
    min: MIN_STYLE_SIZE,
    max: MAX_STYLE_SIZE,
  },
  {
    name: 'arbitrary-weights',
    type: 'enum',
    choices: ARBITRARY_WEIGHTS,
    default: DEFAULT_ARBITRARY_WEIGHTS,
    description: 'Arbitrary style transfer network weights: int8 (magenta-arbitrary) or fp16 (magenta-arbitrary-fp16)',
  },
  {
    name: 'output',
    type: 'path',
    description:
      `Output file (.png keeps transparency, .jpg), or a folder to write into (default: ./${DEFAULT_OUTPUT_DIR}/; ` +
      `a folder of inputs goes to ./${DEFAULT_OUTPUT_DIR}/<folder>/)`,
  },
  { name: 'force', type: 'boolean', description: 'Allow --output to overwrite an input image' },
  {
    name: 'keep-going',
    type: 'boolean',
    description: 'With a folder of inputs: carry on past images that fail, list them at the end and exit 1',
  },
  {
    name: 'method',
    type: 'enum',
    choices: ['neural', 'diffusion'],
    default: 'neural',
    description: 'neural: fast style networks and arbitrary style; diffusion: Stable Diffusion img2img with a prompt',
  },
  { name: 'prompt', type: 'string', description: 'Diffusion: what the result should look like' },
  { name: 'negative-prompt', type: 'string', description: 'Diffusion: what to steer away from (default "")' },
  {
    name: 'steps',
    type: 'integer',
    description: `Diffusion: scheduler steps; img2img runs strength × steps of them (default ${DIFFUSION_DEFAULTS.steps})`,
    min: 1,
    max: 1000,
  },
  {
    name: 'guidance',
    type: 'number',
    description: `Diffusion: classifier-free guidance scale; 1 or less turns it off (default ${DIFFUSION_DEFAULTS.guidance})`,
    min: 0,
    max: 100,
  },
  {
    name: 'scheduler',
    type: 'enum',
    choices: SCHEDULER_NAMES,
    description: "Diffusion: sampler (default: the model folder's scheduler)",
  },
  {
    name: 'model',
    type: 'string',
    valueName: 'dir|name',
    description: `Diffusion: a diffusers folder or a model registry name (default ${DIFFUSION_DEFAULTS.model}; sd-1.5, sd-2.1-base)`,
  },
  {
    name: 'seed',
    type: 'integer',
    description: 'Diffusion: seed of the noise (default 0)',
    min: 0,
    max: 2 ** 32 - 1,
  },
  {
    name: 'noise',
    type: 'path',
    description:
      'Diffusion: initial noise, raw little-endian float32 [1, 4, H/8, W/8] (reproduces another implementation)',
  },
  {
    name: 'lora',
    type: 'string',
    repeatable: true,
    valueName: 'path[:weight]',
    description: 'Diffusion: a style LoRA (diffusers or kohya safetensors) and its weight (default 1); repeatable',
  },
  { name: 'content-image', type: 'path', description: 'Same as --content (the seed CLI name)' },
  {
    name: 'style-image',
    type: 'path',
    description: 'A style image (arbitrary style; same as --style PATH, the seed CLI name)',
  },
] as const satisfies readonly OptionSpec[];

export type TransferArgs = ArgsOf<typeof TRANSFER_OPTIONS>;

const transfer = defineCommand({
  name: 'transfer',
  summary: 'Stylise an image (or a folder of images) with a named style or the style of any image',
  description:
    'Scales the content image so its long side is --size pixels (keeping the aspect ratio), runs the style network ' +
    "on the current backend and writes a PNG (keeping the content image's transparency) or JPEG, by the output " +
    `extension, into ./${DEFAULT_OUTPUT_DIR}/ unless --output says otherwise; an output that would replace an input ` +
    'is refused without --force. Without --content it stylises the bundled public-domain astronaut photo. A folder as ' +
    '--content stylises every .png/.jpg in it, with a progress bar; an image that fails stops the batch, naming it, or ' +
    'with --keep-going is listed at the end (exit 1). A run that will take minutes (the js backend, a CPU-emulated GPU, ' +
    'large sizes) is announced first with a faster way; Ctrl-C stops it and writes nothing. Named styles are fast per-style networks (see style-transfer:styles). Any image can be ' +
    'the style instead (--style PATH or --style-image PATH): Magenta arbitrary style transfer predicts a style vector ' +
    'from the central square of the style image, scaled to --style-size (256, as trained); --strength below 1 blends ' +
    "in the content image's own style vector, and --blend PATH:WEIGHT (repeatable) mixes several style images. Model " +
    'weights come from the model registry (EAI_MODELS_DIR or the download cache). Large images are scaled, not tiled: ' +
    'the networks normalise with whole-image statistics. --method diffusion restyles with Stable Diffusion img2img ' +
    `instead: --prompt, or --style with a diffusion style (${DIFFUSION_STYLES.map((d) => d.name).join(', ')}), ` +
    '--strength, --steps, --guidance, --scheduler, --seed, --lora and --model (default tiny-sd, a tiny test ' +
    'pipeline with random weights: download sd-1.5 with models:download for real pictures).',
  options: TRANSFER_OPTIONS,
  examples: [
    'efficientai-toolkit style-transfer:transfer',
    'efficientai-toolkit style-transfer:transfer --content photo.jpg --style candy --size 768 --output candy.png',
    'efficientai-toolkit style-transfer:transfer --content photos/ --style udnie --output stylized/ --json',
    'efficientai-toolkit style-transfer:transfer --content photo.jpg --style starry_night.jpg --strength 0.7',
    'efficientai-toolkit style-transfer:transfer --content photo.jpg --blend great_wave.jpg:0.7 --blend the_kiss.jpg:0.3',
    'efficientai-toolkit coreml-stable-diffusion-style-transfer:transfer --content-image photo.jpg --style mosaic',
    'efficientai-toolkit style-transfer:transfer --method diffusion --content photo.jpg --style watercolor --model sd-1.5',
    'efficientai-toolkit style-transfer:transfer --method diffusion --prompt "an oil painting" --strength 0.5 --steps 30 --lora style.safetensors:0.8',
  ],
  async run(args, ctx) {
    const { runTransfer } = await import('./transfer.js');
    return runTransfer(args, ctx);
  },
});

const styles = defineCommand({
  name: 'styles',
  summary: 'List the named styles and the arbitrary-style networks with their licences',
  description:
    'Named styles are fast per-style networks: --style NAME. Any image can also be the style (--style PATH, ' +
    '--style-image PATH or --blend PATH:WEIGHT): Magenta arbitrary style transfer, listed below the named styles. ' +
    'With --json the output is the array of named styles.',
  options: [],
  examples: ['efficientai-toolkit style-transfer:styles', 'efficientai-toolkit style-transfer:styles --json'],
  async run(_args, ctx) {
    const width = Math.max(...NAMED_STYLES.map((s) => s.name.length));
    const arbitrary = Object.values(ARBITRARY_STYLE_MODELS);
    ctx.output(
      NAMED_STYLES,
      [
        ...NAMED_STYLES.map((s) => `${s.name.padEnd(width)}  ${s.title}  (${s.license}; ${s.source})`),
        '',
        'Arbitrary style: any image is a style with --style PATH or --style-image PATH, --strength 0..1 and',
        '--blend PATH:WEIGHT (repeatable). Networks (--arbitrary-weights):',
        ...arbitrary.map(
          (m) => `${m.weights.padEnd(width)}  ${m.title}, model ${m.model}  (${m.license}; ${m.source})`,
        ),
      ].join('\n'),
    );
  },
});

const convert = defineCommand({
  name: 'convert',
  summary: 'Convert a style network to Core ML (.mlpackage) or ONNX, and check the result',
  description:
    'Reads a PyTorch checkpoint (.pth/.pt/.ckpt, zip or legacy format, through a restricted unpickler that loads only ' +
    'tensors and plain containers), a safetensors file, a fast-style ONNX file, a Magenta TFLite file, a diffusers ' +
    'Stable Diffusion folder (its text encoder, UNet and VAE, one file each), or a bundled model name (a named style, ' +
    'magenta-arbitrary for both arbitrary-style networks, tiny-sd/sd-1.5/sd-2.1-base). It traces the network once at ' +
    '--size and writes --output-path by its extension: .mlpackage (a Core ML ML Program for iOS 16 / macOS 13+, float16 ' +
    'by default, --quantize-nbits palettizes weights with a k-means look-up table) or .onnx (opset 17, float32). The ' +
    'written file is then read back and checked against the toolkit: the .mlpackage by interpreting its program on the ' +
    "toolkit's backends (Core ML itself runs only on Apple platforms), the .onnx in onnxruntime-node when installed. " +
    'Input shapes are fixed at --size. See docs/conversion.md.',
  options: [
    {
      name: 'model-path',
      type: 'string',
      valueName: 'file|name',
      description: `Model file, or a bundled model name (default: the ${DEFAULT_STYLE} style)`,
    },
    {
      name: 'output-path',
      type: 'path',
      valueName: 'file',
      description: 'Output .mlpackage or .onnx (default: <model>.mlpackage here)',
    },
    {
      name: 'size',
      type: 'string',
      valueName: 'SIDE|HxW',
      description: 'Image size the model is exported at (default 512; Stable Diffusion: the UNet sample size × 8)',
    },
    {
      name: 'quantize-nbits',
      type: 'enum',
      choices: ['4', '6', '8'],
      description: 'Palettize Core ML weights (> 2048 elements) to 2^n-entry k-means look-up tables',
    },
    {
      name: 'precision',
      type: 'enum',
      choices: ['float16', 'float32'],
      default: 'float16',
      description: 'Core ML compute precision (weights and activations); ONNX is always float32',
    },
    {
      name: 'component',
      type: 'string',
      description:
        'One network of a multi-network model: Magenta all|predictor|transformer (default all); Stable Diffusion ' +
        'text-encoder|unet|vae-encoder|vae-decoder (default: each, to OUT_<component>.ext)',
    },
    {
      name: 'verify',
      type: 'boolean',
      default: true,
      description: 'Read the written file back and compare its output (--no-verify skips)',
    },
  ],
  examples: [
    'efficientai-toolkit style-transfer:convert --model-path candy.pth --output-path candy.mlpackage',
    'efficientai-toolkit style-transfer:convert --model-path mosaic --output-path mosaic.onnx --size 384x512',
    'efficientai-toolkit style-transfer:convert --model-path candy.pth --output-path candy-6bit.mlpackage --quantize-nbits 6',
    'efficientai-toolkit style-transfer:convert --model-path magenta-arbitrary --output-path arbitrary.mlpackage',
    'efficientai-toolkit style-transfer:convert --model-path tiny-sd --output-path tiny-sd.onnx   # four files, one per network',
    'efficientai-toolkit style-transfer:convert --model-path sd-1.5 --component unet --output-path unet.mlpackage --quantize-nbits 6',
    'efficientai-toolkit coreml-stable-diffusion-style-transfer:convert --model-path model.pth --output-path model.mlpackage',
  ],
  async run(args, ctx) {
    const { convertCommand } = await import('./convert.js');
    return convertCommand(args, ctx);
  },
});

const benchmark = defineCommand({
  name: 'benchmark',
  summary: 'Time a style model on test images per backend: latency, throughput, peak memory; JSON, Markdown, HTML',
  description:
    'Runs the model on every image of --test-images (each image a timed run; images take turns) on each backend of ' +
    '--backends, and reports per-image latency (median and p90), throughput and peak tensor memory. The model is a ' +
    '.mlpackage from style-transfer:convert (its MIL program interpreted by the toolkit, at its fixed input shape), or ' +
    'anything convert reads: a named style, a .pth/.safetensors/.onnx fast-style network, or magenta-arbitrary (images ' +
    'scaled to --size on the long side). Reports go to --output as JSON, Markdown and a self-contained HTML page with charts.',
  options: [
    {
      name: 'model-path',
      type: 'string',
      valueName: 'file|name',
      description: `.mlpackage, model file or bundled model name (default: the ${DEFAULT_STYLE} style)`,
    },
    {
      name: 'test-images',
      type: 'path',
      valueName: 'dir',
      description: 'Folder of .png/.jpg images, or one image (default: the bundled content images)',
    },
    {
      name: 'backends',
      type: 'string',
      valueName: 'a,b',
      description: 'Backends to measure, comma-separated or all (default: the current one)',
    },
    {
      name: 'output',
      type: 'path',
      valueName: 'dir',
      description: 'Folder for the reports (default: ./style-benchmark)',
    },
    {
      name: 'size',
      type: 'integer',
      description: 'Long side images are scaled to, for models without a fixed input shape (default 512)',
    },
    { name: 'runs', type: 'integer', default: 2, min: 1, max: 1000, description: 'Timed runs per image' },
    { name: 'warmup', type: 'integer', default: 1, min: 0, max: 100, description: 'Untimed runs first, per backend' },
  ],
  examples: [
    'efficientai-toolkit style-transfer:benchmark',
    'efficientai-toolkit style-transfer:benchmark --model-path candy.mlpackage --test-images photos/ --backends native,wasm',
    'efficientai-toolkit style-transfer:benchmark --model-path udnie --backends all --output bench-out/ --json',
    'efficientai-toolkit coreml-stable-diffusion-style-transfer:benchmark --model-path model.mlpackage --test-images images/',
  ],
  async run(args, ctx) {
    const { benchmarkCommand } = await import('./benchmark.js');
    return benchmarkCommand(args, ctx);
  },
});

export const project: ProjectSpec = {
  namespace: 'style-transfer',
  aliases: ['coreml-stable-diffusion-style-transfer'],
  summary:
    'Fast per-style and arbitrary (any image) neural style transfer, Stable Diffusion img2img (--method diffusion), ' +
    'conversion to Core ML and ONNX, and benchmarks',
  commands: [transfer, styles, convert, benchmark],
  tests: [
    'test/models/fast-style.test.ts',
    'test/models/magenta.test.ts',
    'test/models/layer-chain.test.ts',
    'test/models/sd',
    'test/kernels/image.test.ts',
    'test/node/image',
    'test/models/export',
    'test/core/io',
  ],
};
