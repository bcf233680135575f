/** Model bytes for the pipeline in Node: the registry finds them (EAI_MODELS_DIR, then the cache). */
import { readFile } from 'node:fs/promises';
import { resolveModelFile } from '../../node/models/cache.js';
import type { ModelSource } from './pipeline.js';

export const registryModelSource: ModelSource = {
  async load(style) {
    const { path } = resolveModelFile(style.model, style.file);
    return { name: path, bytes: await readFile(path) };
  },
};
