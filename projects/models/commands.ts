/**
 * `models:*`: the model registry from the command line — what is known (with official
 * URLs, checksums and licences), where each file is found, downloading into the cache
 * (progress bar, resume, checksum) and verifying local copies.
 */
import { defineCommand, type ProjectSpec } from '../../cli/command.js';
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

const list = defineCommand({
  name: 'list',
  summary: 'List known models, their licences and where their files are found',
  options: [],
  examples: ['efficientai-toolkit models:list', 'efficientai-toolkit models:list --json'],
  async run(_args, ctx) {
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
  },
});

const download = defineCommand({
  name: 'download',
  summary: 'Download a model into the cache (resumable, verified)',
  description:
    'Fetches every file of the model from its official URL into the cache (EAI_CACHE_DIR, default ~/.cache/efficientai-toolkit), ' +
    'resuming an interrupted download, and verifies it: by sha256 where the official checksum is known, else by size and ' +
    'file format. Files already found through EAI_MODELS_DIR are not fetched unless --force is given.',
  options: [
    { name: 'name', type: 'string', description: 'Model name (see models:list)', required: true },
    { name: 'force', type: 'boolean', description: 'Download even when a local copy exists' },
  ],
  examples: ['efficientai-toolkit models:download --name fast-neural-style-mosaic'],
  async run(args, ctx) {
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
  },
});

const verify = defineCommand({
  name: 'verify',
  summary: 'Check local model files against the registry (checksum, else size and format)',
  options: [{ name: 'name', type: 'string', description: 'Only this model (default: every model found locally)' }],
  examples: ['efficientai-toolkit models:verify', 'efficientai-toolkit models:verify --name stories260K --json'],
  async run(args, ctx) {
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
        .map(
          (r) => `${r.ok ? 'ok  ' : 'FAIL'}  ${r.model}/${r.file}  (${r.method}${r.problem ? `: ${r.problem}` : ''})`,
        )
        .join('\n'),
    );
    return results.every((r) => r.ok) ? 0 : 1;
  },
});

export const project: ProjectSpec = {
  namespace: 'models',
  aliases: [],
  summary: 'The model registry: list, download (resumable, verified) and verify model files',
  commands: [list, download, verify],
  tests: ['test/node/models'],
};
