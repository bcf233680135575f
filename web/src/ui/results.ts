/** The numbers under a finished result: which backend ran, the time per stage, and any per-op fallbacks. */
import type { TransferReply } from '../protocol.js';
import { el } from './dom.js';
import { formatMs } from './format.js';
import { STAGE_LABELS } from './progress.js';

const ORDER = ['decode', 'load-model', 'preprocess', 'predict-style', 'stylize', 'postprocess'] as const;

export function renderResult(root: HTMLElement, reply: TransferReply, styleTitle: string, backendDetail: string): void {
  const total = ORDER.reduce((sum, s) => sum + reply.times[s], 0);
  const longest = Math.max(...ORDER.map((s) => reply.times[s]), 1);
  // Named styles have no style-prediction stage.
  const stages = ORDER.filter((s) => s !== 'predict-style' || reply.times[s] > 0);
  const rows = stages.map((stage) =>
    el(
      'div',
      { className: 'time-row', 'data-stage': stage },
      el('span', { className: 'time-label', text: STAGE_LABELS[stage] }),
      el(
        'span',
        { className: 'time-bar' },
        el('span', {
          className: 'time-fill',
          style: `width:${Math.max(0.5, (reply.times[stage] / longest) * 100).toFixed(1)}%`,
        }),
      ),
      el('span', { className: 'time-value', text: formatMs(reply.times[stage]) }),
    ),
  );
  const fallbackOps = [...new Set(reply.fallbacks.map((f) => f.op))];
  const parts: HTMLElement[] = [
    el(
      'div',
      { className: 'result-head' },
      el('p', { className: 'result-title' }, `${styleTitle} · ${reply.width} × ${reply.height} px`),
      el(
        'p',
        { className: 'result-sub' },
        'Ran on ',
        el('strong', { id: 'ran-on', 'data-backend': reply.backend, text: reply.backend }),
        ` (${backendDetail}) in `,
        el('strong', { text: formatMs(total) }),
      ),
    ),
    el('div', { className: 'times', 'aria-label': 'Time per stage' }, ...rows),
  ];
  if (fallbackOps.length > 0) {
    parts.push(
      el('p', {
        className: 'result-note',
        text:
          `${fallbackOps.length} op${fallbackOps.length === 1 ? '' : 's'} did not run on ${reply.backend}'s own ` +
          `kernels: ${reply.fallbacks.map((f) => `${f.op} (${f.to}: ${f.why})`).join('; ')}.`,
      }),
    );
  }
  root.replaceChildren(...parts);
}
