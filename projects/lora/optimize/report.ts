/**
 * The study's HTML report: the validation curves of every trial as one SVG chart (complete trials in colour,
 * pruned ones grey, the best one thick) and a table of parameters and losses. Self-contained, no scripts.
 * @module
 */
import { escapeHtml } from '../../../bench/writers/html.js';
import type { Study } from './run.js';

const W = 640;
const H = 360;
const PAD = 48;

export function studyReportHtml(study: Study): string {
  const points = study.trials.flatMap((t) => t.curve);
  const maxIt = Math.max(1, ...points.map(([i]) => i));
  const losses = points.map(([, v]) => v);
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
  const x = (i: number) => PAD + (i / maxIt) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - ((v - lo) / (hi - lo || 1)) * (H - 2 * PAD);
  const complete = study.trials.filter((t) => t.state === 'complete');
  const best = complete.length ? complete.reduce((a, b) => (b.value < a.value ? b : a)).number : -1;
  const lines = study.trials
    .map((t) => {
      const colour = t.state === 'pruned' ? '#bbb' : `hsl(${(t.number * 67) % 360} 60% 45%)`;
      const d = t.curve.map(([i, v], k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      return `<path d="${d}" fill="none" stroke="${colour}" stroke-width="${t.number === best ? 3 : 1.5}"><title>trial ${t.number} (${t.state})</title></path>`;
    })
    .join('\n');
  const keys = Object.keys(study.space);
  const rows = study.trials
    .map(
      (t) =>
        `<tr${t.number === best ? ' class="best"' : ''}><td>${t.number}</td><td>${t.state}</td>${keys
          .map((k) => `<td>${Number(t.params[k].toPrecision(4))}</td>`)
          .join('')}<td>${t.value.toFixed(4)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>lora:optimize study</title>
<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}.best{font-weight:bold}</style>
</head><body>
<h1>lora:optimize: ${study.trials.length} trials</h1>
<svg width="${W}" height="${H}" role="img" aria-label="validation loss per trial">
<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#333"/><line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${H - PAD}" stroke="#333"/>
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">iteration (0–${maxIt})</text>
<text x="12" y="${PAD - 12}">validation loss ${lo.toFixed(3)}–${hi.toFixed(3)}</text>
${lines}
</svg>
<table><tr><th>trial</th><th>state</th>${keys.map((k) => `<th>${escapeHtml(k)}</th>`).join('')}<th>valid loss</th></tr>
${rows}
</table>
</body></html>
`;
}
