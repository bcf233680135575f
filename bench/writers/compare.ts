/**
 * bench:compare's outputs: a Markdown table per suite (base, head, change, noise, verdict) and a
 * self-contained HTML page with the same tables and, per case, an inline SVG trend of its median
 * over every run in the history on that machine, the base and head runs marked and the band
 * inside which a change counts as noise.
 */
import type { CaseComparison, CompareResult, SuiteComparison, Verdict } from '../compare.js';
import { caseTrend } from '../compare.js';
import type { HistoryRun } from '../history.js';
import { fmt } from './format.js';
import { escapeHtml, htmlPage } from './html.js';
import { table } from './markdown.js';

const short = (commit: string): string => (commit === 'unknown' ? commit : commit.slice(0, 10));

function signed(pct: number | null): string {
  if (pct === null) return '—';
  return `${pct >= 0 ? '+' : '−'}${fmt(Math.abs(pct))}%`;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  regression: 'REGRESSION',
  improvement: 'improvement',
  unchanged: 'within noise',
  new: 'new (no base)',
  missing: 'missing in head',
};

function noiseText(c: CaseComparison): string {
  if (c.madMs === null) return 'unknown (< 3 runs)';
  return `${fmt(c.madMs)} ms (${c.noiseRuns} ${c.noiseFrom === 'base' ? 'base' : 'earlier'} runs)`;
}

const COLUMNS = ['case', 'backend', 'base ms', 'head ms', 'change', 'noise (MAD)', 'limit ms', 'verdict'];

function rowOf(c: CaseComparison): string[] {
  return [
    `${c.op} ${c.shape}${c.dtype === 'f32' ? '' : ` ${c.dtype}`}`,
    c.backend,
    fmt(c.baseMs),
    fmt(c.headMs),
    signed(c.changePct),
    noiseText(c),
    fmt(c.limitMs),
    VERDICT_TEXT[c.verdict],
  ];
}

function runsText(refs: SuiteComparison['base']): string {
  if (refs.length === 0) return 'none';
  const commits = [...new Set(refs.map((r) => `${short(r.commit)}${r.dirty ? '+dirty' : ''}`))];
  return `${refs.length} run(s) of ${commits.join(', ')} (${refs[0].date.slice(0, 10)} … ${refs.at(-1)?.date.slice(0, 10)})`;
}

function verdictLine(result: CompareResult): string {
  const t = result.thresholds;
  const rule = `a case regresses when the head is slower than the base by more than ${t.mads} MADs of the history's noise and more than ${t.percent}%`;
  return `${result.regressions} regression(s), ${result.improvements} improvement(s); ${rule}.`;
}

export function compareMarkdown(result: CompareResult): string {
  const parts = [`## bench:compare`, '', verdictLine(result)];
  for (const c of result.comparisons) {
    parts.push(
      '',
      `### ${c.suite} on ${c.machineKey}`,
      '',
      `Base: ${runsText(c.base)}  `,
      `Head: ${runsText(c.head)}`,
      '',
      c.cases.length > 0 ? table(COLUMNS, c.cases.map(rowOf)) : '_No cases._',
    );
    if (c.notes.length > 0) parts.push('', ...c.notes.map((n) => `- ${n}`));
  }
  return `${parts.join('\n')}\n`;
}

const TREND_COLOR: Record<Verdict, string> = {
  regression: '#d70015',
  improvement: '#248a3d',
  unchanged: '#1d1d1f',
  new: '#1d1d1f',
  missing: '#8e8e93',
};

/** An SVG line chart of one case's median over the runs, base runs blue, head runs in the verdict's colour. */
export function trendChart(
  points: readonly { index: number; commit: string; medianMs: number }[],
  c: CaseComparison,
  base: ReadonlySet<number>,
  head: ReadonlySet<number>,
): string {
  const w = 460;
  const h = 170;
  const left = 56;
  const right = 12;
  const top = 12;
  const bottom = 34;
  const band = c.baseMs !== null && c.limitMs !== null ? [c.baseMs - c.limitMs, c.baseMs + c.limitMs] : null;
  const ys = [...points.map((p) => p.medianMs), ...(band ?? [])];
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (hi - lo < 1e-9) {
    const v = hi || 1;
    lo = v * 0.9;
    hi = v * 1.1;
  }
  const pad = (hi - lo) * 0.08;
  lo = Math.max(0, lo - pad);
  hi += pad;
  const x = (i: number): number =>
    left + (points.length <= 1 ? (w - left - right) / 2 : (i / (points.length - 1)) * (w - left - right));
  const y = (v: number): number => top + (1 - (v - lo) / (hi - lo)) * (h - top - bottom);
  const parts: string[] = [];
  if (band) {
    const y0 = y(Math.min(hi, band[1]));
    const y1 = y(Math.max(lo, band[0]));
    parts.push(
      `<rect x="${left}" y="${y0.toFixed(1)}" width="${w - left - right}" height="${Math.max(0, y1 - y0).toFixed(1)}" fill="#e8f0fe"/>`,
    );
    parts.push(
      `<line x1="${left}" x2="${w - right}" y1="${y(c.baseMs as number).toFixed(1)}" y2="${y(c.baseMs as number).toFixed(1)}" stroke="#007aff" stroke-dasharray="4 3"/>`,
    );
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${h - bottom}" stroke="#c7c7cc"/>`);
  parts.push(`<text x="${left - 4}" y="${top + 10}" text-anchor="end">${escapeHtml(fmt(hi))}</text>`);
  parts.push(`<text x="${left - 4}" y="${h - bottom}" text-anchor="end">${escapeHtml(fmt(lo))}</text>`);
  if (points.length > 1) {
    const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.medianMs).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${line}" fill="none" stroke="#8e8e93" stroke-width="1.5"/>`);
  }
  points.forEach((p, i) => {
    const isHead = head.has(p.index);
    const color = isHead ? TREND_COLOR[c.verdict] : base.has(p.index) ? '#007aff' : '#aeaeb2';
    const r = isHead ? 5 : 3.5;
    parts.push(
      `<circle cx="${x(i).toFixed(1)}" cy="${y(p.medianMs).toFixed(1)}" r="${r}" fill="${color}"><title>${escapeHtml(`${short(p.commit)}: ${fmt(p.medianMs)} ms`)}</title></circle>`,
    );
  });
  const first = points[0];
  const last = points.at(-1);
  if (first) parts.push(`<text x="${left}" y="${h - 14}">${escapeHtml(short(first.commit))}</text>`);
  if (last && points.length > 1)
    parts.push(`<text x="${w - right}" y="${h - 14}" text-anchor="end">${escapeHtml(short(last.commit))}</text>`);
  parts.push(
    `<text x="${left}" y="${h - 2}">median ms per run, oldest left · blue: base · big: head · band: limit</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(`trend of ${c.key}`)}">${parts.join('')}</svg>`;
}

function tableHtml(cases: readonly CaseComparison[]): string {
  const head = COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const rows = cases
    .map((c) => {
      const cells = rowOf(c).map((v, i) => {
        const cls = i >= 2 && i <= 6 ? ' class="num"' : i === 7 && c.verdict === 'regression' ? ' class="warn"' : '';
        return `<td${cls}>${escapeHtml(v)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table>`;
}

export function compareHtml(result: CompareResult, history: readonly HistoryRun[]): string {
  const sections = result.comparisons.map((c) => {
    const base = new Set(c.base.map((r) => r.index));
    const head = new Set(c.head.map((r) => r.index));
    const charts = c.cases
      .map((k) => {
        const points = caseTrend(history, c.suite, c.machineKey, k.key);
        const caption = `${k.op} ${k.shape} ${k.backend} — ${VERDICT_TEXT[k.verdict]} ${signed(k.changePct)}`;
        return `<figure><figcaption${k.verdict === 'regression' ? ' class="warn"' : ''}>${escapeHtml(caption)}</figcaption>${trendChart(points, k, base, head)}</figure>`;
      })
      .join('\n');
    const notes = c.notes.length > 0 ? `<ul>${c.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
    return `<h2>${escapeHtml(`${c.suite} on ${c.machineKey}`)}</h2>
<p class="meta">Base: ${escapeHtml(runsText(c.base))}<br>Head: ${escapeHtml(runsText(c.head))}</p>
${notes}
${c.cases.length > 0 ? tableHtml(c.cases) : '<p>No cases.</p>'}
<div class="charts">
${charts}
</div>`;
  });
  return htmlPage('bench:compare', `<p class="meta">${escapeHtml(verdictLine(result))}</p>\n${sections.join('\n')}`);
}
