/**
 * The training step on stories260K-hf: the same seeded run gives the same losses on js and native (within
 * f32 tolerance), gradient checkpointing changes nothing but memory, and only the adapter tensors change.
 */
import '../../../backends/node.js';
import { describe, expect, it } from 'vitest';
import { Adam } from '../../../core/optim/optimizers.js';
import * as T from '../../../index.js';
import { applyAdapters, trainableTree } from '../../../models/llama/adapters.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { BatchStream } from '../../../projects/lora/data/batches.js';
import { loadSplits } from '../../../projects/lora/data/load.js';
import { Trainer } from '../../../projects/lora/train/trainer.js';
import { modelsDir, repoRoot } from '../../helpers/model-files.js';

const SAMPLE = `${repoRoot}/projects/lora/data/sample`;
const hasNative = (await T.availableBackendNames()).includes('native');

async function losses(backend: T.BackendName, checkpointBlocks: boolean): Promise<number[]> {
  await T.setBackend(backend);
  const lm = await loadLanguageModel('stories260K-hf', { env: { EAI_MODELS_DIR: modelsDir } });
  try {
    const config = { fineTuneType: 'lora' as const, numLayers: 2, loraParameters: { rank: 4, scale: 20, dropout: 0 } };
    applyAdapters(lm.model, config, new T.Rng(3));
    const tree = trainableTree(lm.model, config);
    const frozen = await tree.get('model.layers.4.self_attn.q_proj.weight').data();
    const { train } = await loadSplits(SAMPLE, ['train'], lm.tokenizer, null, { maxSeqLength: 33 });
    const stream = new BatchStream(train!, 4, 33, 0);
    const trainer = new Trainer(lm.model, tree, new Adam(1e-3), { checkpointBlocks });
    const out: number[] = [];
    for (let i = 0; i < 4; i++) out.push((await trainer.step(stream.next())).loss);
    expect(Array.from(await tree.get('model.layers.4.self_attn.q_proj.weight').data())).toEqual(Array.from(frozen));
    trainer.dispose();
    return out;
  } finally {
    lm.dispose();
    await T.setBackend('js');
  }
}

describe('Trainer', () => {
  it('the loss falls; gradient checkpointing gives the same losses', async () => {
    const plain = await losses('js', false);
    expect(plain[3]).toBeLessThan(plain[0]);
    const checkpointed = await losses('js', true);
    for (const [i, l] of checkpointed.entries()) expect(l).toBeCloseTo(plain[i], 5);
  });

  it.skipIf(!hasNative)('native gives the losses of js', async () => {
    const [js, native] = [await losses('js', false), await losses('native', false)];
    for (const [i, l] of native.entries()) expect(l).toBeCloseTo(js[i], 3);
  });
});
