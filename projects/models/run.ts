/** The `models:*` commands' work: loaded by commands.ts only when one of them runs. */
import type { CommandContext } from '../../cli/command.js';
import { UsageError } from '../../core/errors.js';
import { ModelNotFoundError, resolveModelFile, verifyModelFile } from '../../node/models/cache.js';
import { downloadModel } from '../../node/models/download.js';
import { getModel, listModels } from '../../node/models/registry.js';

function where(name: string, path: string): { found: string | null; source: string } {
  try {
    const r = resolveModelFile(name, path);
    return { found: r.path, source: r.source };
  } catch (err) {
    if (err instanceof ModelNotFoundError) return { found: null, source: 'missing' };
    throw err;
  }
}

export async function runList(ctx: CommandContext): Promise<void> {
  const rows = listModels().map((m) => ({
    name: m.name,
    description: m.description,
    license: m.license,
    files: m.files.map((f) => ({ path: f.path, url: f.url, sha256: f.sha256, ...where(m.name, f.path) })),
  }));
  const human = rows
    .map(
      (m) =>
        `${m.name}  (${m.license})\n  ${m.description}\n` +
        m.files.map((f) => `  ${f.path}: ${f.found ? `${f.source} ${f.found}` : 'not found'}`).join('\n'),
    )
    .join('\n');
  ctx.output(rows, human);
}

export async function runDownload(args: { name: string; force: boolean }, ctx: CommandContext): Promise<void> {
  const entry = getModel(args.name);
  if (!args.force && entry.files.every((f) => where(entry.name, f.path).source === 'models-dir')) {
    ctx.output(
      { name: entry.name, status: 'present' },
      `${entry.name}: already present in EAI_MODELS_DIR (use --force to download anyway)`,
    );
    return;
  }
  const progress = ctx.progress('bytes');
  const result = await downloadModel(args.name, { progress, logger: ctx.log, force: args.force, signal: ctx.signal });
  ctx.output(
    result,
    result.files
      .map((f) => `${f.status === 'present' ? 'Present' : 'Downloaded'} ${f.path} (verified by ${f.verifiedBy})`)
      .join('\n'),
  );
}

export async function runVerify(args: { name?: string }, ctx: CommandContext): Promise<number> {
  const models = args.name ? [getModel(args.name)] : listModels();
  const results = [];
  for (const m of models) {
    for (const f of m.files) {
      const found = where(m.name, f.path);
      if (!found.found) {
        if (args.name)
          throw new UsageError(
            `${m.name}: ${f.path} is not present locally; download it with models:download --name ${m.name}`,
          );
        continue;
      }
      // A copy from EAI_MODELS_DIR is checked against the reference copy; a cached download against the official file.
      const r = await verifyModelFile(f, found.found, found.source === 'models-dir' ? 'local' : 'official');
      results.push({ model: m.name, file: f.path, path: found.found, ...r });
    }
  }
  ctx.output(
    results,
    results
      .map((r) => `${r.ok ? 'ok  ' : 'FAIL'}  ${r.model}/${r.file}  (${r.method}${r.problem ? `: ${r.problem}` : ''})`)
      .join('\n'),
  );
  return results.every((r) => r.ok) ? 0 : 1;
}
