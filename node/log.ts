/**
 * Structured logging: concise human lines by default, JSON lines for machines.
 *
 * Human: `warning: disk almost full free=1.2GB` (info has no prefix; colors only on a TTY and never when
 * `NO_COLOR` is set). JSON: one object per line, `{"ts":"…","level":"warn","msg":"…",...fields}`.
 * @module
 */
import type { Env } from './paths.js';

/** Severity, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Output format: `human` for people, `json` for one JSON object per line. */
export type LogFormat = 'human' | 'json';
/** Structured context attached to a record. Keys `ts`, `level`, `msg` are reserved and get a `_` prefix. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Where records go: anything with `write(string)`, like `process.stderr`. */
export interface LogStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Default `human`. */
  format?: LogFormat;
  /** Records below this level are dropped; `silent` drops all. Default `info`. */
  level?: LogLevel | 'silent';
  /** Default `process.stderr`, so stdout stays clean for command output. */
  stream?: LogStream;
  /** Force colors on or off; default: on only when the stream is a TTY and `NO_COLOR` is unset or empty. */
  color?: boolean;
  /** Fields bound to every record. */
  fields?: LogFields;
  /** Read for `NO_COLOR`; default `process.env`. */
  env?: Env;
  /** Time source for `ts`; default `() => new Date()`. */
  clock?: () => Date;
}

/** A logger; see {@link createLogger}. */
export interface Logger {
  readonly level: LogLevel | 'silent';
  readonly format: LogFormat;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether a record at `level` would be written (to skip building expensive fields). */
  enabled(level: LogLevel): boolean;
  /** A logger with the same settings and `fields` bound in addition to this one's. */
  child(fields: LogFields): Logger;
}

/** All levels, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const RANK: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const RESERVED = new Set(['ts', 'level', 'msg']);

/**
 * Parse a level name given by a user (flag or environment variable).
 * @throws Error naming the bad value and the accepted ones.
 */
export function parseLogLevel(value: string, source = 'log level'): LogLevel | 'silent' {
  const v = value.trim().toLowerCase();
  if (v === 'warning') return 'warn';
  if (Object.hasOwn(RANK, v)) return v as LogLevel | 'silent';
  throw new Error(`${source}: unknown level "${value}"; use one of debug, info, warn, error, silent`);
}

/** Whether colors should be used on `stream`, honouring https://no-color.org. */
export function useColor(stream: LogStream, env: Env = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

const ANSI = { dim: '\x1b[2m', red: '\x1b[31m', yellow: '\x1b[33m', reset: '\x1b[0m' } as const;
const PREFIX: Record<LogLevel, string> = { debug: 'debug: ', info: '', warn: 'warning: ', error: 'error: ' };
const PREFIX_COLOR: Record<LogLevel, string> = { debug: ANSI.dim, info: '', warn: ANSI.yellow, error: ANSI.red };

/** JSON.stringify that never throws: bigints become strings, cycles `"[Circular]"`, errors plain objects. */
export function safeJson(value: unknown): string {
  // Ancestor tracking (not a global "seen" set) so an object shared by two siblings is not called circular.
  const ancestors: unknown[] = [];
  return (
    JSON.stringify(value, function (this: unknown, _key, raw: unknown) {
      let v = raw;
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) {
        const out: Record<string, unknown> = { name: v.name, message: v.message };
        if (v.stack) out.stack = v.stack;
        if ('code' in v) out.code = v.code;
        v = out;
      } else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        return `[${v.constructor.name} length=${(v as unknown as ArrayLike<unknown>).length}]`;
      }
      if (v === null || typeof v !== 'object') return v;
      while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
      if (ancestors.includes(v)) return '[Circular]';
      ancestors.push(v);
      return v;
    }) ?? 'null'
  );
}

function humanValue(v: unknown): string {
  if (v instanceof Error) return humanValue(v.message);
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v == null) return String(v);
  return safeJson(v);
}

/**
 * Create a logger.
 * @example
 * const log = createLogger({ format: 'json', level: 'debug' });
 * log.child({ model: 'stories260K' }).info('loaded', { ms: 12 });
 * // {"ts":"2025-01-01T00:00:00.000Z","level":"info","msg":"loaded","model":"stories260K","ms":12}
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'human';
  const level = options.level ?? 'info';
  const stream = options.stream ?? process.stderr;
  const color = options.color ?? useColor(stream, options.env);
  const clock = options.clock ?? (() => new Date());

  const make = (bound: LogFields): Logger => {
    const write = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
      if (RANK[lvl] < RANK[level]) return;
      const all = fields ? { ...bound, ...fields } : bound;
      let line: string;
      if (format === 'json') {
        const rec: Record<string, unknown> = { ts: clock().toISOString(), level: lvl, msg };
        for (const [k, v] of Object.entries(all)) rec[RESERVED.has(k) ? `_${k}` : k] = v;
        line = safeJson(rec);
      } else {
        const prefix = color && PREFIX_COLOR[lvl] ? PREFIX_COLOR[lvl] + PREFIX[lvl] + ANSI.reset : PREFIX[lvl];
        const kv = Object.entries(all)
          .map(([k, v]) => `${k}=${humanValue(v)}`)
          .join(' ');
        const tail = kv ? ` ${color ? ANSI.dim + kv + ANSI.reset : kv}` : '';
        line = prefix + msg + tail;
        // A stack is noise for users but essential when debugging.
        if (level === 'debug') {
          for (const v of Object.values(all)) if (v instanceof Error && v.stack) line += `\n${v.stack}`;
        }
      }
      stream.write(`${line}\n`);
    };
    return {
      level,
      format,
      debug: (m, f) => write('debug', m, f),
      info: (m, f) => write('info', m, f),
      warn: (m, f) => write('warn', m, f),
      error: (m, f) => write('error', m, f),
      enabled: (lvl) => RANK[lvl] >= RANK[level],
      child: (fields) => make({ ...bound, ...fields }),
    };
  };
  return make(options.fields ?? {});
}
