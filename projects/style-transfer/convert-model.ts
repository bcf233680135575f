/**
 * What `style-transfer:convert` can convert, and how each source becomes a network with a forward pass to
 * trace: a PyTorch checkpoint (.pth/.pt/.ckpt, zip or legacy) or a safetensors file holding a fast-style
 * TransformerNet state dict, a fast-style ONNX file, a Magenta TFLite file, or a bundled model name (a named
 * style, or the Magenta arbitrary-style networks, converted together). The architecture is recognised from the
 * weights, never guessed: anything else is refused with what was found and what is supported.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { parseOnnx } from '../../core/io/onnx.js';
import { pthKind, readPth } from '../../core/io/pth.js';
import { parseTflite } from '../../core/io/tflite.js';
import * as T from '../../index.js';
import { TransformerNet } from '../../models/fast-style/transformer-net.js';
import { STYLE_IMAGE_SIZE, StylePredictor } from '../../models/magenta/style-predictor.js';
import { StyleTransformer } from '../../models/magenta/style-transformer.js';
import { ARBITRARY_STYLE_MODELS, type ArbitraryWeights, findStyle, NAMED_STYLES } from '../../models/styles.js';
import { openFileSource } from '../../node/io/file-source.js';
import { withSafetensorsFile } from '../../node/io/safetensors-file.js';
import { registryModelSource } from './node-models.js';
import { StyleTransferPipeline } from './pipeline.js';

/** One input of a network to export, with the example values it is traced and verified on. */
export interface ExampleInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  /** i32 for token ids; default f32. */
  readonly dtype?: 'f32' | 'i32';
  /** What the values mean, for the exported model's description. */
  readonly meaning: string;
}

export interface ExportableModel {
  /** e.g. `fast-style TransformerNet from candy.pth`. */
  readonly label: string;
  readonly architecture:
    | 'fast-style'
    | 'magenta'
    | 'magenta-predictor'
    | 'magenta-transformer'
    | 'sd-text-encoder'
    | 'sd-unet'
    | 'sd-vae-encoder'
    | 'sd-vae-decoder';
  readonly inputs: readonly ExampleInput[];
  readonly outputs: readonly { readonly name: string; readonly meaning: string }[];
  readonly license: string;
  forward(...inputs: T.Tensor[]): T.Tensor;
  dispose(): void;
}

export const MAGENTA_COMPONENTS = ['all', 'predictor', 'transformer'] as const;
export type MagentaComponent = (typeof MAGENTA_COMPONENTS)[number];

/** The Stable Diffusion networks a diffusers folder converts to, one file each (as Apple's converter does). */
export const SD_COMPONENTS = ['text-encoder', 'unet', 'vae-encoder', 'vae-decoder'] as const;

/** Image side the style networks are exported at without --size. */
export const DEFAULT_EXPORT_SIZE = 512;

export interface LoadOptions {
  /**
   * [height, width] of the image input the network is traced at (its exported input shape); default 512×512,
   * and for Stable Diffusion the UNet's sample size in pixels.
   */
  readonly size?: readonly [number, number];
  /** For Magenta: both networks (`all`, default), or one of them. */
  readonly component?: string;
}

/** A smooth, textured RGB pattern (not noise: style networks amplify noise) scaled to `scale`. */
export function examplePixels(height: number, width: number, scale: number, seed = 1): Float32Array {
  const rng = new T.Rng(seed);
  const out = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = 0.5 + 0.3 * Math.sin((x + 11 * c) / 9) * Math.cos(y / 13) + 0.08 * rng.normal();
        out[(c * height + y) * width + x] = scale * Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

function fastStyle(net: TransformerNet, source: string, size: readonly [number, number]): ExportableModel {
  const [h, w] = size;
  return {
    label: `fast-style TransformerNet from ${source}`,
    architecture: 'fast-style',
    inputs: [{ name: 'image', shape: [1, 3, h, w], data: examplePixels(h, w, 255), meaning: 'RGB, 0..255, NCHW' }],
    outputs: [{ name: 'stylized', meaning: 'RGB, 0..255 (unclamped), NCHW' }],
    license: 'BSD-3-Clause (pytorch/examples fast_neural_style) unless your weights say otherwise',
    forward: (x) => net.forward(x),
    dispose: () => net.dispose(),
  };
}

function magenta(
  predictor: StylePredictor | null,
  transformer: StyleTransformer | null,
  component: MagentaComponent,
  source: string,
  size: readonly [number, number],
  dispose: () => void,
): ExportableModel {
  const [h, w] = size;
  const content: ExampleInput = {
    name: 'content',
    shape: [1, 3, h, w],
    data: examplePixels(h, w, 1, 1),
    meaning: 'RGB, 0..1, NCHW',
  };
  const style: ExampleInput = {
    name: 'style',
    shape: [1, 3, STYLE_IMAGE_SIZE, STYLE_IMAGE_SIZE],
    data: examplePixels(STYLE_IMAGE_SIZE, STYLE_IMAGE_SIZE, 1, 2),
    meaning: `RGB, 0..1, NCHW: the style image's central square scaled to ${STYLE_IMAGE_SIZE}×${STYLE_IMAGE_SIZE}`,
  };
  const common = { license: 'Apache-2.0 (Magenta arbitrary image stylization v1-256)', dispose };
  if (component === 'predictor') {
    return {
      ...common,
      label: `Magenta style-prediction network from ${source}`,
      architecture: 'magenta-predictor',
      inputs: [style],
      outputs: [{ name: 'style_vector', meaning: '[1, 100] style vector' }],
      forward: (s) => (predictor as StylePredictor).forward(s),
    };
  }
  const vector: ExampleInput = {
    name: 'style_vector',
    shape: [1, 100],
    data: Float32Array.from({ length: 100 }, (_, i) => 0.5 * Math.sin(i * 0.7)),
    meaning: '[1, 100] style vector from the prediction network',
  };
  if (component === 'transformer') {
    return {
      ...common,
      label: `Magenta style-transfer network from ${source}`,
      architecture: 'magenta-transformer',
      inputs: [content, vector],
      outputs: [{ name: 'stylized', meaning: 'RGB, 0..1, NCHW' }],
      forward: (c, v) => (transformer as StyleTransformer).forward(c, v),
    };
  }
  return {
    ...common,
    label: `Magenta arbitrary style transfer (prediction + transfer networks) from ${source}`,
    architecture: 'magenta',
    inputs: [content, style],
    outputs: [{ name: 'stylized', meaning: 'RGB, 0..1, NCHW' }],
    forward: (c, s) => (transformer as StyleTransformer).forward(c, (predictor as StylePredictor).forward(s)),
  };
}

function checkComponent(component: string | undefined, allowed: readonly string[], what: string): string {
  const c = component ?? allowed[0];
  if (!allowed.includes(c)) {
    throw new UsageError(`--component ${c}: ${what} has the components ${allowed.join(', ')}`);
  }
  return c;
}

interface SizedOptions extends LoadOptions {
  readonly size: readonly [number, number];
}

async function fromStateDict(
  path: string,
  tensors: Map<string, { dtype: T.DType; shape: number[]; data: T.TypedArray }>,
  options: SizedOptions,
): Promise<ExportableModel> {
  if (tensors.has('conv1.conv2d.weight') && tensors.has('deconv3.conv2d.weight')) {
    checkComponent(options.component, ['all'], 'a fast-style network');
    return fastStyle(TransformerNet.fromStateDict(path, tensors), basename(path), options.size);
  }
  const keys = [...tensors.keys()].slice(0, 6).join(', ');
  throw new UsageError(
    `${path}: a state dict with the keys ${keys}${tensors.size > 6 ? ', …' : ''} is not an architecture the converter knows ` +
      '(a pytorch/examples fast-style TransformerNet: conv1.conv2d.weight … deconv3.conv2d.bias); Magenta converts from its ' +
      'TFLite files or the bundled name magenta-arbitrary',
  );
}

async function magentaFromRegistry(weights: ArbitraryWeights, options: SizedOptions): Promise<ExportableModel> {
  const component = checkComponent(
    options.component,
    MAGENTA_COMPONENTS,
    'Magenta arbitrary style',
  ) as MagentaComponent;
  const pipeline = new StyleTransferPipeline(registryModelSource);
  const nets = await pipeline.arbitraryNets(weights);
  const spec = ARBITRARY_STYLE_MODELS[weights];
  return magenta(nets.predictor, nets.transformer, component, `the bundled ${spec.model}`, options.size, () => {
    void pipeline.dispose();
  });
}

/** A deterministic example input of values in [-scale, scale] (a product of sines: no RNG state to carry). */
function wave(n: number, seed: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 0.618 + seed) * Math.cos(i * 0.0137 * seed));
}

/** Components of the diffusers pipeline at `spec` (a folder or a registry entry), with example inputs. */
async function diffusersComponent(spec: string, cwd: string, options: LoadOptions): Promise<ExportableModel> {
  const component = checkComponent(options.component, SD_COMPONENTS, 'a Stable Diffusion pipeline');
  const { openModel } = await import('./diffusion.js');
  const { loadStableDiffusion } = await import('../../models/sd/load.js');
  const folder = await openModel(spec, cwd);
  const sd = await loadStableDiffusion(folder);
  const dispose = () => {
    sd.textEncoder.dispose();
    sd.unet.dispose();
    sd.vae.dispose();
  };
  try {
    const factor = sd.vae.factor;
    const [H, W] = options.size ?? [sd.unet.config.sampleSize * factor, sd.unet.config.sampleSize * factor];
    const m = Math.max(factor * sd.unet.latentMultiple, factor);
    if (H % m !== 0 || W % m !== 0) {
      throw new UsageError(`--size ${H}x${W}: Stable Diffusion images need sides that are multiples of ${m} here`);
    }
    const [h, w] = [H / factor, W / factor];
    const latent = sd.vae.config.latentChannels;
    const text = sd.textEncoder.config;
    const label = (what: string) => `Stable Diffusion ${what} from ${folder.name}`;
    const common = { license: 'as the pipeline folder states (its LICENSE or model card)', dispose };
    switch (component) {
      case 'text-encoder': {
        const ids = sd.tokenizer.encodePadded('a watercolor painting of a lighthouse');
        return {
          ...common,
          label: label('text encoder (CLIPTextModel)'),
          architecture: 'sd-text-encoder',
          inputs: [
            {
              name: 'input_ids',
              shape: [1, ids.length],
              data: Int32Array.from(ids),
              dtype: 'i32',
              meaning: `token ids [1, ${ids.length}] (BOS, BPE ids, EOS, padding)`,
            },
          ],
          outputs: [{ name: 'last_hidden_state', meaning: `[1, ${ids.length}, ${text.hiddenSize}] text embeddings` }],
          forward: (x) => sd.textEncoder.forward(x),
        };
      }
      case 'unet': {
        const L = text.maxPositions;
        const D = sd.unet.config.crossAttentionDim;
        return {
          ...common,
          label: label('UNet (UNet2DConditionModel)'),
          architecture: 'sd-unet',
          inputs: [
            {
              name: 'sample',
              shape: [2, latent, h, w],
              data: wave(2 * latent * h * w, 1),
              meaning: `latents [2, ${latent}, ${h}, ${w}] (batch 2: unconditional and conditional)`,
            },
            { name: 'timestep', shape: [2], data: Float32Array.of(781, 781), meaning: 'timesteps [2], 0..999' },
            {
              name: 'encoder_hidden_states',
              shape: [2, L, D],
              data: wave(2 * L * D, 2),
              meaning: `text embeddings [2, ${L}, ${D}]`,
            },
          ],
          outputs: [{ name: 'noise_pred', meaning: `the predicted noise (or v) [2, ${latent}, ${h}, ${w}]` }],
          forward: (x, t, c) => sd.unet.forward(x, t, c),
        };
      }
      case 'vae-encoder':
        return {
          ...common,
          label: label('VAE encoder (AutoencoderKL)'),
          architecture: 'sd-vae-encoder',
          inputs: [
            { name: 'image', shape: [1, 3, H, W], data: wave(3 * H * W, 3, 0.9), meaning: 'RGB in [-1, 1], NCHW' },
          ],
          outputs: [{ name: 'latent', meaning: `scaling_factor·(mean − shift) [1, ${latent}, ${h}, ${w}]` }],
          forward: (x) => T.tidy(() => sd.vae.latentMean(sd.vae.moments(x))),
        };
      default:
        return {
          ...common,
          label: label('VAE decoder (AutoencoderKL)'),
          architecture: 'sd-vae-decoder',
          inputs: [
            {
              name: 'latent',
              shape: [1, latent, h, w],
              data: wave(latent * h * w, 4),
              meaning: `scaled latents [1, ${latent}, ${h}, ${w}]`,
            },
          ],
          outputs: [{ name: 'image', meaning: 'RGB in about [-1, 1], NCHW' }],
          forward: (z) => T.tidy(() => sd.vae.decodeRaw(sd.vae.unscale(z))),
        };
    }
  } catch (err) {
    dispose();
    throw err;
  }
}

/** The components a source converts to one file each, or null when it is one network. */
export async function componentsOf(modelPath: string): Promise<readonly string[] | null> {
  return (await isDiffusers(modelPath)) ? SD_COMPONENTS : null;
}

async function isDiffusers(modelPath: string): Promise<boolean> {
  try {
    if ((await stat(join(modelPath, 'model_index.json'))).isFile()) return true;
  } catch {
    // not a folder with an index
  }
  const { findModel } = await import('../../node/models/registry.js');
  return findModel(basename(modelPath))?.files.some((f) => f.path === 'model_index.json') ?? false;
}

/** `--model-path` as given: a file or folder relative to `cwd` when one exists there, else a bundled model name. */
export async function resolveModelArg(arg: string, cwd: string): Promise<string> {
  const local = resolve(cwd, arg);
  try {
    await stat(local);
    return local;
  } catch {
    return arg;
  }
}

/** Resolve `--model-path` (a file, or a bundled model name) to a network ready to trace. */
export async function loadExportable(modelPath: string, given: LoadOptions): Promise<ExportableModel> {
  if (await isDiffusers(modelPath)) return diffusersComponent(modelPath, process.cwd(), given);
  const options: SizedOptions = { ...given, size: given.size ?? [DEFAULT_EXPORT_SIZE, DEFAULT_EXPORT_SIZE] };
  let info: Awaited<ReturnType<typeof stat>> | null = null;
  try {
    info = await stat(modelPath);
  } catch {
    info = null;
  }
  if (!info) {
    const name = basename(modelPath);
    const style = findStyle(name);
    if (style) {
      checkComponent(options.component, ['all'], 'a fast-style network');
      const pipeline = new StyleTransferPipeline(registryModelSource);
      const net = await pipeline.net(style.name);
      const model = fastStyle(net, `the bundled style ${style.name}`, options.size);
      return { ...model, license: style.license, dispose: () => void pipeline.dispose() };
    }
    const magentaWeights = (Object.keys(ARBITRARY_STYLE_MODELS) as ArbitraryWeights[]).find(
      (w) => ARBITRARY_STYLE_MODELS[w].model === name,
    );
    if (magentaWeights) return magentaFromRegistry(magentaWeights, options);
    throw new UsageError(
      `${modelPath}: no such file or folder, and not a bundled model name (named styles: ${NAMED_STYLES.map((s) => s.name).join(', ')}; ` +
        `arbitrary style: ${Object.values(ARBITRARY_STYLE_MODELS)
          .map((m) => m.model)
          .join(', ')}; Stable Diffusion: a diffusers folder or tiny-sd, sd-1.5, sd-2.1-base)`,
    );
  }
  if (info.isDirectory()) {
    throw new UsageError(`${modelPath}: a folder without model_index.json; give a model file or a diffusers folder`);
  }
  const ext = extname(modelPath).toLowerCase();
  if (ext === '.onnx') {
    checkComponent(options.component, ['all'], 'a fast-style network');
    const net = TransformerNet.fromOnnx(parseOnnx(modelPath, await readFile(modelPath)));
    return fastStyle(net, basename(modelPath), options.size);
  }
  if (ext === '.safetensors') {
    const tensors = await withSafetensorsFile(modelPath, async (reader) => {
      const out = new Map<string, { dtype: T.DType; shape: number[]; data: T.TypedArray }>();
      for (const name of reader.names) out.set(name, await reader.readAsCore(name));
      return out;
    });
    return fromStateDict(modelPath, tensors, options);
  }
  if (ext === '.tflite') {
    const component = checkComponent(options.component, ['all'], 'a Magenta TFLite file (one network per file)');
    void component;
    const tflite = parseTflite(modelPath, await readFile(modelPath));
    let transformerError: unknown;
    try {
      const transformer = StyleTransformer.fromTflite(tflite);
      return magenta(null, transformer, 'transformer', basename(modelPath), options.size, () => transformer.dispose());
    } catch (err) {
      transformerError = err;
    }
    try {
      const predictor = StylePredictor.fromTflite(tflite);
      return magenta(predictor, null, 'predictor', basename(modelPath), options.size, () => predictor.dispose());
    } catch (err) {
      throw new UsageError(
        `${modelPath}: neither Magenta network: as a transfer network: ${(transformerError as Error).message}; ` +
          `as a prediction network: ${(err as Error).message}`,
      );
    }
  }
  const source = await openFileSource(modelPath);
  try {
    const head = await source.read(0, Math.min(4, source.size));
    if (pthKind(head)) {
      const pth = await readPth(source);
      return await fromStateDict(modelPath, await pth.readStateDict(), options);
    }
  } finally {
    await source.close?.();
  }
  throw new UsageError(
    `${modelPath}: not a model file the converter reads (.pth/.pt/.ckpt PyTorch checkpoints, .safetensors, .onnx, .tflite, ` +
      'a diffusers folder, or a bundled model name)',
  );
}
