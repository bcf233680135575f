/**
 * Progress while a transfer runs: the model download (bytes from the streamed fetch) and the
 * pipeline's stages as it reports them, each with its time once done.
 */
import type { Stage, TransferReply } from '../protocol.js';
import { el } from './dom.js';
import { formatBytes, formatMs } from './format.js';

export const STAGE_LABELS: Readonly<Record<Stage | 'decode', string>> = {
  decode: 'Read photo',
  'load-model': 'Load model',
  preprocess: 'Resize',
  'predict-style': 'Read style',
  stylize: 'Stylize',
  postprocess: 'Finish',
};

const NAMED_STAGES: readonly Stage[] = ['load-model', 'preprocess', 'stylize', 'postprocess'];
/** Arbitrary style adds the style-prediction network. */
const IMAGE_STAGES: readonly Stage[] = ['load-model', 'preprocess', 'predict-style', 'stylize', 'postprocess'];

export class ProgressView {
  readonly #root: HTMLElement;
  readonly #modelLine: HTMLElement;
  readonly #modelText: HTMLElement;
  readonly #modelBar: HTMLElement;
  readonly #steps = new Map<Stage, { row: HTMLElement; time: HTMLElement }>();
  readonly #started = new Map<Stage, number>();
  /** Bytes per model file: a style may load several files at once; the bar shows their sum. */
  readonly #files = new Map<string, { loaded: number; total: number | null; phase: string }>();
  #timer: number | undefined;

  constructor(root: HTMLElement) {
    this.#root = root;
    this.#modelText = el('span', { className: 'model-text' });
    this.#modelBar = el('span', { className: 'bar-fill' });
    this.#modelLine = el(
      'div',
      { className: 'model-line', hidden: true },
      this.#modelText,
      el(
        'span',
        { className: 'bar', role: 'progressbar', 'aria-label': 'Model download', 'aria-valuemin': 0 },
        this.#modelBar,
      ),
    );
    const list = el('ol', { className: 'steps' });
    for (const stage of IMAGE_STAGES) {
      const time = el('span', { className: 'step-time' });
      const row = el(
        'li',
        { className: 'step-row', 'data-stage': stage, 'data-state': 'pending' },
        el('span', { className: 'step-dot', 'aria-hidden': 'true' }),
        el('span', { className: 'step-label', text: STAGE_LABELS[stage] }),
        time,
      );
      this.#steps.set(stage, { row, time });
      list.append(row);
    }
    root.append(this.#modelLine, list);
  }

  reset(kind: 'named' | 'image'): void {
    this.#root.hidden = false;
    this.#modelLine.hidden = true;
    this.#started.clear();
    this.#files.clear();
    const shown = kind === 'image' ? IMAGE_STAGES : NAMED_STAGES;
    for (const [stage, { row, time }] of this.#steps) {
      row.dataset.state = 'pending';
      row.hidden = !shown.includes(stage);
      time.textContent = '';
    }
    // Elapsed time on the running stage, so a slow backend visibly makes progress.
    clearInterval(this.#timer);
    this.#timer = window.setInterval(() => this.#tick(), 250);
  }

  #tick(): void {
    for (const [stage, start] of this.#started) {
      const step = this.#steps.get(stage);
      if (step?.row.dataset.state === 'active') step.time.textContent = formatMs(performance.now() - start);
    }
  }

  stage(stage: Stage, state: 'start' | 'done'): void {
    const step = this.#steps.get(stage);
    if (!step) return;
    if (state === 'start') {
      if (step.row.dataset.state !== 'active') this.#started.set(stage, performance.now());
      step.row.dataset.state = 'active';
    } else {
      step.row.dataset.state = 'done';
    }
  }

  model(title: string, url: string, phase: 'cache' | 'network' | 'parse', loaded: number, total: number | null): void {
    this.#modelLine.hidden = false;
    this.#files.set(url, { loaded, total, phase });
    const files = [...this.#files.values()];
    const sum = files.reduce((a, f) => a + f.loaded, 0);
    const known = files.every((f) => f.total !== null);
    const sumTotal = known ? files.reduce((a, f) => a + (f.total ?? 0), 0) : null;
    const of = sumTotal ? ` of ${formatBytes(sumTotal)}` : '';
    const parsing = files.every((f) => f.phase === 'parse');
    const cached =
      files.every((f) => f.phase === 'cache' || f.phase === 'parse') && !files.some((f) => f.phase === 'network');
    this.#modelText.textContent = parsing
      ? `${title} model: ${formatBytes(sum)}, building the network…`
      : cached
        ? `${title} model from this browser's cache: ${formatBytes(sum)}${of}`
        : `Downloading the ${title} model: ${formatBytes(sum)}${of}`;
    const fraction = parsing ? 1 : sumTotal ? sum / sumTotal : 0;
    this.#modelBar.style.width = `${(fraction * 100).toFixed(1)}%`;
    const bar = this.#modelBar.parentElement;
    bar?.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
    bar?.setAttribute('aria-valuemax', '100');
  }

  /** Final per-stage times from the worker (the authoritative numbers). */
  finish(reply: TransferReply): void {
    clearInterval(this.#timer);
    for (const [stage, { row, time }] of this.#steps) {
      if (row.hidden) continue;
      row.dataset.state = 'done';
      time.textContent = formatMs(reply.times[stage]);
    }
  }

  fail(): void {
    clearInterval(this.#timer);
    for (const { row } of this.#steps.values()) if (row.dataset.state === 'active') row.dataset.state = 'failed';
  }

  hide(): void {
    clearInterval(this.#timer);
    this.#root.hidden = true;
  }
}
