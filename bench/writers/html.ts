/**
 * A self-contained HTML report: one file, inline CSS, the table, and per case an inline
 * SVG bar chart (GFLOPS when the FLOP count is known, else median ms). No scripts, fonts
 * or images from anywhere else, so it opens offline and can be attached to an issue.
 */
import { describeMachine } from '../machine.js';
import { type BenchRecord, type BenchReport, backendCell, EMULATED_LABEL } from '../record.js';
import { fmt } from './format.js';
import { RECORD_COLUMNS, recordCells } from './markdown.js';

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#555}.warn{color:#9a3412;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;border:1px solid #e5e5ea;border-radius:6px;padding:.5rem}
figcaption{font-weight:600;margin-bottom:.25rem}
svg text{font:12px system-ui,sans-serif;fill:#1d1d1f}
`;

const NUMERIC = new Set(['threads', 'median ms', 'p90 ms', 'GFLOPS', 'runs']);

function tableHtml(records: readonly BenchRecord[]): string {
  const head = RECORD_COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = records
    .map((r) => {
      const cells = recordCells(r).map((v, i) => {
        const col = RECORD_COLUMNS[i];
        const cls = NUMERIC.has(col) ? ' class="num"' : r.adapter?.emulated && col === 'backend' ? ' class="warn"' : '';
        return `<td${cls}>${escapeHtml(v)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const COLORS: Record<string, string> = {
  js: '#8e8e93',
  wasm: '#5856d6',
  webgpu: '#34c759',
  native: '#007aff',
  'onnxruntime-node': '#ff9500',
  'onnxruntime-web': '#ff2d55',
};

/** Horizontal bars, one per record of a case; the value is GFLOPS when every record has it. */
export function barChart(records: readonly BenchRecord[]): string {
  const useGflops = records.every((r) => r.gflops !== null);
  const value = (r: BenchRecord): number => (useGflops ? (r.gflops as number) : r.medianMs);
  const max = Math.max(...records.map(value), Number.MIN_VALUE);
  const labelW = 280;
  const barW = 300;
  const rowH = 22;
  const height = records.length * rowH + 28;
  const bars = records
    .map((r, i) => {
      const y = i * rowH + 4;
      const w = Math.max(1, (value(r) / max) * barW);
      const color = r.adapter?.emulated ? '#c7c7cc' : (COLORS[r.backend] ?? '#636366');
      const label = escapeHtml(backendCell(r));
      return (
        `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${label}</text>` +
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>` +
        `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 14}">${escapeHtml(fmt(value(r)))}</text>`
      );
    })
    .join('');
  const axis = useGflops ? 'GFLOPS (longer is faster)' : 'median ms (shorter is faster)';
  const width = labelW + barW + 70;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(axis)}">` +
    `${bars}<text x="${labelW}" y="${height - 6}">${escapeHtml(axis)}</text></svg>`
  );
}

export function htmlReport(report: BenchReport): string {
  const groups = new Map<string, BenchRecord[]>();
  for (const r of report.records) {
    const key = `${r.op} ${r.shape}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const charts = [...groups.entries()]
    .map(([key, rs]) => `<figure><figcaption>${escapeHtml(key)}</figcaption>${barChart(rs)}</figure>`)
    .join('\n');
  const emulated = report.records.some((r) => r.adapter?.emulated);
  const list = (items: readonly string[]): string =>
    `<ul>${items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
  const title = `bench:${report.suite} — ${report.machine.date}`;
  const adapters = [...new Set(report.records.flatMap((r) => (r.adapter ? [r.adapter.description] : [])))];
  return htmlPage(
    title,
    `<p class="meta">Machine: ${escapeHtml(describeMachine(report.machine))}<br>Command: <code>${escapeHtml(report.command)}</code>${adapters.length > 0 ? `<br>WebGPU adapter: ${escapeHtml(adapters.join('; '))}` : ''}</p>
${emulated ? `<p class="warn">WebGPU ran on a CPU-emulated adapter: ${escapeHtml(EMULATED_LABEL)}.</p>` : ''}
<h2>Charts</h2>
<div class="charts">
${charts || '<p>No results.</p>'}
</div>
<h2>Results</h2>
${report.records.length > 0 ? tableHtml(report.records) : '<p>No results: no backend could run.</p>'}
${report.targets && report.targets.length > 0 ? `<h2>Targets</h2>\n${list(report.targets.map((t) => `${t.target}: ${t.met === null ? `not judged (${t.reason ?? 'a side is missing'})` : `${t.runtime} at ${fmt(t.timeRatio)}× ${t.peer}'s time, ${t.met ? 'met' : 'NOT met'}`}`))}` : ''}
${report.unavailable.length > 0 ? `<h2>Unavailable (not measured)</h2>\n${list(report.unavailable.map((u) => `${u.backend}: ${u.reason}`))}` : ''}
${report.notes.length > 0 ? `<h2>Notes</h2>\n${list(report.notes)}` : ''}`,
  );
}

/** A whole self-contained page: the shared style, `title` as the heading, then `body` (HTML). */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
