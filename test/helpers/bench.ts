/**
 * Fixtures the bench tests share: a fixed machine, one-sample records, a JSON-report run and the
 * never-drop-a-backend check.
 */
import { expect } from 'vitest';
import { makeRecord, type RecordFields } from '../../bench/harness.js';
import type { BenchRecord, BenchReport, MachineInfo } from '../../bench/record.js';
import { summarize } from '../../bench/stats.js';
import { argvOf, runCli } from './run-cli.js';

/** A made-up machine, so that what a test asserts does not depend on where it runs. */
export function testMachine(overrides: Partial<MachineInfo> = {}): MachineInfo {
  return {
    cpu: 'Test CPU',
    cores: 2,
    cpuFeatures: 'avx2 fma',
    os: 'Linux 6.0',
    arch: 'x64',
    node: 'v20.0.0',
    loadAverage: 0.5,
    date: '2025-01-02T03:04:05.678Z',
    ...overrides,
  };
}

/** What all the records of one test share: the case measured and where. */
export type CaseFields = Omit<RecordFields, 'backend' | 'kind' | 'threads'>;

/** A record of a single timed run of `ms`, no warm-up: the statistics are then exactly `ms`. */
export function timedRecord(
  fields: CaseFields,
  backend: string,
  kind: 'toolkit' | 'peer',
  threads: number | null,
  ms: number,
): BenchRecord {
  return makeRecord(
    { ...fields, backend, kind, threads },
    { samples: [ms], stats: summarize([ms]), warmup: 0, runs: 1 },
  );
}

/** Each of `backends` is measured or listed as unavailable with a reason, never both and never silently dropped. */
export function expectEveryBackendAccountedFor(report: BenchReport, backends: readonly string[]): void {
  for (const b of backends) {
    const measured = report.records.some((r) => r.backend === b);
    const listed = report.unavailable.some((u) => u.backend === b && u.reason.length > 0);
    expect(measured !== listed, b).toBe(true);
  }
}

/**
 * Runs a bench command with `flags`, then `--json --log-level error`, and returns its report: stdout must be
 * that one JSON line and nothing else, stderr empty and the exit code 0.
 */
export async function runBenchJson(
  command: string,
  flags: Readonly<Record<string, string | number | true>>,
): Promise<BenchReport> {
  const { code, out, err } = await runCli(argvOf(command, { ...flags, json: true, 'log-level': 'error' }));
  expect(err).toBe('');
  expect(code).toBe(0);
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as BenchReport;
}
