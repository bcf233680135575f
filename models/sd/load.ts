/**
 * Loading a diffusers Stable Diffusion folder: model_index.json, tokenizer/, text_encoder/, unet/, vae/ and
 * scheduler/, each component's config checked against the others (the text width the UNet cross-attends to,
 * the latent channels) before any weight is read. LoRAs are merged into the weights before the networks are
 * built (lora.ts).
 * @module
 */
import { UsageError } from '../../core/errors.js';
import { ClipTokenizer } from '../../core/text/clip-tokenizer.js';
import { ClipTextEncoder } from './clip-text.js';
import {
  parseTextEncoderConfig,
  parseUNetConfig,
  parseVaeConfig,
  type TextEncoderConfig,
  type UNetConfig,
  type VaeConfig,
} from './config.js';
import { type ModelFolder, openWeights, readJson, readText } from './folder.js';
import { applyLoras, type LoraFile } from './lora.js';
import { parseSchedulerConfig, type SchedulerConfig } from './schedulers/index.js';
import { UNet } from './unet.js';
import { renameVaeKey, Vae } from './vae.js';
import { loadWeights, type Weights } from './weights.js';

export interface StableDiffusionModel {
  readonly name: string;
  readonly tokenizer: ClipTokenizer;
  readonly textEncoder: ClipTextEncoder;
  readonly unet: UNet;
  readonly vae: Vae;
  readonly schedulerConfig: SchedulerConfig;
}

export interface LoadOptions {
  /** Read `*.fp16.safetensors` when both exist (half the bytes; widened to f32 either way). Default false. */
  readonly preferFp16?: boolean;
  /** Style LoRAs merged into the UNet / text encoder weights, in order. */
  readonly loras?: readonly LoraFile[];
}

export interface StableDiffusionConfigs {
  readonly textEncoder: TextEncoderConfig;
  readonly unet: UNetConfig;
  readonly vae: VaeConfig;
  readonly scheduler: SchedulerConfig;
}

/** Every config of the folder, parsed and checked against each other (no weights read). */
export async function readConfigs(folder: ModelFolder): Promise<StableDiffusionConfigs> {
  const index = (await readJson(folder, 'model_index.json', 'the pipeline index')) as Record<string, unknown>;
  for (const part of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler']) {
    if (!Array.isArray(index[part]) || index[part][0] === null) {
      throw new UsageError(
        `${folder.name}/model_index.json: no "${part}" component; this is not a Stable Diffusion pipeline`,
      );
    }
  }
  const at = (p: string) => `${folder.name}/${p}`;
  const textEncoder = parseTextEncoderConfig(
    await readJson(folder, 'text_encoder/config.json', 'text encoder config'),
    at('text_encoder/config.json'),
  );
  const unet = parseUNetConfig(await readJson(folder, 'unet/config.json', 'UNet config'), at('unet/config.json'));
  const vae = parseVaeConfig(await readJson(folder, 'vae/config.json', 'VAE config'), at('vae/config.json'));
  const scheduler = parseSchedulerConfig(
    await readJson(folder, 'scheduler/scheduler_config.json', 'scheduler config'),
    at('scheduler/scheduler_config.json'),
  );
  if (unet.crossAttentionDim !== textEncoder.hiddenSize) {
    throw new UsageError(
      `${folder.name}: the UNet cross-attends to ${unet.crossAttentionDim}-wide text but the text encoder is ` +
        `${textEncoder.hiddenSize} wide; the components come from different models`,
    );
  }
  if (unet.inChannels !== vae.latentChannels || unet.outChannels !== vae.latentChannels) {
    throw new UsageError(
      `${folder.name}: the UNet takes ${unet.inChannels} channels but the VAE makes ${vae.latentChannels}-channel latents ` +
        '(inpainting and depth UNets are not supported)',
    );
  }
  return { textEncoder, unet, vae, scheduler };
}

async function loadComponent(
  folder: ModelFolder,
  dir: string,
  base: string,
  options: LoadOptions,
  rename?: (name: string) => string,
): Promise<Weights> {
  const reader = await openWeights(folder, dir, base, options.preferFp16 ?? false);
  try {
    // position_ids is a buffer SD 1.5's text encoder file carries; the positions are always 0..L−1.
    return await loadWeights(reader, { skip: (n) => n.endsWith('.position_ids'), rename });
  } finally {
    await reader.close();
  }
}

export async function loadStableDiffusion(
  folder: ModelFolder,
  options: LoadOptions = {},
): Promise<StableDiffusionModel> {
  const configs = await readConfigs(folder);
  const text = async (p: string) => readText(folder, `tokenizer/${p}`);
  const vocab = await text('vocab.json');
  const merges = await text('merges.txt');
  if (vocab === null || merges === null) {
    throw new UsageError(`${folder.name}/tokenizer: needs vocab.json and merges.txt (a CLIPTokenizer folder)`);
  }
  const tokenizer = new ClipTokenizer({
    vocab,
    merges,
    specialTokensMap: (await text('special_tokens_map.json')) ?? undefined,
    tokenizerConfig: (await text('tokenizer_config.json')) ?? undefined,
    name: `${folder.name}/tokenizer`,
  });
  const loaded: Weights[] = [];
  try {
    const te = await loadComponent(folder, 'text_encoder', 'model', options);
    loaded.push(te);
    const un = await loadComponent(folder, 'unet', 'diffusion_pytorch_model', options);
    loaded.push(un);
    const va = await loadComponent(folder, 'vae', 'diffusion_pytorch_model', options, renameVaeKey);
    loaded.push(va);
    if (options.loras?.length) await applyLoras(options.loras, { unet: un, textEncoder: te });
    return {
      name: folder.name,
      tokenizer,
      textEncoder: new ClipTextEncoder(te, configs.textEncoder),
      unet: new UNet(un, configs.unet),
      vae: new Vae(va, configs.vae),
      schedulerConfig: configs.scheduler,
    };
  } catch (e) {
    for (const w of loaded) w.dispose();
    throw e;
  }
}
