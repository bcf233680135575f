/**
 * Progress reporting for long work (downloads, batches).
 *
 * On a TTY one line is redrawn in place (percent, amount, rate, ETA; throttled). Elsewhere (CI logs, pipes) a
 * line is printed only every `milestonePercent` percent and at the end, so logs stay short; with an unknown total
 * only the final line appears. With `format: 'json'` those lines are JSON objects shaped like the logger's.
 * @module
 */
import { type LogFormat, type LogStream, safeJson } from './log.js';

/** A stream the bar can draw on; `columns` (as on `process.stderr`) limits the line width. */
export interface ProgressStream extends LogStream {
  columns?: number;
}

/** Options for {@link createProgress}. */
export interface ProgressOptions {
  /** Default `process.stderr`. */
  stream?: ProgressStream;
  /** `json` never redraws and writes JSON lines. Default `human`. */
  format?: LogFormat;
  /** `bytes` formats amounts as KiB/MiB/GiB; any other string names the items (default `items`). */
  unit?: string;
  /** Override the stream's `isTTY` (e.g. to force plain lines). */
  tty?: boolean;
  /** Print nothing at all. */
  quiet?: boolean;
  /** Non-TTY: a line each time this many percent more are done. Default 10. */
  milestonePercent?: number;
  /** TTY: minimum milliseconds between redraws. Default 100. */
  redrawMs?: number;
  /** Clock in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

/** One unit of long work; see {@link createProgress}. */
export interface Progress {
  /** Begin (or restart) with `total` units (`undefined` when unknown) and `initial` already done (a resumed download). */
  start(total: number | undefined, label: string, initial?: number): void;
  /** `n` more units done (default 1). */
  tick(n?: number): void;
  /** Finish: final line with the amount and elapsed time. Further calls do nothing. */
  done(): void;
  /** Stop without a summary (e.g. before printing an error); clears the TTY line. */
  abort(): void;
  readonly current: number;
  readonly total: number | undefined;
}

const WINDOW_MS = 5000;

/** `1536` → `1.5 KiB`; binary units, one decimal. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '? B';
  if (Math.abs(n) < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Seconds → `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Create a progress reporter. Call {@link Progress.start} once the total is known (or known to be unknown). */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? 'human';
  const unit = options.unit ?? 'items';
  const now = options.now ?? Date.now;
  const tty = format === 'human' && (options.tty ?? stream.isTTY === true);
  const quiet = options.quiet ?? false;
  const step = options.milestonePercent ?? 10;
  const redrawMs = options.redrawMs ?? 100;

  let label = '';
  let total: number | undefined;
  let current = 0;
  let startedAt = 0;
  let initial = 0;
  let lastDraw = -Infinity;
  let lastMilestone = 0;
  let active = false;
  let drawn = false;
  // (time, amount) samples of the last few seconds: the rate follows speed changes without jittering.
  let samples: Array<[number, number]> = [];

  const amount = (n: number): string => (unit === 'bytes' ? formatBytes(n) : String(n));
  const amountOf = (): string =>
    total === undefined
      ? unit === 'bytes'
        ? amount(current)
        : `${current} ${unit}`
      : unit === 'bytes'
        ? `${amount(current)}/${amount(total)}`
        : `${current}/${total} ${unit}`;
  const rate = (t: number): number | undefined => {
    const [t0, c0] = samples[0] ?? [t, current];
    return t > t0 ? ((current - c0) * 1000) / (t - t0) : undefined;
  };
  const rateText = (r: number | undefined): string =>
    r === undefined ? '' : unit === 'bytes' ? `${formatBytes(r)}/s` : `${r.toFixed(1)} ${unit}/s`;
  const percent = (): number | undefined =>
    total === undefined ? undefined : total > 0 ? Math.min(100, (100 * current) / total) : 100;

  const emit = (msg: string, t: number, fields: Record<string, unknown>): void => {
    if (format === 'json') {
      stream.write(`${safeJson({ ts: new Date(t).toISOString(), level: 'info', msg, label, ...fields })}\n`);
    }
  };

  const drawTty = (t: number): void => {
    const pct = percent();
    const r = rate(t);
    const parts: string[] = [];
    if (pct !== undefined) parts.push(`${pct.toFixed(0).padStart(3)}%`);
    parts.push(amountOf());
    const rt = rateText(r);
    if (rt) parts.push(rt);
    if (total !== undefined && r !== undefined && r > 0) parts.push(`ETA ${formatDuration((total - current) / r)}`);
    const right = parts.join(' ');
    const cols = Math.max(20, (stream.columns ?? 80) - 1);
    const barWidth = Math.min(30, cols - label.length - right.length - 4);
    let line = label;
    if (pct !== undefined && barWidth >= 10) {
      const filled = Math.round((barWidth * pct) / 100);
      line += ` [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
    }
    line = `${line} ${right}`.slice(0, cols);
    stream.write(`\r${line}\x1b[K`);
    drawn = true;
    lastDraw = t;
  };

  const milestone = (t: number): void => {
    const pct = percent();
    if (pct === undefined || step <= 0) return;
    const reached = Math.floor(pct / step) * step;
    if (reached <= lastMilestone || reached >= 100) return;
    lastMilestone = reached;
    const r = rate(t);
    // The milestone decides when to print; the line says where the work is (1/4 is 25%, not the 20% milestone).
    const shown = Math.floor(pct);
    if (format === 'json') {
      emit('progress', t, { current, total, percent: shown, rate: r === undefined ? null : Math.round(r) });
    } else {
      const rt = rateText(r);
      stream.write(`${label}: ${shown}% (${amountOf()}${rt ? `, ${rt}` : ''})\n`);
    }
  };

  return {
    get current() {
      return current;
    },
    get total() {
      return total;
    },
    start(t, l, init = 0) {
      label = l;
      total = t;
      current = init;
      initial = init;
      startedAt = now();
      samples = [[startedAt, current]];
      lastDraw = -Infinity;
      lastMilestone = Math.floor((percent() ?? 0) / (step > 0 ? step : 100)) * step;
      active = true;
      drawn = false;
      if (!quiet && tty) drawTty(startedAt);
    },
    tick(n = 1) {
      if (!active) return;
      current += n;
      const t = now();
      samples.push([t, current]);
      while (samples.length > 2 && t - samples[1][0] >= WINDOW_MS) samples.shift();
      if (quiet) return;
      if (tty) {
        if (t - lastDraw >= redrawMs) drawTty(t);
      } else milestone(t);
    },
    done() {
      if (!active) return;
      active = false;
      if (quiet) return;
      const t = now();
      const secs = (t - startedAt) / 1000;
      if (tty) {
        drawTty(t);
        stream.write('\n');
        return;
      }
      const avg = secs > 0 ? ((current - initial) * 1000) / (t - startedAt) : undefined;
      if (format === 'json') {
        emit('done', t, { current, total, seconds: secs, rate: avg === undefined ? null : Math.round(avg) });
      } else {
        const rt = rateText(avg);
        stream.write(`${label}: done, ${amountOf()} in ${secs.toFixed(1)}s${rt ? ` (${rt})` : ''}\n`);
      }
    },
    abort() {
      if (!active) return;
      active = false;
      if (!quiet && tty && drawn) stream.write('\r\x1b[K');
    },
  };
}
