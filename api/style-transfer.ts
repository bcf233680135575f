/**
 * `efficientai-toolkit/style-transfer`: the style-transfer pipeline (fast per-style networks and
 * arbitrary style), its catalogue of styles and the image ↔ tensor helpers. Browser-safe: the
 * caller supplies the model files (Node: `efficientai-toolkit/style-transfer/node`).
 */
export * from '../models/image-tensor.js';
export * from '../models/styles.js';
export * from '../projects/style-transfer/pipeline.js';
