/**
 * Shared by the LoRA adapter tests: a stories260K-hf adapter folder whose B (and DoRA m) are random, so the
 * update is far from zero, and the logits of a fixed prompt to compare models by.
 */
import * as T from '../../../index.js';
import { applyAdapters, type FineTuneType, trainableTree } from '../../../models/llama/adapters.js';
import type { LlamaModel } from '../../../models/llama/model.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { saveAdapterFolder } from '../../../projects/lora/train/adapter-files.js';
import { modelsDir } from '../../helpers/model-files.js';

export const env = { EAI_MODELS_DIR: modelsDir };
const TOKENS = [1, 403, 261, 263, 1420 % 512, 31, 7, 99];

export async function logits(model: LlamaModel): Promise<Float32Array> {
  const ids = T.tensor(TOKENS, [1, TOKENS.length], 'i32');
  const out = model.forward(ids);
  const data = Float32Array.from((await out.data()) as Float32Array);
  T.dispose([ids, out]);
  return data;
}

export const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** An adapter folder (top 3 blocks, rank 4, scale 20) whose B (and DoRA m) are random. */
export async function writeAdapter(type: FineTuneType, path: string): Promise<void> {
  const lm = await loadLanguageModel('stories260K-hf', { env });
  const config = { fineTuneType: type, numLayers: 3, loraParameters: { rank: 4, scale: 20, dropout: 0 } };
  applyAdapters(lm.model, config, new T.Rng(1));
  const tree = trainableTree(lm.model, config);
  const rng = new T.Rng(2);
  for (const name of tree.trainableNames()) {
    const t = tree.get(name);
    if (name.endsWith('.lora_b')) tree.set(name, T.randomNormal(t.shape, 0, 0.02, { rng }));
    if (name.endsWith('.m')) tree.set(name, T.mul(t, T.randomUniform(t.shape, 0.5, 1.5, { rng })));
    if (tree.get(name) !== t) t.dispose();
  }
  await saveAdapterFolder(path, tree, {
    fine_tune_type: type,
    num_layers: 3,
    lora_parameters: { rank: 4, scale: 20, dropout: 0 },
  });
  lm.dispose();
}
