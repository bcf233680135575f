import { describe, expect, it } from 'vitest';
import { createLogger, type LogStream, parseLogLevel, safeJson, useColor } from '../../node/log.js';

class Capture implements LogStream {
  chunks: string[] = [];
  constructor(public isTTY = false) {}
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const fixedClock = (): Date => new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));

describe('createLogger human format', () => {
  it('writes concise lines with level prefixes and key=value fields, filtered by level', () => {
    const out = new Capture();
    const log = createLogger({ stream: out });
    log.debug('hidden');
    log.info('loaded model', { name: 'stories260K', params: 260000 });
    log.warn('slow path', { reason: 'no simd' });
    log.error('failed', { err: new Error('boom') });
    expect(out.text).toBe(
      'loaded model name=stories260K params=260000\n' +
        'warning: slow path reason="no simd"\n' +
        'error: failed err=boom\n',
    );
  });

  it('uses no escape codes unless the stream is a TTY and NO_COLOR is unset', () => {
    const tty = new Capture(true);
    createLogger({ stream: tty, env: {} }).warn('w', { a: 1 });
    expect(tty.text).toBe('\x1b[33mwarning: \x1b[0mw \x1b[2ma=1\x1b[0m\n');
    const noColor = new Capture(true);
    createLogger({ stream: noColor, env: { NO_COLOR: '1' } }).warn('w');
    expect(noColor.text).toBe('warning: w\n');
    const pipe = new Capture(false);
    createLogger({ stream: pipe, env: {} }).error('e');
    expect(pipe.text).toBe('error: e\n');
    expect(useColor(tty, { NO_COLOR: '' })).toBe(true); // no-color.org: only a non-empty value disables
  });

  it('prints stacks of error fields only at debug level', () => {
    const out = new Capture();
    const err = new Error('bad');
    createLogger({ stream: out, level: 'debug' }).error('x', { err });
    expect(out.text.startsWith('error: x err=bad\nError: bad\n')).toBe(true);
  });

  it('silent drops everything; enabled() agrees with what is written', () => {
    const out = new Capture();
    const log = createLogger({ stream: out, level: 'silent' });
    log.error('nope');
    expect(out.text).toBe('');
    const warnLog = createLogger({ stream: out, level: 'warn' });
    expect([
      warnLog.enabled('debug'),
      warnLog.enabled('info'),
      warnLog.enabled('warn'),
      warnLog.enabled('error'),
    ]).toEqual([false, false, true, true]);
  });
});

describe('createLogger json format', () => {
  it('writes one parseable object per line with ts, level, msg and fields in order', () => {
    const out = new Capture(true);
    const log = createLogger({ stream: out, format: 'json', level: 'debug', clock: fixedClock });
    log.debug('a "quoted"\nline', { n: 1 });
    log.info('b', { msg: 'collides', level: 'x', nested: { k: [1, 2] } });
    const lines = out.text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]).toBe('{"ts":"2024-01-02T03:04:05.006Z","level":"debug","msg":"a \\"quoted\\"\\nline","n":1}');
    expect(JSON.parse(lines[1])).toEqual({
      ts: '2024-01-02T03:04:05.006Z',
      level: 'info',
      msg: 'b',
      _msg: 'collides',
      _level: 'x',
      nested: { k: [1, 2] },
    });
    expect(out.text).not.toContain('\x1b');
  });

  it('child loggers add bound fields, and call fields win over bound ones', () => {
    const out = new Capture();
    const root = createLogger({ stream: out, format: 'json', clock: fixedClock, fields: { app: 'eai' } });
    const child = root.child({ model: 'm', step: 0 }).child({ step: 1 });
    child.info('tick', { step: 2, loss: 0.5 });
    root.info('root');
    const [a, b] = out.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(a).toEqual({ ts: a.ts, level: 'info', msg: 'tick', app: 'eai', model: 'm', step: 2, loss: 0.5 });
    expect(b).toEqual({ ts: b.ts, level: 'info', msg: 'root', app: 'eai' });
  });

  it('never throws on bigints, cycles or typed arrays', () => {
    const cyc: Record<string, unknown> = { name: 'c' };
    cyc.self = cyc;
    const shared = { x: 1 };
    const out = new Capture();
    createLogger({ stream: out, format: 'json', clock: fixedClock }).info('odd', {
      big: 2n ** 70n,
      cyc,
      pair: [shared, shared],
      data: new Float32Array(3),
    });
    expect(JSON.parse(out.text)).toEqual({
      ts: '2024-01-02T03:04:05.006Z',
      level: 'info',
      msg: 'odd',
      big: '1180591620717411303424',
      cyc: { name: 'c', self: '[Circular]' },
      pair: [{ x: 1 }, { x: 1 }],
      data: '[Float32Array length=3]',
    });
    expect(JSON.parse(safeJson({ e: Object.assign(new Error('m'), { code: 'E1' }) })).e).toMatchObject({
      name: 'Error',
      message: 'm',
      code: 'E1',
    });
  });
});

describe('parseLogLevel', () => {
  it('accepts the level names (and "warning") case-insensitively and names bad values', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(parseLogLevel('warning')).toBe('warn');
    expect(parseLogLevel(' silent ')).toBe('silent');
    expect(() => parseLogLevel('toString')).toThrow(/unknown level/);
    expect(() => parseLogLevel('verbose', '--log-level')).toThrow(
      '--log-level: unknown level "verbose"; use one of debug, info, warn, error, silent',
    );
  });
});
