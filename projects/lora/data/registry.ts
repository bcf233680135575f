/**
 * The data sets `--data NAME` knows, found in the data folder (`EAI_DATA_DIR`, default ../shared/data; never
 * in the repository). A path always wins over a name.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../../core/errors.js';
import { defaultDatasetsDir, type Env, repoRoot } from '../../../node/paths.js';
import { didYouMean } from '../../../node/suggest.js';

export interface DataSetEntry {
  readonly name: string;
  /** A folder inside the repository (relative to its root) instead of the data folder. */
  readonly bundled?: string;
  readonly description: string;
  /** Where the files come from (for a user without the bundled copy). */
  readonly source: string;
  readonly license: string;
}

export const DATA_SETS: readonly DataSetEntry[] = [
  {
    name: 'stories-sample',
    bundled: 'projects/lora/data/sample',
    description:
      'Tiny TinyStories-style sentences in the text format (32 train / 8 valid / 8 test), written for this repository: the quick default',
    source: 'this repository',
    license: 'the repository license',
  },
  {
    name: 'wikisql',
    description: 'WikiSQL text-to-SQL prompts in the text format (1000 train / 100 valid / 100 test)',
    source: 'https://github.com/ml-explore/mlx-examples/tree/main/lora/data',
    license: 'BSD-3-Clause (WikiSQL) + MIT (mlx-examples)',
  },
  {
    name: 'wwdc25-completions',
    description: 'Super Bowl LIX questions and answers in the completions format (1800 train / 144 valid)',
    source: 'https://github.com/ml-explore/mlx-examples/tree/main/wwdc25/data',
    license: 'MIT',
  },
];

/** The folder `--data` names: an existing path, else a known data set in the data folder. */
export function resolveDataDir(spec: string, cwd: string, env: Env): string {
  const path = resolve(cwd, spec);
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) {
      throw new UsageError(`--data ${spec}: expected a folder with train.jsonl, valid.jsonl and test.jsonl`);
    }
    return path;
  }
  const entry = DATA_SETS.find((d) => d.name === spec);
  if (!entry) {
    throw new UsageError(
      `--data ${spec}: no such folder, and not a known data set${didYouMean(
        spec,
        DATA_SETS.map((d) => d.name),
      )} ` + `(known: ${DATA_SETS.map((d) => d.name).join(', ')})`,
    );
  }
  if (entry.bundled) return join(repoRoot(), entry.bundled);
  const root = defaultDatasetsDir(env);
  const dir = root && join(root, entry.name);
  if (!dir || !existsSync(dir)) {
    throw new UsageError(
      `--data ${spec}: the data set is not in ${root ?? 'the data folder'}; set EAI_DATA_DIR to a folder holding ` +
        `${entry.name}/ (files from ${entry.source}), or pass a folder path`,
    );
  }
  return dir;
}
