/**
 * `efficientai-toolkit/style-transfer`: the style-transfer workflow's three methods — fast
 * per-style networks and arbitrary style (`StyleTransferPipeline`, with its catalogue of styles
 * and the image ↔ tensor helpers) and Stable Diffusion img2img/txt2img (`loadStableDiffusion`,
 * `StableDiffusion`, the schedulers, LoRA files, the named diffusion styles). Browser-safe: the
 * caller supplies the model files (Node: `efficientai-toolkit/style-transfer/node`).
 */
export * from '../models/image-tensor.js';
export type { ModelFolder } from '../models/sd/folder.js';
export * from '../models/sd/load.js';
export type { LoraComponent, LoraFile, LoraReport } from '../models/sd/lora.js';
export * from '../models/sd/pipeline.js';
export * from '../models/sd/schedulers/index.js';
export * from '../models/styles.js';
export * from '../projects/style-transfer/diffusion-styles.js';
export * from '../projects/style-transfer/pipeline.js';
