/** Model bytes for the pipeline in Node: the registry finds them (EAI_MODELS_DIR, then the cache). */
import { readFile } from 'node:fs/promises';
import { resolveModelFile } from '../../node/models/cache.js';
import type { ModelSource } from './pipeline.js';

async function read(model: string, file: string): Promise<{ name: string; bytes: Uint8Array }> {
  const { path } = resolveModelFile(model, file);
  return { name: path, bytes: await readFile(path) };
}

export const registryModelSource: ModelSource = {
  load: (style) => read(style.model, style.file),
  loadFile: read,
};
