/**
 * The models the toolkit knows: where each file officially comes from, how to check it, and its licence.
 *
 * Checksum policy: `sha256` is the checksum of the file served at `url`, recorded only from a source that
 * states it (a Git LFS pointer's oid is the SHA-256 of the content; `sha256Source` says which). Where it is not
 * known, `sha256` is `null` and `sha256Note` says why; downloads are then checked by size (if known) and format.
 * `localSha256`/`localSize` describe the reference copies in `../shared/models`, which for some models were
 * rebuilt or obtained from mirrors and so are not the official bytes. Never fill in a checksum you did not read
 * from such a source.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import { didYouMean } from '../suggest.js';
import type { ModelFormat } from './formats.js';

export type { ModelFormat } from './formats.js';

/** One file of a model. */
export interface ModelFile {
  /** File name inside the model's folder (same in `EAI_MODELS_DIR` and in the cache). */
  readonly path: string;
  /**
   * Official download URL, or `null` where no official copy of this file exists (a file converted or
   * generated for the reference folder); `urlNote` then says where it came from and how to make it.
   */
  readonly url: string | null;
  /** Why `url` is `null`. */
  readonly urlNote?: string;
  /** SHA-256 (hex) of the file at `url`, or `null` when it is not known (see `sha256Note`). */
  readonly sha256: string | null;
  /** Where `sha256` was read from. */
  readonly sha256Source?: string;
  /** Why `sha256` is `null`. */
  readonly sha256Note?: string;
  /** Size in bytes of the file at `url`, when known. */
  readonly size?: number;
  /** SHA-256 and size of the reference copy in ../shared/models (may differ from the official file). */
  readonly localSha256?: string;
  readonly localSize?: number;
  readonly format: ModelFormat;
  /** Differences between the official file and the local copy, or other caveats. */
  readonly notes?: string;
}

/** A model: one or more files that are used together. */
export interface ModelEntry {
  /** Registry name, as typed on the command line (`models:download --name NAME`). */
  readonly name: string;
  /** Folder holding the files, under `EAI_MODELS_DIR` or the cache. */
  readonly folder: string;
  readonly description: string;
  readonly files: readonly ModelFile[];
  /** SPDX identifier. */
  readonly license: string;
  readonly licenseUrl: string;
  readonly notes?: string;
}

const ZOO = 'https://github.com/onnx/models/raw';
const ZOO_NOTE =
  'The ONNX Model Zoo file is opset 9 with tensors input1/output1 and a declared fixed 224x224 size (the network ' +
  'is fully convolutional); the reference copy in ../shared/models is an opset-13 rebuild from fp16-rounded ' +
  'weights with tensors input/output and dynamic H/W, so its bytes differ. Read the tensor names from the graph.';
const ZOO_UNKNOWN =
  'The zoo stores this file in Git LFS; its LFS pointer (which carries the SHA-256) was not available when this ' +
  'entry was written.';
const LFS = (commit: string): string => `Git LFS pointer (oid sha256) in onnx/models at commit ${commit}`;

function fastStyle(
  style: string,
  zooFile: string,
  url: string,
  official: { sha256: string; size: number; source: string } | null,
  localSha256: string,
  localSize: number,
): ModelEntry {
  const file: ModelFile = official
    ? {
        path: `${style}.onnx`,
        url,
        sha256: official.sha256,
        sha256Source: official.source,
        size: official.size,
        localSha256,
        localSize,
        format: 'onnx',
        notes: ZOO_NOTE,
      }
    : {
        path: `${style}.onnx`,
        url,
        sha256: null,
        sha256Note: ZOO_UNKNOWN,
        localSha256,
        localSize,
        format: 'onnx',
        notes: ZOO_NOTE,
      };
  return {
    name: `fast-neural-style-${style}`,
    folder: 'fast-neural-style',
    description: `Johnson et al. fast style transfer network, "${style}" style (1.68 M parameters; ONNX Model Zoo ${zooFile}). Input RGB 0..255 NCHW, output unclamped 0..255.`,
    files: [file],
    license: 'BSD-3-Clause',
    licenseUrl: 'https://github.com/pytorch/examples/blob/main/LICENSE',
    notes: 'Weights from pytorch/examples fast_neural_style via the ONNX Model Zoo.',
  };
}

const TF_STYLE = 'https://storage.googleapis.com/download.tensorflow.org/models/tflite';
const MAGENTA_LOCAL_NOTE =
  'Google publishes no checksum for this file; the reference copy in ../shared/models came from a third-party app ' +
  'snapshot (see its NOTICE), so its checksum is recorded only as localSha256.';
const MAGENTA_PREDICTION: ModelFile = {
  path: 'magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite',
  url: `${TF_STYLE}/task_library/style_transfer/android/magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite`,
  sha256: null,
  sha256Note: MAGENTA_LOCAL_NOTE,
  localSha256: 'af6ad4b2e7aeba0675f32636082ab915ced5375229a3f8aff7e714c6213f5ed2',
  localSize: 2828838,
  format: 'tflite',
};
const MAGENTA_LICENSE = {
  license: 'Apache-2.0',
  licenseUrl: 'https://www.apache.org/licenses/LICENSE-2.0',
  notes:
    'Ghiasi et al. 2017 (Magenta). TF Hub google/magenta/arbitrary-image-stylization-v1-256; TF Hub models default ' +
    'to Apache-2.0, as do Magenta and tensorflow/examples.',
} as const;

const CORAL_COMMIT = '104342d2d3480b3e66203073dac24f4e2dbb4c41';
const CORAL = `https://github.com/google-coral/test_data/raw/${CORAL_COMMIT}`;
const CORAL_SOURCE =
  `the reference copy in ../shared/models, taken from this very repository at the pinned commit ${CORAL_COMMIT} ` +
  '(see its NOTICE)';
function coral(path: string, sha256: string, size: number, format: ModelFormat): ModelFile {
  return {
    path,
    url: `${CORAL}/${path}`,
    sha256,
    sha256Source: CORAL_SOURCE,
    size,
    localSha256: sha256,
    localSize: size,
    format,
  };
}
const LABELS = coral(
  'imagenet_labels.txt',
  'b8aaeb5630c62626a7d124a05c0e14230a7ffdd2136a31d0190a4fb71c1d82f1',
  21686,
  'text',
);
const CORAL_LICENSE = {
  license: 'Apache-2.0',
  licenseUrl: 'https://github.com/google-coral/test_data/blob/master/LICENSE',
} as const;

const TINYLLAMAS = 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K';
const TINYLLAMAS_NOTE =
  'Hugging Face shows the LFS checksum on the file page, but it was not available when this entry was written; ' +
  'the reference copy in ../shared/models came from a GitHub mirror (see its NOTICE), so its checksum is recorded ' +
  'only as localSha256.';

/** A file of a reference folder that has no official download (converted or generated here). */
function localOnly(
  path: string,
  localSha256: string,
  localSize: number,
  format: ModelFormat,
  urlNote: string,
  notes?: string,
): ModelFile {
  return {
    path,
    url: null,
    urlNote,
    sha256: null,
    sha256Note:
      'no official copy of this file exists, so there is no official checksum; localSha256 is the reference copy',
    localSha256,
    localSize,
    format,
    ...(notes ? { notes } : {}),
  };
}

const STORIES_HF_NOTE =
  'Converted from stories260K.bin (and tok512.model) for ../shared/models; no Hugging Face-layout copy of stories260K ' +
  'is published. Its NOTICE gives the conversion (wq/wk permuted to rotate_half order, other tensors copied).';

const CLIP_HF = 'https://huggingface.co/openai/clip-vit-large-patch14/resolve/main';
const CLIP_NOTE =
  'Hugging Face serves this file through Git LFS or as plain text without a published checksum; the reference copy ' +
  'is byte-identical to the Stable Diffusion v1.x tokenizer/ folder (see its NOTICE), recorded as localSha256.';
function clipFile(path: string, localSha256: string, localSize: number, format: ModelFormat): ModelFile {
  return { path, url: `${CLIP_HF}/${path}`, sha256: null, sha256Note: CLIP_NOTE, localSha256, localSize, format };
}
const CLIP_WRITTEN =
  'Written for ../shared/models with the standard CLIPTokenizer settings (bos 49406, eos = pad = unk 49407, ' +
  'lower case, 77 tokens); the file of the same name on Hugging Face differs in bytes.';

const TINY_SD_NOTE =
  'Generated for ../shared/models with random, seeded weights (architecture and format tests only); see its NOTICE. ' +
  'Real Stable Diffusion weights are the sd-1.5 and sd-2.1-base entries.';
function tinySd(path: string, localSha256: string, localSize: number, format: ModelFormat): ModelFile {
  return localOnly(path, localSha256, localSize, format, TINY_SD_NOTE);
}

const PTH_NOTE =
  'Converted for ../shared/models from the ONNX weights by PyTorch 1.13 (see its NOTICE). pytorch/examples ' +
  'distributes the originals as saved_models.zip from its download script (download_saved_models.py).';

const SD15_HF = 'https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5/resolve/main';
const SD15_MIRROR = 'HDRJ-One/runwayml-stable-diffusion-v1-5';
const SD15_LFS = (commit: string): string =>
  `Git LFS pointer (oid sha256) of the runwayml/stable-diffusion-v1-5 file in the GitHub mirror ${SD15_MIRROR} at commit ${commit}`;
const SD_PLAIN =
  'a small plain-git file (not stored in Git LFS), so no source states its checksum; downloads are checked by format';
const SD15_NOTE =
  'Runway removed runwayml/stable-diffusion-v1-5 from Hugging Face in 2024; the stable-diffusion-v1-5 organisation ' +
  "hosts the same pipeline. Checksums are the runwayml files' LFS oids, so a re-uploaded file that differs fails " +
  'the download check rather than passing unverified.';

/** A file of a real Stable Diffusion pipeline: with its LFS checksum and size where a source states them. */
function sdFile(
  base: string,
  path: string,
  format: ModelFormat,
  official?: { sha256: string; size: number; source: string },
  notes?: string,
): ModelFile {
  const common = { path, url: `${base}/${path}`, format, ...(notes ? { notes } : {}) };
  return official
    ? { ...common, sha256: official.sha256, sha256Source: official.source, size: official.size }
    : { ...common, sha256: null, sha256Note: SD_PLAIN };
}

/** The config and tokenizer files every diffusers SD folder has. */
function sdConfigFiles(base: string): ModelFile[] {
  return [
    'model_index.json',
    'scheduler/scheduler_config.json',
    'text_encoder/config.json',
    'tokenizer/merges.txt',
    'tokenizer/special_tokens_map.json',
    'tokenizer/tokenizer_config.json',
    'tokenizer/vocab.json',
    'unet/config.json',
    'vae/config.json',
  ].map((p) => sdFile(base, p, p.endsWith('.txt') ? 'text' : 'json'));
}

const SD21B_HF = 'https://huggingface.co/stabilityai/stable-diffusion-2-1-base/resolve/main';
const SD21B_UNKNOWN =
  'the GitHub mirror this entry was checked against (jack-op11/stable-diffusion-2-1-base) does not carry this file, ' +
  'and no other source stating its checksum was found; downloads are checked by format';

/** Every known model. */
export const MODELS: readonly ModelEntry[] = [
  fastStyle(
    'candy',
    'candy-9.onnx',
    `${ZOO}/main/validated/vision/style_transfer/fast_neural_style/model/candy-9.onnx`,
    null,
    '0c5817188ecd4441e19ab7aa5f53ab3c415ed3225609a0661cab1ce2ca2595d5',
    6725424,
  ),
  fastStyle(
    'mosaic',
    'mosaic-9.onnx',
    `${ZOO}/main/validated/vision/style_transfer/fast_neural_style/model/mosaic-9.onnx`,
    null,
    '6b6943c7e92bafacc0c69958d0504ad0381b91cd688d21d11b932c788bd5c2cb',
    6725429,
  ),
  fastStyle(
    'pointilism',
    'pointilism-9.onnx',
    `${ZOO}/13fcb614fdedcc09864c0691c080ccf82ca3b85b/vision/style_transfer/fast_neural_style/model/pointilism-9.onnx`,
    {
      sha256: '5ee2b8d4d6bc60a777f54e0fe96a1b717360a004b79d56c67390d4a975b14d98',
      size: 6728029,
      source: LFS('13fcb614fdedcc09864c0691c080ccf82ca3b85b'),
    },
    '97c99f0462ba78956756ae83a91b193bfba0065d8ab8de369378dd68b3c8410f',
    6725449,
  ),
  fastStyle(
    'rain-princess',
    'rain-princess-9.onnx',
    `${ZOO}/13fcb614fdedcc09864c0691c080ccf82ca3b85b/vision/style_transfer/fast_neural_style/model/rain-princess-9.onnx`,
    {
      sha256: '4162912e6f75fedef6f810ae989b9e10d3d5d43308dab34b027c850cf255e152',
      size: 6728029,
      source: LFS('13fcb614fdedcc09864c0691c080ccf82ca3b85b'),
    },
    '29988494721068452da2ef82da37399409f0ffb96e6d569215c254dd53631e20',
    6725464,
  ),
  fastStyle(
    'udnie',
    'udnie-9.onnx',
    `${ZOO}/2a67a85e670e61bf9819e9df6dae3771974552ff/validated/vision/style_transfer/fast_neural_style/model/udnie-9.onnx`,
    {
      sha256: '8656b6ce7dec8f22ee13c2d557d6b67bd6f550dde88d0f2e7c9972aeb765cc0d',
      size: 6728029,
      source: LFS('2a67a85e670e61bf9819e9df6dae3771974552ff'),
    },
    'd436d78aa92c80e34c121e67ecd6bc6bf68d73dc122ca041ff6b5bcb95c77e3f',
    6725424,
  ),
  {
    name: 'magenta-arbitrary',
    folder: 'magenta-arbitrary',
    description:
      'Magenta arbitrary image stylization, int8 TFLite: style prediction (256x256 style image -> 100-d vector, ' +
      'MobileNet-v2 based) and style transfer (384x384 content + vector -> image).',
    files: [
      MAGENTA_PREDICTION,
      {
        path: 'magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite',
        url: `${TF_STYLE}/task_library/style_transfer/android/magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite`,
        sha256: null,
        sha256Note: MAGENTA_LOCAL_NOTE,
        localSha256: '7a1550643cf034a4d813c0aa276976cd15da4141b4f1ec3631db1d0d9c8e2cd1',
        localSize: 284398,
        format: 'tflite',
      },
    ],
    ...MAGENTA_LICENSE,
  },
  {
    name: 'magenta-arbitrary-fp16',
    folder: 'magenta-arbitrary',
    description:
      'Magenta arbitrary image stylization with the float16 transfer network (same network as the int8 one; ' +
      'outputs differ by about 0.004 mean on a 0..1 scale) and the int8 style prediction network.',
    files: [
      MAGENTA_PREDICTION,
      {
        path: 'magenta_arbitrary-image-stylization-v1-256_fp16_transfer_384.tflite',
        url: `${TF_STYLE}/arbitrary_style_transfer/style_transfer_f16_384.tflite`,
        sha256: null,
        sha256Note: MAGENTA_LOCAL_NOTE,
        localSha256: 'c60cff7395544eda1f0915d6dddaedd8ed868cefe8ec6c5ed220ba801f120303',
        localSize: 421104,
        format: 'tflite',
        notes: 'Published as style_transfer_f16_384.tflite; stored here under a name matching the int8 files.',
      },
    ],
    ...MAGENTA_LICENSE,
  },
  {
    name: 'stories260K',
    folder: 'stories260K',
    description:
      'Tiny Llama trained on TinyStories (dim 64, 5 layers, 8 heads / 4 KV heads, vocab 512, seq 512), llama2.c ' +
      'checkpoint, with its 512-token vocabulary.',
    files: [
      {
        path: 'stories260K.bin',
        url: `${TINYLLAMAS}/stories260K.bin`,
        sha256: null,
        sha256Note: TINYLLAMAS_NOTE,
        localSha256: 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696',
        localSize: 1056540,
        format: 'llama2c',
      },
      {
        path: 'tok512.bin',
        url: `${TINYLLAMAS}/tok512.bin`,
        sha256: null,
        sha256Note: TINYLLAMAS_NOTE,
        localSha256: '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312',
        localSize: 6227,
        format: 'llama2c-tokenizer',
      },
    ],
    license: 'MIT',
    licenseUrl: 'https://github.com/karpathy/llama2.c/blob/master/LICENSE',
    notes: 'karpathy/tinyllamas on Hugging Face (model card: license mit).',
  },
  {
    name: 'stories260K-hf',
    folder: 'stories260K-hf',
    description:
      'stories260K in Hugging Face Llama layout (config.json, model.safetensors F32 with tied embeddings, ' +
      'tokenizer.json, tokenizer_config.json with a plain-text chat template for tests).',
    files: [
      localOnly(
        'config.json',
        'eb7a44d0ee7018ccb7d91d97ba61f664eadf8d15140454e31e2a2f95a9e309f6',
        652,
        'json',
        STORIES_HF_NOTE,
      ),
      localOnly(
        'model.safetensors',
        '407a7c581bdd66972383ce9ad24857713fb98786d06ea564a2fe9b34ebe77dfd',
        1044992,
        'safetensors',
        STORIES_HF_NOTE,
      ),
      localOnly(
        'tokenizer.json',
        '834f73ada0950d4e2aa5bdabc954565df5ce6a4d33cfe71da44c902f7cadbe20',
        19573,
        'json',
        STORIES_HF_NOTE,
      ),
      localOnly(
        'tokenizer_config.json',
        '3e2fc1a27ead8671c2a965e5d6e82d15a491722011644eeb5d66876956715ac9',
        1329,
        'json',
        STORIES_HF_NOTE,
        'Its chat_template was added for tests; stories260K never saw chat data.',
      ),
      localOnly(
        'generation_config.json',
        '92f3a85a5e02f33b8010e7e26cded4625604921626dfe0a34273987b4f7f111a',
        75,
        'json',
        STORIES_HF_NOTE,
      ),
      localOnly(
        'special_tokens_map.json',
        '6fa06efa2785e450051989a6f8fb4416b10149ded485ddd3f127a40734f5cfd0',
        414,
        'json',
        STORIES_HF_NOTE,
      ),
      localOnly(
        'tokenizer.model',
        'fec6aa960a1fb3ebf71d26f9b0e486afcbd76c34cf0fbfb93e21126ca9f778d3',
        7522,
        'sentencepiece',
        STORIES_HF_NOTE,
      ),
    ],
    license: 'MIT',
    licenseUrl: 'https://github.com/karpathy/llama2.c/blob/master/LICENSE',
    notes: 'Same weights as stories260K; karpathy/tinyllamas on Hugging Face (model card: license mit).',
  },
  {
    name: 'clip-tokenizer',
    folder: 'clip-tokenizer',
    description:
      'CLIP BPE text tokenizer (49408 tokens) of openai/clip-vit-large-patch14: the tokenizer/ of Stable Diffusion v1.x.',
    files: [
      clipFile('vocab.json', 'e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349', 1059962, 'json'),
      clipFile('merges.txt', '9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a', 524619, 'text'),
      {
        ...clipFile(
          'tokenizer_config.json',
          'd9ce3db5b36020edd5af0c05a4d0fa1465c2b2bbc42de4df89a5682dfe06766d',
          274,
          'json',
        ),
        notes: CLIP_WRITTEN,
      },
      {
        ...clipFile(
          'special_tokens_map.json',
          '841c138373f4f9dd8a6b07a2e4d19b1e62b5364d7e09c41762bab5f7b851eb7f',
          133,
          'json',
        ),
        notes: CLIP_WRITTEN,
      },
    ],
    license: 'MIT',
    licenseUrl: 'https://github.com/openai/CLIP/blob/main/LICENSE',
  },
  {
    name: 'tiny-sd',
    folder: 'tiny-sd',
    description:
      'A tiny Stable Diffusion 1.x pipeline with random seeded weights in the exact diffusers layout (CLIP text 1.6 M, ' +
      'UNet 1.4 M, VAE 1.7 M parameters; f32 and fp16): for architecture and format tests, not for art.',
    files: [
      tinySd('model_index.json', '30bb915019b23d95fd313eae2867becce37e4997b4fd62baf683a9f039be86d9', 557, 'json'),
      tinySd(
        'scheduler/scheduler_config.json',
        '3e203cce668b715430b692062b2f48e4100c6218b93354bfb700e8acdd39b64b',
        315,
        'json',
      ),
      tinySd(
        'text_encoder/config.json',
        'ee85f225cb461293413235457c8e62005f54a03b37c3ccffdddce122be64854b',
        597,
        'json',
      ),
      tinySd(
        'text_encoder/model.safetensors',
        'a0e136fe028af2de77ebc1f643e77ae0b903607123abb86871246aff69a2671c',
        6480316,
        'safetensors',
      ),
      tinySd(
        'text_encoder/model.fp16.safetensors',
        '32cb862b2d1d0e6ec3a60756d3674579905974210e069ef1b748bdfef501dd93',
        3245258,
        'safetensors',
      ),
      tinySd(
        'tokenizer/vocab.json',
        'e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349',
        1059962,
        'json',
      ),
      tinySd(
        'tokenizer/merges.txt',
        '9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a',
        524619,
        'text',
      ),
      tinySd(
        'tokenizer/tokenizer_config.json',
        'd9ce3db5b36020edd5af0c05a4d0fa1465c2b2bbc42de4df89a5682dfe06766d',
        274,
        'json',
      ),
      tinySd(
        'tokenizer/special_tokens_map.json',
        '841c138373f4f9dd8a6b07a2e4d19b1e62b5364d7e09c41762bab5f7b851eb7f',
        133,
        'json',
      ),
      tinySd('unet/config.json', '88e2e27c2ab38214345577e47fbd23dabe961f49180dc2889e5b5efa824f9a67', 1648, 'json'),
      tinySd(
        'unet/diffusion_pytorch_model.safetensors',
        'd0c136aee4f621429a065cf2bdc71cc1ce98bcf1f8ee7e973b3f037ab62b60b8',
        5742160,
        'safetensors',
      ),
      tinySd(
        'unet/diffusion_pytorch_model.fp16.safetensors',
        '869f6644965a64ff28dc30655316f30557bd13072a22cf1157dd311b15d29b6c',
        2888024,
        'safetensors',
      ),
      tinySd('vae/config.json', '35146eee1f34cdf52d684b70c0389eaa2d75f3f38cded9d388809c28fc003f18', 760, 'json'),
      tinySd(
        'vae/diffusion_pytorch_model.safetensors',
        '8760912a0e36c3ea635cefd2a0df7a749ac268612d5e22e0effa5e37f7090066',
        6956820,
        'safetensors',
      ),
      tinySd(
        'vae/diffusion_pytorch_model.fp16.safetensors',
        '0f544cee3e448db389a5a66066c10a0fb6eb918dc453daf5a43e8963a6180070',
        3491414,
        'safetensors',
      ),
      tinySd('README.md', 'fb35e9a5ddf0c27baaa3ad59656c0717523fd9fc0e61abc56d2fc122ddbf1809', 3427, 'text'),
      tinySd('NOTICE', 'b4e0400babc2141e6ddd9a373c8b276c2b2fd951136fe049d662b1ef58ef4c17', 2973, 'text'),
      tinySd('LICENSE', '5d1526179a57fb039135694539392effe8762d1b1ea0584f02583ac69d245790', 1699, 'text'),
    ],
    license: 'CC0-1.0',
    licenseUrl: 'https://creativecommons.org/publicdomain/zero/1.0/',
    notes: 'Weights CC0 (generated); tokenizer/ is OpenAI CLIP (MIT), the same files as clip-tokenizer.',
  },
  {
    name: 'sd-1.5',
    folder: 'stable-diffusion-v1-5',
    description:
      'Stable Diffusion 1.5 (diffusers layout; fp16 UNet and VAE, f32 text encoder, ≈2.4 GB): the real model for ' +
      'style-transfer:transfer --method diffusion --model sd-1.5. Never needed by tests.',
    files: [
      ...sdConfigFiles(SD15_HF),
      sdFile(SD15_HF, 'text_encoder/model.safetensors', 'safetensors', {
        sha256: '7b3a12df205cb3c74dd4eae4354d93f606ae6b3bc29d5d06fd97921cb9ad8a81',
        size: 492265879,
        source: SD15_LFS('2532bc251faae32e4dab127ec8ae0c2c1ff1dde8'),
      }),
      sdFile(SD15_HF, 'unet/diffusion_pytorch_model.fp16.safetensors', 'safetensors', {
        sha256: 'c83908253f9a64d08c25fc90874c9c8aef9a329ce1ca5fb909d73b0c83d1ea21',
        size: 1719125304,
        source: SD15_LFS('1f638b0df39f31c4168b4c31b0e3b02d129ecdd6'),
      }),
      sdFile(SD15_HF, 'vae/diffusion_pytorch_model.fp16.safetensors', 'safetensors', {
        sha256: '4fbcf0ebe55a0984f5a5e00d8c4521d52359af7229bb4d81890039d2aa16dd7c',
        size: 167335342,
        source: SD15_LFS('31c7774f6381a0d0782d201b4f3a513254051fcc'),
      }),
    ],
    license: 'CreativeML-OpenRAIL-M',
    licenseUrl: 'https://huggingface.co/spaces/CompVis/stable-diffusion-license',
    notes: SD15_NOTE,
  },
  {
    name: 'sd-2.1-base',
    folder: 'stable-diffusion-2-1-base',
    description:
      'Stable Diffusion 2.1-base (512², epsilon prediction; diffusers layout, f32 weights ≈5.2 GB): --model sd-2.1-base. ' +
      'Never needed by tests.',
    files: [
      ...sdConfigFiles(SD21B_HF),
      {
        ...sdFile(SD21B_HF, 'text_encoder/model.safetensors', 'safetensors'),
        sha256Note: SD21B_UNKNOWN,
      },
      sdFile(SD21B_HF, 'unet/diffusion_pytorch_model.safetensors', 'safetensors', {
        sha256: '6dfae3e5f7d459b50f4b0850ead945972c75bb0e1897628933e169eb43974214',
        size: 3463726498,
        source:
          'Git LFS pointer (oid sha256) of the stabilityai/stable-diffusion-2-1-base file in the GitHub mirror ' +
          'jack-op11/stable-diffusion-2-1-base at commit e7cda18a4e677284539eaf38ecfd997a8e7c7491',
      }),
      {
        ...sdFile(SD21B_HF, 'vae/diffusion_pytorch_model.safetensors', 'safetensors'),
        sha256Note: SD21B_UNKNOWN,
      },
    ],
    license: 'LicenseRef-CreativeML-OpenRAIL++-M',
    licenseUrl: 'https://huggingface.co/stabilityai/stable-diffusion-2-1-base/blob/main/LICENSE.md',
  },
  {
    name: 'fast-neural-style-pth',
    folder: 'fast-neural-style-pth',
    description:
      'The candy and mosaic fast-style networks as PyTorch state dicts (pytorch/examples TransformerNet key names): ' +
      'candy in the zip format, mosaic in the legacy pickle format with InstanceNorm running statistics.',
    files: [
      localOnly(
        'candy.pth',
        '9fba5742d4c676fe974e901fe6f210c6c524b9e3fb794185d1557f47fddec0c5',
        6733291,
        'pth',
        PTH_NOTE,
      ),
      localOnly(
        'mosaic.pth',
        'cea6847195d0b215a80c232f15571360699e3cdb89af59cfd85389ecd2b51688',
        6741539,
        'pth',
        PTH_NOTE,
      ),
    ],
    license: 'BSD-3-Clause',
    licenseUrl: 'https://github.com/pytorch/examples/blob/main/LICENSE',
  },
  {
    name: 'mobilenet-v2-1.0-224-quant',
    folder: 'mobilenet',
    description: 'ImageNet MobileNet v2 1.0/224 classifier, uint8-quantized TFLite, with its 1001 labels.',
    files: [
      coral(
        'mobilenet_v2_1.0_224_quant.tflite',
        '7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776',
        3610798,
        'tflite',
      ),
      LABELS,
    ],
    ...CORAL_LICENSE,
  },
  {
    name: 'mobilenet-v1-0.25-128-quant',
    folder: 'mobilenet',
    description: 'ImageNet MobileNet v1 0.25/128 classifier, uint8-quantized TFLite, with its 1001 labels.',
    files: [
      coral(
        'mobilenet_v1_0.25_128_quant.tflite',
        'cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785',
        525598,
        'tflite',
      ),
      LABELS,
    ],
    ...CORAL_LICENSE,
  },
  {
    name: 'mobilenet-v1-1.0-224-quant-embedding',
    folder: 'mobilenet',
    description:
      'MobileNet v1 1.0/224 up to the 1024-d global average pool (uint8 TFLite): an image feature extractor, ' +
      'usable as a perceptual-loss network.',
    files: [
      coral(
        'mobilenet_v1_1.0_224_quant_embedding_extractor.tflite',
        'f409ef4f73fcbb9667841965623c5c8524aac33d41b9bf5f3667161fb4a76319',
        3251736,
        'tflite',
      ),
    ],
    ...CORAL_LICENSE,
  },
];

/** All known models, in display order. */
export function listModels(): readonly ModelEntry[] {
  return MODELS;
}

/** The entry called `name`, or `undefined`. Names match exactly (they are case-sensitive, like file names). */
export function findModel(name: string): ModelEntry | undefined {
  return MODELS.find((m) => m.name === name);
}

/**
 * The entry called `name`.
 * @throws UsageError with a suggestion and the list of known names when there is none.
 */
export function getModel(name: string): ModelEntry {
  const m = findModel(name);
  if (m) return m;
  const names = MODELS.map((e) => e.name);
  throw new UsageError(`unknown model "${name}"${didYouMean(name, names)}; known models: ${names.join(', ')}`);
}

/** The file `path` of model `name`. @throws UsageError naming the files the model has. */
export function getModelFile(name: string, path: string): ModelFile {
  const m = getModel(name);
  const f = m.files.find((x) => x.path === path);
  if (f) return f;
  const paths = m.files.map((x) => x.path);
  throw new UsageError(
    `model "${name}" has no file "${path}"${didYouMean(path, paths)}; its files: ${paths.join(', ')}`,
  );
}
