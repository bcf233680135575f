/**
 * What the compression commands share: the bundled calibration text, and writing a model folder (config.json,
 * model.safetensors with metadata format "mlx", the source's tokenizer files and licences) atomically.
 * @module
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { encodeSafetensors, fileDTypeOfCore, type SafetensorsTensor } from '../../core/io/safetensors.js';
import type { StoredWeight } from '../../models/llama/weights.js';
import { writeDirAtomic } from '../../node/atomic-dir.js';
import type { LoadedLanguageModel } from '../../node/models/language-model.js';
import { defaultDatasetsDir } from '../../node/paths.js';

export const EXIT_INTERRUPTED = 130;

/** Thrown from progress callbacks when Ctrl-C was seen; the command returns 130 and writes nothing. */
export class Interrupted extends Error {}

/** Files a model folder carries besides its weights and config: the tokenizer's, generation defaults, licences. */
const COPIED =
  /^(tokenizer.*|special_tokens_map\.json|added_tokens\.json|vocab\.json|merges\.txt|generation_config\.json|chat_template\.(jinja|json)|.*\.tiktoken|LICENSE.*|NOTICE.*|README\.md)$/;

function fileTensors(tensors: Map<string, StoredWeight>): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of tensors) {
    out[name] = { dtype: fileDTypeOfCore(t.dtype), shape: [...t.shape], data: t.data } as SafetensorsTensor;
  }
  return out;
}

/** Bytes of a folder's safetensors weights. */
export async function weightBytes(folder: string): Promise<number> {
  const names = (await readdir(folder)).filter((n) => /^model.*\.safetensors$/.test(n));
  let total = 0;
  for (const n of names) total += (await stat(join(folder, n))).size;
  return total;
}

export interface WrittenFolder {
  /** Size of model.safetensors. */
  readonly bytes: number;
  /** Files copied from the source folder. */
  readonly copied: readonly string[];
}

/**
 * Writes `output` as a whole (see writeDirAtomic): model.safetensors from `tensors`, config.json from
 * `config`, and the tokenizer files and licences of `source` copied. Ctrl-C before the rename writes nothing.
 */
export async function writeModelFolder(
  ctx: CommandContext,
  source: string,
  output: string,
  config: Record<string, unknown>,
  tensors: Map<string, StoredWeight>,
): Promise<WrittenFolder> {
  const copied = (await readdir(source)).filter((n) => COPIED.test(n));
  await writeDirAtomic(output, async (dir) => {
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(fileTensors(tensors), { format: 'mlx' }));
    await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 4)}\n`);
    for (const f of copied) {
      await copyFile(join(source, f), join(dir, f));
      // The source may be read-only (a shared models folder); the copy is the user's to edit.
      await chmod(join(dir, f), 0o644);
    }
    if (ctx.signal.aborted) throw new Interrupted();
  });
  return { bytes: (await stat(join(output, 'model.safetensors'))).size, copied };
}

export interface CalibrationArgs {
  readonly 'calibration-data'?: string;
  readonly 'calibration-samples': number;
  readonly 'calibration-length': number;
}

/** The bundled calibration text: TinyStories paragraphs from the end of the file (evaluation uses the first ones). */
function defaultCalibration(ctx: CommandContext): string {
  const dataDir = defaultDatasetsDir(ctx.env);
  const path = dataDir && join(dataDir, 'tinystories', 'valid.txt');
  if (!path || !existsSync(path)) {
    throw new UsageError(
      'no bundled calibration text (../shared/data/tinystories/valid.txt, or EAI_DATA_DIR); pass --calibration-data FILE',
    );
  }
  return path;
}

/** Calibration sequences: paragraphs (blank-line separated), tokenized with BOS, cut to the context length. */
export async function calibrationSequences(
  args: CalibrationArgs,
  ctx: CommandContext,
  lm: LoadedLanguageModel,
): Promise<number[][]> {
  const path = args['calibration-data'] ?? defaultCalibration(ctx);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path));
  } catch (e) {
    throw new UsageError(`--calibration-data ${path}: cannot read it as UTF-8 text: ${(e as Error).message}`);
  }
  const paragraphs = text.split('\n\n').filter((p) => p.trim().length > 0);
  const n = args['calibration-samples'];
  const chosen = args['calibration-data'] === undefined ? paragraphs.slice(-n) : paragraphs.slice(0, n);
  const limit = Math.min(lm.model.config.maxPositions, args['calibration-length']);
  const seqs = chosen.map((p) => lm.tokenizer.encode(p).slice(0, limit)).filter((ids) => ids.length > 1);
  if (seqs.length === 0) throw new UsageError(`--calibration-data ${path}: no paragraphs of two tokens or more`);
  return seqs;
}
