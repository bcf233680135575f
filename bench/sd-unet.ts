/**
 * `bench:sd`'s model pieces: Stable Diffusion 1.5's UNet (its diffusers config.json, 860 M parameters) with
 * seeded random weights generated here — real weights are 2 GB and unobtainable on these machines, and the
 * time of a step does not depend on the values — plus one step's inputs at SD 1.5's real shapes (latents
 * [2, 4, 64, 64]: a 512² image with classifier-free guidance; text [2, 77, 768]; timestep 500). The weights and
 * inputs go to a folder once (safetensors + raw f32) so the PyTorch peer runs over exactly the same numbers.
 * @module
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../core/random.js';
import * as T from '../index.js';
import { parseUNetConfig, type UNetConfig } from '../models/sd/config.js';
import { UNet } from '../models/sd/unet.js';
import { Weights } from '../models/sd/weights.js';

/** runwayml/stable-diffusion-v1-5 unet/config.json (the keys diffusers reads; defaults left out). */
export const SD15_UNET_CONFIG = {
  _class_name: 'UNet2DConditionModel',
  act_fn: 'silu',
  attention_head_dim: 8,
  block_out_channels: [320, 640, 1280, 1280],
  center_input_sample: false,
  cross_attention_dim: 768,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 32,
  out_channels: 4,
  sample_size: 64,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  use_linear_projection: false,
} as const;

/** One step at SD 1.5's real shapes: batch 2 (guidance), 64×64 latents (a 512² image), 77 tokens. */
export const SD15_STEP = { batch: 2, latent: 64, tokens: 77, timestep: 500 } as const;

export interface StepShapes {
  readonly batch: number;
  readonly latent: number;
  readonly tokens: number;
  readonly timestep: number;
}

/**
 * Weights made on request: each tensor the model asks for is drawn when first asked for, from a seed derived
 * from its name, so every process (and every backend) gets the same values without a file. Scales keep the
 * activations finite through 16 resnets: fan-in-scaled normals for matrices, ones/zeros-ish for norms.
 * SD 1.5's attention projections to_q/to_k/to_v have no bias (diffusers' Attention(bias=False)).
 */
export class GeneratedWeights extends Weights {
  /** What was generated, in the order the model asked: the file the peer reads. */
  readonly generated = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  readonly #tensors = new Map<string, T.Tensor>();

  constructor(readonly seed: number) {
    super(`generated SD 1.5 UNet weights (seed ${seed})`, new Map());
  }

  override get names(): string[] {
    return [...this.generated.keys()];
  }

  override has(name: string): boolean {
    return !/\.to_[qkv]\.bias$/.test(name);
  }

  override get(name: string, shape: readonly number[]): T.Tensor {
    let t = this.#tensors.get(name);
    if (!t) {
      const data = generateTensor(name, shape, this.seed);
      this.generated.set(name, { shape, data });
      t = T.tensor(data, [...shape]);
      this.#tensors.set(name, t);
    }
    return t;
  }

  override maybe(name: string, shape: readonly number[]): T.Tensor | undefined {
    return this.has(name) ? this.get(name, shape) : undefined;
  }

  override shapeOf(name: string): readonly number[] {
    const g = this.generated.get(name);
    if (!g) throw new RangeError(`${this.file}: "${name}" was not generated`);
    return g.shape;
  }

  override checkAllRead(): void {}

  override dispose(): void {
    for (const t of this.#tensors.values()) t.dispose();
    this.#tensors.clear();
  }
}

/** FNV-1a of the name mixed with the seed: each tensor its own stream. */
function nameSeed(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function generateTensor(name: string, shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(nameSeed(name, seed));
  const out = new Float32Array(n);
  const isNorm = /norm/.test(name);
  if (isNorm && name.endsWith('.weight')) {
    for (let i = 0; i < n; i++) out[i] = 1 + 0.1 * (rng.uniform() * 2 - 1);
    return out;
  }
  // Uniform in ±√(3/fan_in) (unit variance per output); biases small.
  const fanIn = shape.length > 1 ? n / shape[0] : 1;
  const a = name.endsWith('.bias') ? 0.02 : Math.sqrt(3 / fanIn);
  for (let i = 0; i < n; i++) out[i] = a * (rng.uniform() * 2 - 1);
  return out;
}

export interface Sd15Unet {
  readonly unet: UNet;
  readonly weights: GeneratedWeights;
  readonly config: UNetConfig;
  readonly parameters: number;
}

/** Build the UNet (for any config in diffusers' form) with generated weights on the current backend. */
export function generatedUnet(seed: number, json: object = SD15_UNET_CONFIG): Sd15Unet {
  const config = parseUNetConfig(json, 'bench:sd UNet config');
  const weights = new GeneratedWeights(seed);
  const unet = new UNet(weights, config);
  let parameters = 0;
  for (const g of weights.generated.values()) parameters += g.data.length;
  return { unet, weights, config, parameters };
}

/** The step's inputs: latents [B, 4, h, h] ~ U(−1, 1) scaled as noise, text [B, L, D]. */
export function stepInputs(
  config: UNetConfig,
  s: StepShapes,
  seed: number,
): { sample: Float32Array; context: Float32Array; sampleShape: number[]; contextShape: number[] } {
  const sampleShape = [s.batch, config.inChannels, s.latent, s.latent];
  const contextShape = [s.batch, s.tokens, config.crossAttentionDim];
  const draw = (shape: number[], k: number) => {
    const rng = new Rng(seed * 7919 + k);
    return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 1.7 * (rng.uniform() * 2 - 1));
  };
  return { sample: draw(sampleShape, 1), context: draw(contextShape, 2), sampleShape, contextShape };
}

/** Write the generated weights as safetensors (F32), streaming one tensor at a time. */
export async function writeGeneratedSafetensors(path: string, weights: GeneratedWeights): Promise<void> {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, g] of weights.generated) {
    header[name] = { dtype: 'F32', shape: g.shape, data_offsets: [offset, offset + 4 * g.data.length] };
    offset += 4 * g.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const file = await open(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await file.write(len);
    await file.write(json);
    for (const g of weights.generated.values()) {
      await file.write(new Uint8Array(g.data.buffer, g.data.byteOffset, g.data.byteLength));
    }
  } finally {
    await file.close();
  }
}

/** The peer's files in `dir`: weights, inputs, the config and the shapes. */
export const PEER_FILES = {
  weights: 'unet.safetensors',
  sample: 'sample.f32',
  context: 'context.f32',
  config: 'config.json',
  shapes: 'shapes.json',
} as const;

export async function writeFloats(path: string, data: Float32Array): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } finally {
    await file.close();
  }
}

export const peerPath = (dir: string, f: keyof typeof PEER_FILES): string => join(dir, PEER_FILES[f]);
