/**
 * `efficientai-toolkit/style-transfer/node`: what the style-transfer workflow needs in Node —
 * model files from the registry (EAI_MODELS_DIR or the download cache), PNG/JPEG files, a
 * Stable Diffusion folder on disk and safetensors files (LoRA weights).
 */
export { readImage, writeImage } from '../node/image/codec.js';
export { diskFolder } from '../node/io/model-folder.js';
export { loadSafetensorsFile } from '../node/io/safetensors-file.js';
export { registryModelSource } from '../projects/style-transfer/node-models.js';
