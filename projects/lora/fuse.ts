/**
 * `lora:fuse` (mlx-lm's fuse): the model with its adapter folded into plain weights (formats.md §2: LoRA
 * W' = W + scale·Bᵀ·Aᵀ, DoRA W'' = (m/‖W'‖_row)·W'), saved as a Hugging Face folder that lora:generate
 * loads: model.safetensors (F32, HF names) and the source folder's config, tokenizer and license files.
 * @module
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import type { SafetensorsTensor } from '../../core/io/safetensors.js';
import { fuseAdapters, llamaParameterTree } from '../../models/llama/adapters.js';
import { saveSafetensorsFile } from '../../node/io/safetensors-file.js';
import { loadLanguageModel } from '../../node/models/language-model.js';
import type { FuseArgs } from './commands.js';
import { loadAdapterFolder, toFileTensor } from './train/adapter-files.js';

/** Files of the source folder the fused folder must not copy: the old weights and their checksums. */
const NOT_COPIED = /(\.safetensors|\.safetensors\.index\.json|^SHA256SUMS|^pytorch_model.*\.bin)$/;

export async function runFuse(args: FuseArgs, ctx: CommandContext): Promise<number> {
  const lm = await loadLanguageModel(args.model, { cwd: ctx.cwd, env: ctx.env });
  try {
    if (lm.format !== 'hf') {
      throw new UsageError(
        `--model ${args.model}: lora:fuse writes a Hugging Face folder and needs one as the base (config.json, ` +
          'tokenizer.json); use the -hf version of the model (e.g. stories260K-hf)',
      );
    }
    const adapterPath = resolve(ctx.cwd, args['adapter-path']);
    await loadAdapterFolder(lm.model, adapterPath);
    const fused = fuseAdapters(lm.model);
    ctx.signal.throwIfAborted();
    const tensors: Record<string, SafetensorsTensor> = {};
    for (const [name, t] of Object.entries(llamaParameterTree(lm.model).all())) tensors[name] = await toFileTensor(t);
    const out = resolve(ctx.cwd, args['save-path']);
    if (out === lm.path) throw new UsageError(`--save-path ${out} is the model's own folder; choose another`);
    await mkdir(out, { recursive: true });
    const weights = join(out, 'model.safetensors');
    await saveSafetensorsFile(weights, tensors, { format: 'pt' });
    // config.json last: a folder is only a model once its weights are whole.
    for (const f of await readdir(lm.path, { withFileTypes: true })) {
      if (f.isFile() && !NOT_COPIED.test(f.name)) await copyFile(join(lm.path, f.name), join(out, f.name));
    }
    ctx.output(
      { model: lm.path, adapterPath, savePath: out, fusedLayers: fused.length },
      `fused ${fused.length} adapted layers into ${weights} (load it with lora:generate --model ${out})`,
    );
    return 0;
  } finally {
    lm.dispose();
  }
}
