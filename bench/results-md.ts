/**
 * bench/RESULTS.md keeps hand-written methodology around generated tables. Each table
 * lives between `<!-- bench:<id>:start -->` and `<!-- bench:<id>:end -->`; a run replaces
 * only what is between its own markers, so other sections and prose survive.
 */

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../node/atomic-write.js';
import { describeMachine } from './machine.js';
import { type BenchReport, EMULATED_LABEL, recordLabel } from './record.js';
import { sdSummary } from './sd-suite.js';
import { type LmSummaryInput, lmSummary, opsSummary, peersSummary, styleSummary } from './writers/markdown.js';

export const startMarker = (id: string): string => `<!-- bench:${id}:start -->`;
export const endMarker = (id: string): string => `<!-- bench:${id}:end -->`;

/**
 * `text` with the section `id` replaced by `body` (appended, with markers, when absent).
 * @throws Error when the markers are out of order or repeated: a hand edit to fix, not to guess about.
 */
export function replaceSection(text: string, id: string, body: string, file = 'RESULTS.md'): string {
  const start = startMarker(id);
  const end = endMarker(id);
  const s = text.indexOf(start);
  const e = text.indexOf(end);
  const block = `${start}\n${body.trim()}\n${end}`;
  if (s < 0 && e < 0) return `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  if (s < 0 || e < 0 || e < s || text.indexOf(start, s + 1) >= 0 || text.indexOf(end, e + 1) >= 0) {
    throw new Error(
      `${file}: the markers ${start} … ${end} must appear once each, start before end; fix the file by hand (or delete both to re-add the section at the end)`,
    );
  }
  return text.slice(0, s) + block + text.slice(e + end.length);
}

/** The report's notes, then each record's own caveats (once each), then the noisy records on one line. */
function noteLines(report: BenchReport): string[] {
  const noisy: string[] = [];
  const recordNotes: string[] = [];
  for (const r of report.records) {
    for (const n of r.notes) {
      const m = /^noisy: p90 is ([\d.]+)× the median$/.exec(n);
      if (m) noisy.push(`${r.op} ${r.size} ${recordLabel(r)} ${m[1]}×`);
      // A note that already names its backend ("js: 1 run, …") is not prefixed with it twice.
      else {
        const own = n.startsWith(`${r.backend}: `) ? n.slice(r.backend.length + 2) : n;
        recordNotes.push(`${r.op} ${r.shape} ${recordLabel(r)}: ${own}`);
      }
    }
  }
  const notes = [...report.notes, ...new Set(recordNotes)];
  if (noisy.length > 0) notes.push(`noisy (p90 over 1.5× the median): ${noisy.join(', ')}`);
  return notes;
}

/** One line per distinct WebGPU adapter the records ran on (none when no record used WebGPU). */
function adapterLines(report: BenchReport): string[] {
  const seen = new Set<string>();
  for (const r of report.records) {
    const a = r.adapter;
    if (!a) continue;
    seen.add(
      `WebGPU adapter: ${a.description} (vendor ${a.vendor}, architecture ${a.architecture}${a.emulated ? `; ${EMULATED_LABEL}` : ''}).`,
    );
  }
  return seen.size === 0 ? [] : [...seen, ''];
}

/** When, where, how to repeat; the suite's table; what could not run; the notes. */
function section(report: BenchReport, summary: string, preface: readonly string[] = []): string {
  const lines = [
    `Measured ${report.machine.date} on ${describeMachine(report.machine)}.`,
    '',
    `Reproduce: \`${report.command}\``,
    '',
    ...adapterLines(report),
    ...preface,
    summary,
  ];
  if (report.unavailable.length > 0) {
    lines.push(
      '',
      'Not measured (unavailable in this run):',
      '',
      // A reason can hold a stack or a require chain: one list item, one line.
      ...report.unavailable.map((u) => `- ${u.backend}: ${u.reason.replace(/\s*\n\s*/g, ' ')}`),
    );
  }
  const notes = noteLines(report);
  if (notes.length > 0) lines.push('', 'Notes:', '', ...notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/** The generated part of RESULTS.md for a `bench:peers` run: when, where, how to repeat, the table. */
export function peersSection(report: BenchReport): string {
  return section(report, peersSummary(report));
}

/** The generated part of RESULTS.md for a `bench:style` run: the table, the agreement and the targets. */
export function styleSection(report: BenchReport): string {
  return section(report, styleSummary(report), [
    'Timed: the network forward only (a [1,3,S,S] tensor in, the output read back), not image decoding or encoding.',
    '',
  ]);
}

/** The generated part of RESULTS.md for a `bench:sd` run: the UNet step against PyTorch, then tiny-sd img2img. */
export function sdSection(report: BenchReport): string {
  return section(report, sdSummary(report), [
    "Timed: UNet.forward on one step's inputs with the output read back (the peer: the same call in torch); img2img: the whole pipeline call.",
    '',
  ]);
}

/** The generated part of RESULTS.md for a `bench:ops` run (e.g. WebGPU on a real GPU against js). */
export function opsSection(report: BenchReport): string {
  return section(report, opsSummary(report));
}

/** The generated part of RESULTS.md for a `bench:lm` run: tokens/s, the bandwidth bound, the targets. */
export function lmSection(report: LmSummaryInput): string {
  return section(report, lmSummary(report));
}

/**
 * A section id for `--results-section`: lower-case letters, digits and dashes, so the markers
 * stay plain. @throws RangeError naming the bad id.
 */
export function checkSectionId(id: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) {
    throw new RangeError(
      `--results-section: '${id}' is not a section id (lower-case letters, digits and dashes, e.g. webgpu-ops)`,
    );
  }
  return id;
}

/** Rewrite section `id` of the file at `path` (created with just that section when missing). */
export async function writeResultsSection(path: string, id: string, body: string): Promise<void> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await writeFileAtomic(path, replaceSection(text, id, body, path));
}
