/**
 * `efficientai-toolkit/style-transfer/node`: what the style-transfer pipeline needs in Node —
 * model files from the registry (EAI_MODELS_DIR or the download cache) and PNG/JPEG files.
 */
export { readImage, writeImage } from '../node/image/codec.js';
export { registryModelSource } from '../projects/style-transfer/node-models.js';
