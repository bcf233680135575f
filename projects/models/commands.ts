/**
 * `models:*`: the model registry from the command line — what is known (with official
 * URLs, checksums and licences), where each file is found, downloading into the cache
 * (progress bar, resume, checksum) and verifying local copies. The work is in run.ts, loaded when a
 * command runs, so that `--help` does not load the registry.
 */
import { defineCommand, type ProjectSpec } from '../../cli/command.js';

const list = defineCommand({
  name: 'list',
  summary: 'List known models, their licences and where their files are found',
  options: [],
  examples: ['efficientai-toolkit models:list', 'efficientai-toolkit models:list --json'],
  async run(_args, ctx) {
    const { runList } = await import('./run.js');
    return runList(ctx);
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
    const { runDownload } = await import('./run.js');
    return runDownload(args, ctx);
  },
});

const verify = defineCommand({
  name: 'verify',
  summary: 'Check local model files against the registry (checksum, else size and format)',
  options: [{ name: 'name', type: 'string', description: 'Only this model (default: every model found locally)' }],
  examples: ['efficientai-toolkit models:verify', 'efficientai-toolkit models:verify --name stories260K --json'],
  async run(args, ctx) {
    const { runVerify } = await import('./run.js');
    return runVerify(args, ctx);
  },
});

export const project: ProjectSpec = {
  namespace: 'models',
  aliases: [],
  summary: 'The model registry: list, download (resumable, verified) and verify model files',
  commands: [list, download, verify],
  tests: ['test/node/models'],
};
