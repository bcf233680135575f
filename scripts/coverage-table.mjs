#!/usr/bin/env node
// Prints line coverage per gated folder beside its gate, from vitest's json-summary
// (coverage/coverage-summary.json) and coverage-gates.json. vitest itself fails the run below a
// gate; this table shows every folder's number, passing or not. Usage: node scripts/coverage-table.mjs
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { gates } = JSON.parse(readFileSync(resolve(root, 'coverage-gates.json'), 'utf8'));
let summary;
try {
  summary = JSON.parse(readFileSync(resolve(root, 'coverage', 'coverage-summary.json'), 'utf8'));
} catch (err) {
  console.error(`no coverage summary (${err.message}): run the tests with --coverage first`);
  process.exit(1);
}
const files = Object.entries(summary)
  .filter(([k]) => k !== 'total')
  .map(([file, s]) => [relative(root, file).split('\\').join('/'), s.lines]);

// Gates are folder globs (`core/**`): a file belongs to the folder it lies under.
const rows = Object.entries(gates).map(([glob, gate]) => {
  const prefix = glob.replace(/\*\*$/, '');
  const mine = files.filter(([f]) => f.startsWith(prefix));
  const covered = mine.reduce((n, [, l]) => n + l.covered, 0);
  const total = mine.reduce((n, [, l]) => n + l.total, 0);
  const pct = total === 0 ? 100 : (100 * covered) / total;
  return { glob, files: mine.length, lines: `${covered}/${total}`, pct, gate, ok: pct >= gate };
});
const pad = (s, n) => String(s).padEnd(n);
console.log('\nLine coverage per gated folder (coverage-gates.json):');
console.log(`  ${pad('folder', 14)}${pad('files', 7)}${pad('lines', 14)}${pad('covered', 10)}gate`);
for (const r of rows) {
  console.log(
    `  ${pad(r.glob, 14)}${pad(r.files, 7)}${pad(r.lines, 14)}${pad(`${r.pct.toFixed(2)}%`, 10)}${r.gate}%${r.ok ? '' : '  BELOW'}`,
  );
}
const t = summary.total.lines;
console.log(
  `  ${pad('all reported', 14)}${pad(files.length, 7)}${pad(`${t.covered}/${t.total}`, 14)}${t.pct.toFixed(2)}%`,
);
