/**
 * What the model-file reader tests (ONNX, TFLite) share: where the real files are, the documented operator
 * counts, and the shape of a reader error.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const modelsDir = process.env.EAI_MODELS_DIR ?? resolve(repoRoot, '../shared/models');

/** The operator → count rows of the first table after the heading that names `file` (in backticks). */
export function documentedCounts(file: string): Record<string, number> {
  const lines = readFileSync(join(repoRoot, 'docs', 'model-operators.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('#') && l.includes(`\`${file}\``));
  if (start < 0) throw new Error(`docs/model-operators.md has no section for ${file}`);
  const counts: Record<string, number> = {};
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const [, op, count] = line.split('|').map((c) => c.trim());
    if (/^\d+$/.test(count)) counts[op] = Number(count);
  }
  return counts;
}

/**
 * `parse` must throw an `ErrorType` whose message starts with `${file}: `, so that users see which file is bad,
 * and matches `pattern`.
 */
export function expectReaderError<E extends Error>(
  ErrorType: new (...args: never[]) => E,
  file: string,
  parse: () => unknown,
  pattern: RegExp,
): E {
  let caught: unknown;
  try {
    parse();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ErrorType);
  const err = caught as E;
  expect(err.message.startsWith(`${file}: `)).toBe(true);
  expect(err.message).toMatch(pattern);
  return err;
}
