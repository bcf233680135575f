/**
 * The knowledge base (seed: "development docs, search, indexing"): full-text search over the
 * toolkit's own docs, every command's help and the user's Markdown entries. Implementations
 * load on demand (`./run.js`), so `--help` stays fast.
 */
import { defineCommand, type OptionSpec, type ProjectSpec } from '../../cli/command.js';

const BIN = 'efficientai-toolkit';

const KIND_OPTION = {
  name: 'kind',
  type: 'string',
  valueName: 'list',
  description:
    'Only these kinds: comma list of doc (README, docs/, bench results), command (help texts), entry (yours)',
} as const satisfies OptionSpec;

const WHERE =
  'The index and the entries live in EAI_KB_DIR, default $XDG_DATA_HOME/efficientai-toolkit/kb ' +
  '(~/.local/share/efficientai-toolkit/kb): index.jsonl (rebuilt from the sources whenever lost) and entries/*.md.';

const search = defineCommand({
  name: 'search',
  summary: "Search the toolkit's docs, command help and your entries",
  description:
    'Full-text search (BM25 via MiniSearch) over the README files, docs/, bench/RESULTS.md, the help of every command ' +
    'and your entries, one result per Markdown section or command. Words are matched by stem (quantize finds quantization), ' +
    'as prefixes and with a typo per five letters; a word in a title counts four times one in the text. ' +
    'Before searching, the index is brought up to date: only sources whose content changed are re-indexed ' +
    `(--no-refresh skips that). ${WHERE}`,
  options: [
    { name: 'query', type: 'string', valueName: 'words', required: true, description: 'What to look for' },
    { name: 'limit', type: 'integer', default: 5, min: 1, max: 100, description: 'How many results' },
    KIND_OPTION,
    { name: 'refresh', type: 'boolean', default: true, description: 'Re-index changed sources first' },
  ],
  positional: 'query',
  examples: [
    `${BIN} kb:search style transfer on webgpu`,
    `${BIN} kb:search "WebGPU SwiftShader" --kind doc --limit 3`,
    `${BIN} kb:search --query "bench ops" --json`,
  ],
  async run(args, ctx) {
    const { runSearch } = await import('./run.js');
    return runSearch(args, ctx);
  },
});

const add = defineCommand({
  name: 'add',
  summary: 'Add a Markdown entry of your own to the knowledge base',
  description:
    'Writes entries/<id>.md (front matter with title, tags and date, then your Markdown) and indexes it. ' +
    `Give the text with --text or a Markdown file with --file. ${WHERE}`,
  options: [
    { name: 'title', type: 'string', required: true, description: 'Title of the entry' },
    { name: 'text', type: 'string', description: 'The entry as Markdown text' },
    { name: 'file', type: 'path', valueName: 'file.md', description: 'A Markdown file to copy in as the entry' },
    { name: 'tags', type: 'string', valueName: 'list', description: 'Comma list of tags (searched as keywords)' },
    {
      name: 'id',
      type: 'string',
      description: 'Entry id, the file name (default: the title in lowercase-with-dashes)',
    },
    { name: 'replace', type: 'boolean', description: 'Overwrite an entry with the same id' },
  ],
  examples: [
    `${BIN} kb:add --title "Style sizes" --text "512 px looks best for portraits; 256 px for previews" --tags style`,
    `${BIN} kb:add --title "GPU notes" --file notes/gpu.md --json`,
  ],
  async run(args, ctx) {
    const { runAdd } = await import('./run.js');
    return runAdd(args, ctx);
  },
});

const remove = defineCommand({
  name: 'remove',
  summary: 'Delete one of your entries',
  options: [
    {
      name: 'id',
      type: 'string',
      valueName: 'id',
      required: true,
      description: 'The entry id (see kb:list --kind entry)',
    },
  ],
  positional: 'id',
  examples: [`${BIN} kb:remove style-sizes`],
  async run(args, ctx) {
    const { runRemove } = await import('./run.js');
    return runRemove(args, ctx);
  },
});

const list = defineCommand({
  name: 'list',
  summary: 'List what the knowledge base holds: docs, commands and entries',
  description: `Brings the index up to date, then lists every source with its kind and number of sections. ${WHERE}`,
  options: [KIND_OPTION],
  examples: [`${BIN} kb:list`, `${BIN} kb:list --kind entry --json`],
  async run(args, ctx) {
    const { runList } = await import('./run.js');
    return runList(args, ctx);
  },
});

const index = defineCommand({
  name: 'index',
  summary: 'Bring the index up to date (only changed sources are re-indexed)',
  description:
    'Hashes every source (docs, command help, entries) and re-indexes the ones whose content changed, appeared or ' +
    'disappeared; --rebuild starts from nothing. The file is replaced atomically: a crash mid-write leaves the previous ' +
    `index usable. ${WHERE}`,
  options: [{ name: 'rebuild', type: 'boolean', description: 'Re-index everything' }],
  examples: [`${BIN} kb:index`, `${BIN} kb:index --rebuild --json`],
  async run(args, ctx) {
    const { runIndex } = await import('./run.js');
    return runIndex(args, ctx);
  },
});

export const project: ProjectSpec = {
  namespace: 'kb',
  aliases: [],
  summary: "Knowledge base: search the toolkit's docs, command help and your own Markdown notes",
  commands: [search, add, remove, list, index],
};
