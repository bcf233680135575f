/**
 * `lora:export`: an adapter folder converted between mlx-lm's layout and PEFT's (formats.md §2), in either
 * direction; the source layout is read from the folder's weights file.
 * @module
 */
import { resolve } from 'node:path';
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import type { ExportArgs } from './commands.js';
import { adapterLayoutOf, mlxToPeft, peftToMlx } from './peft.js';

export async function runExport(args: ExportArgs, ctx: CommandContext): Promise<number> {
  const src = resolve(ctx.cwd, args['adapter-path']);
  const out = resolve(ctx.cwd, args.output);
  if (out === src) throw new UsageError(`--output ${out} is the source folder; choose another`);
  const layout = adapterLayoutOf(src);
  const want = args.format === 'peft' ? 'mlx' : 'peft';
  if (layout !== want) {
    throw new UsageError(
      layout === null
        ? `--adapter-path ${src}: holds neither adapters.safetensors (mlx-lm) nor adapter_model.safetensors (PEFT)`
        : `--adapter-path ${src}: is already a${layout === 'mlx' ? 'n mlx-lm' : ' PEFT'} adapter; --format ${args.format} converts from ${want}`,
    );
  }
  ctx.signal.throwIfAborted();
  const r = args.format === 'peft' ? await mlxToPeft(src, out) : await peftToMlx(src, out);
  ctx.output(
    { adapterPath: src, format: args.format, output: out, ...r },
    `wrote ${r.modules} adapted modules (rank ${r.rank}, scale ${r.scale}) as ${args.format === 'peft' ? 'PEFT' : 'mlx-lm'} to ${out}` +
      (r.foldedIntoB ? ` (scale·r not an integer: ×${r.foldedIntoB} folded into lora_B)` : ''),
  );
  return 0;
}
