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

export const project: ProjectSpec = {
  namespace: 'style-transfer',
  aliases: ['coreml-stable-diffusion-style-transfer'],
  summary:
    'Fast per-style and arbitrary (any image) neural style transfer, and Stable Diffusion img2img (--method diffusion)',
  commands: [transfer, styles],
  tests: [
    'test/models/fast-style.test.ts',
    'test/models/magenta.test.ts',
    'test/models/layer-chain.test.ts',
    'test/models/sd',
    'test/kernels/image.test.ts',
    'test/node/image',
  ],
};
