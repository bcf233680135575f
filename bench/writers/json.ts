/** JSON output: the report as data, and the files `--out DIR` writes (JSON, Markdown, HTML side by side). */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../node/atomic-write.js';
import type { BenchReport } from '../record.js';
import { htmlReport } from './html.js';
import { markdownReport } from './markdown.js';

export function jsonReport(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** `bench-ops-2025-06-01T12-03-05Z`: the suite and the run's start time, safe in file names everywhere. */
export function reportStem(report: BenchReport): string {
  const stamp = report.machine.date.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return `bench-${report.suite}-${stamp}`;
}

export interface WrittenFiles {
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
}

/** Write `<stem>.json`, `.md` and `.html` into `dir` (created if missing); returns their paths. */
export async function writeReportFiles(report: BenchReport, dir: string): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const stem = join(dir, reportStem(report));
  const files = { json: `${stem}.json`, markdown: `${stem}.md`, html: `${stem}.html` };
  await writeFileAtomic(files.json, jsonReport(report));
  await writeFileAtomic(files.markdown, markdownReport(report));
  await writeFileAtomic(files.html, htmlReport(report));
  return files;
}
