import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Coverage gates and the files left out of coverage (hardware CI lacks, each with its reason) live in
 * coverage-gates.json, which scripts/coverage-table.mjs also reads for the table CI prints.
 */
const { gates, hardwareOnly } = JSON.parse(readFileSync(new URL('./coverage-gates.json', import.meta.url), 'utf8')) as {
  gates: Record<string, number>;
  hardwareOnly: { file: string; reason: string }[];
};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores on CI: forks keep worker crashes (a fuzzed reader, a killed child) isolated.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      // Reported: every TypeScript source of the toolkit; gated: the folders in coverage-gates.json.
      include: ['{core,node,cli,projects,backends,kernels,models,bench}/**/*.ts'],
      exclude: ['**/*.d.ts', ...hardwareOnly.map((h) => h.file)],
      reporter: [['text', { skipFull: true }], 'text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // The table is printed even when a test failed, so a red run still shows where coverage stands.
      reportOnFailure: true,
      thresholds: Object.fromEntries(Object.entries(gates).map(([glob, lines]) => [glob, { lines }])),
    },
  },
});
