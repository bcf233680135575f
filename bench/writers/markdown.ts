/**
 * Markdown for people: the full table of a report (every record, its ratio and caveats),
 * and for `bench:peers` a compact comparison that RESULTS.md shows.
 */
import { describeMachine } from '../machine.js';
import {
  type BenchRecord,
  type BenchReport,
  backendCell,
  type OutputCheck,
  recordLabel,
  type TargetResult,
} from '../record.js';
import { fmt, times } from './format.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

/** `12.3× vs js; 1.85× vs native 1t` */
export function ratioText(r: BenchRecord): string {
  const parts: string[] = [];
  if (r.ratio !== null && r.baseline !== null) parts.push(`${times(r.ratio)} vs ${r.baseline}`);
  for (const [label, v] of Object.entries(r.ratios)) parts.push(`${times(v)} vs ${label}`);
  return parts.join('; ') || '—';
}

export const RECORD_COLUMNS = [
  'op',
  'shape',
  'backend',
  'threads',
  'dtype',
  'median ms',
  'p90 ms',
  'GFLOPS',
  'ratio',
  'runs',
  'notes',
] as const;

/** `max |Δ| 0.0123 vs onnxruntime-node 1t (8-bit: 1)`, and the verdict when it is over the tolerance. */
export function checkText(c: OutputCheck): string {
  const text = `max |Δ| ${fmt(c.maxAbsDiff)} vs ${c.reference} (8-bit: ${c.maxAbsDiff8bit})`;
  return c.ok ? text : `${text}: over the tolerance of ${c.tolerance}, not the same computation`;
}

export function recordCells(r: BenchRecord): string[] {
  return [
    r.op,
    r.shape,
    backendCell(r),
    r.threads === null ? '—' : String(r.threads),
    r.dtype,
    fmt(r.medianMs),
    fmt(r.p90Ms),
    fmt(r.gflops),
    ratioText(r),
    String(r.runs),
    [...(r.check ? [checkText(r.check)] : []), ...r.notes].join('; '),
  ];
}

function listSection(title: string, items: readonly string[]): string {
  return items.length === 0 ? '' : `\n\n${title}\n\n${items.map((i) => `- ${i}`).join('\n')}`;
}

/** The whole report: header (machine, date, command), the table, unavailable backends, notes. */
export function markdownReport(report: BenchReport): string {
  const adapters = [
    ...new Set(report.records.filter((r) => r.adapter).map((r) => backendCell(r) + `: ${r.adapter!.description}`)),
  ];
  return (
    [
      `## bench:${report.suite} — ${report.machine.date}`,
      '',
      `Machine: ${describeMachine(report.machine)}  `,
      `Command: \`${report.command}\``,
      adapters.length > 0 ? `\nWebGPU adapter: ${adapters.join('; ')}` : '',
      '',
      report.records.length > 0
        ? table(RECORD_COLUMNS, report.records.map(recordCells))
        : '_No results: no backend could run._',
    ].join('\n') +
    (report.targets && report.targets.length > 0 ? `\n\nTargets:\n\n${targetsTable(report.targets)}` : '') +
    listSection(
      'Unavailable (not measured):',
      report.unavailable.map((u) => `${u.backend}: ${u.reason}`),
    ) +
    listSection('Notes:', report.notes) +
    '\n'
  );
}

/**
 * `bench:peers` as a comparison: per case and thread count, each toolkit backend beside its
 * peer with the speed-up, then thread scaling. Missing sides say why instead of a number.
 */
export function peersSummary(report: BenchReport): string {
  const unavailable = new Map(report.unavailable.map((u) => [u.backend, u.reason]));
  const cases = [...new Map(report.records.map((r) => [`${r.op} ${r.shape}`, r])).values()];
  const threads = [...new Set(report.records.filter((r) => r.kind === 'peer').map((r) => r.threads ?? 0))].sort(
    (a, b) => a - b,
  );
  const find = (c: BenchRecord, backend: string, t: number | null): BenchRecord | undefined =>
    report.records.find((r) => r.op === c.op && r.shape === c.shape && r.backend === backend && r.threads === t);
  const ms = (r: BenchRecord | undefined, backend: string, t: number): string => {
    if (r) return fmt(r.medianMs);
    return unavailable.has(backend) || unavailable.has(`${backend} ${t}t`) ? 'unavailable' : 'not run';
  };
  const rows: string[][] = [];
  for (const c of cases) {
    for (const t of threads) {
      const pair = (ours: string, peer: string): string[] => {
        const a = find(c, ours, t);
        const b = find(c, peer, t);
        return [ms(a, ours, t), ms(b, peer, t), a && b ? times(b.medianMs / a.medianMs) : '—'];
      };
      rows.push([c.op, c.shape, String(t), ...pair('native', 'onnxruntime-node'), ...pair('wasm', 'onnxruntime-web')]);
    }
  }
  const header = [
    'op',
    'shape',
    'threads',
    'native ms',
    'onnxruntime-node ms',
    'native speed-up',
    'wasm ms',
    'onnxruntime-web ms',
    'wasm speed-up',
  ];
  const scaling = report.records
    .filter((r) => Object.keys(r.ratios).length > 0)
    .map((r) => [r.op, r.shape, recordLabel(r), ...Object.entries(r.ratios).map(([k, v]) => `${times(v)} vs ${k}`)]);
  const js = report.records.filter((r) => r.backend === 'js');
  let out = table(header, rows);
  if (scaling.length > 0) {
    out += `\n\nThread scaling (same run):\n\n${table(
      ['op', 'shape', 'runtime', 'speed-up'],
      scaling.map((s) => [s[0], s[1], s[2], s.slice(3).join('; ')]),
    )}`;
  }
  if (js.length > 0) {
    out += `\n\njs reference backend (1 thread): ${js.map((r) => `${r.op} ${r.shape} ${fmt(r.medianMs)} ms${r.runs === 1 ? ' (1 run)' : ''}`).join('; ')}`;
  }
  return out;
}

/**
 * `bench:ops` as RESULTS.md shows it: per op, size and backend the median, p90, runs, GFLOPS
 * and the speed-up over js measured in the same run (the caveats go to the section's notes).
 */
export function opsSummary(report: BenchReport): string {
  if (report.records.length === 0) return '_No results: no backend could run._';
  return table(
    ['op', 'shape', 'backend', 'median ms', 'p90 ms', 'runs', 'GFLOPS', 'speed-up vs js'],
    report.records.map((r) => [
      r.op,
      r.shape,
      backendCell(r),
      fmt(r.medianMs),
      fmt(r.p90Ms),
      String(r.runs),
      fmt(r.gflops),
      r.backend === 'js' ? 'baseline' : r.ratio !== null && r.baseline === 'js' ? times(r.ratio) : '—',
    ]),
  );
}

/** The note on the record every other output was compared with. */
export const REFERENCE_NOTE = 'the reference of the agreement check';

/** `met`, `NOT met` or why it could not be judged. */
function verdict(t: TargetResult): string {
  if (t.met === null) return `not judged: ${t.reason ?? 'a side is missing'}`;
  return t.met ? 'met' : 'NOT met';
}

/** The speed targets as a table: which runtime, its time over the peer's, the limit, the verdict. */
export function targetsTable(targets: readonly TargetResult[]): string {
  return table(
    ['threads', 'target', 'fastest CPU backend', 'its time ÷ peer time', 'verdict'],
    targets.map((t) => [
      String(t.threads),
      `≤ ${t.limit.toFixed(1)}× ${t.peer} at ${t.size}²`,
      t.runtime ?? '—',
      t.timeRatio === null ? '—' : times(t.timeRatio),
      verdict(t),
    ]),
  );
}

/**
 * `bench:style` as people read it: per size, every runtime's median with its speed-up against
 * onnxruntime-node and onnxruntime-web at the same thread count and its output's distance
 * from the reference, then the targets.
 */
export function styleSummary(report: BenchReport): string {
  const rows = report.records.map((r) => {
    const t = r.backend === 'js' ? 1 : r.threads;
    const webKey = `onnxruntime-web ${t}t`;
    const web = r.kind === 'toolkit' && t !== null ? r.ratios[webKey] : undefined;
    const scaling = Object.entries(r.ratios)
      .filter(([k]) => k !== webKey)
      .map(([k, v]) => `${times(v)} vs ${k}`);
    return [
      `${r.size}²`,
      backendCell(r),
      fmt(r.medianMs),
      fmt(r.p90Ms),
      String(r.runs),
      fmt(r.gflops),
      r.baseline?.startsWith('onnxruntime-node ') ? `${times(r.ratio)} vs ${r.baseline}` : '—',
      web === undefined ? '—' : `${times(web)} vs ${webKey}`,
      scaling.join('; ') || '—',
      r.check
        ? `${fmt(r.check.maxAbsDiff)}${r.check.ok ? '' : ' (over tolerance)'}`
        : r.notes.includes(REFERENCE_NOTE)
          ? 'reference'
          : '—',
      r.check ? String(r.check.maxAbsDiff8bit) : '—',
    ];
  });
  const reference = report.records.find((r) => r.check)?.check?.reference ?? 'onnxruntime-node';
  let out = report.records.length
    ? table(
        [
          'size',
          'runtime',
          'median ms',
          'p90 ms',
          'runs',
          'GFLOPS',
          'speed-up vs onnxruntime-node',
          'speed-up vs onnxruntime-web',
          'thread scaling',
          `max |Δ| vs ${reference}`,
          '8-bit max |Δ|',
        ],
        rows,
      )
    : '_No results: no runtime could run._';
  if (report.targets && report.targets.length > 0) {
    out += `\n\nTargets (issue 5; time ratio = the fastest CPU backend's median ÷ the peer's at the same thread count, below 1 is faster):\n\n${targetsTable(report.targets)}`;
  }
  return out;
}
