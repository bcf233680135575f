import { describe, expect, it } from 'vitest';
import { coerceValue, extractOptions, parseOptions } from '../../cli/args.js';
import type { OptionSpec } from '../../cli/command.js';
import { GLOBAL_OPTIONS } from '../../cli/globals.js';

const specs: readonly OptionSpec[] = [
  { name: 'size', type: 'integer', description: 'd', min: 1 },
  { name: 'rate', type: 'number', description: 'd', default: 0.5 },
  { name: 'mode', type: 'enum', choices: ['fast', 'slow'], description: 'd', default: 'fast' },
  { name: 'fp16', type: 'boolean', description: 'd' },
  { name: 'cache', type: 'boolean', description: 'd', default: true },
  { name: 'model', type: 'path', description: 'd' },
  { name: 'tag', type: 'string', description: 'd', repeatable: true },
  { name: 'name', type: 'string', description: 'd' },
];
const opts = { context: 'sample:echo', cwd: '/work' };
const parse = (tokens: string[], extra: Partial<typeof opts> & Record<string, unknown> = {}) =>
  parseOptions(tokens, specs, { ...opts, ...extra });

describe('parseOptions', () => {
  it('fills defaults: booleans false, repeatables empty, unset optional values absent', () => {
    expect(parse([])).toEqual({ rate: 0.5, mode: 'fast', fp16: false, cache: true, tag: [] });
  });

  it('accepts --name value and --name=value, coercing by type', () => {
    const v = parse(['--size', '3', '--rate=1e-3', '--mode', 'slow', '--name=a=b', '--model', 'm/x']);
    expect(v).toMatchObject({ size: 3, rate: 0.001, mode: 'slow', name: 'a=b', model: '/work/m/x' });
  });

  it('takes booleans as flags, --no-name, or explicit values', () => {
    expect(parse(['--fp16', '--no-cache'])).toMatchObject({ fp16: true, cache: false });
    expect(parse(['--fp16=false', '--cache=yes'])).toMatchObject({ fp16: false, cache: true });
    // A flag never swallows the next token.
    expect(() => parse(['--fp16', 'true'])).toThrow(/unexpected argument 'true'/);
  });

  it('collects repeatable options in order', () => {
    expect(parse(['--tag', 'a', '--tag=b']).tag).toEqual(['a', 'b']);
  });

  it('reads negative numbers as values, but not a following option', () => {
    expect(parse(['--rate', '-2.5']).rate).toBe(-2.5);
    expect(() => parse(['--name', '--size', '3'])).toThrow('sample:echo: --name needs a value (a string)');
    expect(() => parse(['--size'])).toThrow('--size needs a value (an integer)');
  });

  it('rejects badly typed values with the option, the expectation and the value', () => {
    expect(() => parse(['--size', 'abc'])).toThrow("--size: expected an integer, got 'abc'");
    expect(() => parse(['--size', '2.5'])).toThrow("--size: expected an integer, got '2.5'");
    expect(() => parse(['--size', '0'])).toThrow('--size: 0 is below the minimum 1');
    expect(() => parse(['--rate', 'fast'])).toThrow("--rate: expected a number, got 'fast'");
    expect(() => parse(['--fp16=maybe'])).toThrow("--fp16: expected true or false, got 'maybe'");
    expect(() => parse(['--mode', 'slwo'])).toThrow(
      "--mode: expected one of fast, slow, got 'slwo'. Did you mean: slow?",
    );
    expect(() => parse(['--model='])).toThrow("--model: expected a path, got ''");
  });

  it('rejects unknown options with did-you-mean, including global option names', () => {
    expect(() => parse(['--sise', '3'])).toThrow('unknown option --sise. Did you mean: --size?');
    expect(() => parse(['--jsn'], { otherNames: ['json'] })).toThrow('Did you mean: --json?');
    expect(() => parse(['--no-size'])).toThrow('unknown option --no-size');
    expect(() => parse(['--bogus'])).toThrow("unknown option --bogus. Run 'sample:echo --help' for the options.");
  });

  it('rejects stray arguments and a single value given twice', () => {
    expect(() => parse(['extra'])).toThrow("unexpected argument 'extra'");
    expect(() => parse(['-s', '3'])).toThrow('options take two dashes');
    expect(() => parse(['--', 'a', 'b'])).toThrow("unexpected arguments 'a' 'b'");
    expect(() => parse(['--size', '1', '--size', '2'])).toThrow("--size was given twice ('1' and '2')");
  });

  it('fills the positional option from bare words, joined, also after --', () => {
    const withWords = { positional: 'name' };
    expect(parse(['quantize', '4', 'bit', '--size', '2'], withWords)).toMatchObject({
      name: 'quantize 4 bit',
      size: 2,
    });
    expect(parse(['--', '--not-an-option', 'x'], withWords)).toMatchObject({ name: '--not-an-option x' });
    expect(parse(['--name', 'given'], withWords)).toMatchObject({ name: 'given' });
    expect(() => parse(['a', '--name', 'b'], withWords)).toThrow('give the name either as bare words or with --name');
    expect(() => parse(['-x'], withWords)).toThrow('options take two dashes');
  });

  it('enforces required options after defaults and config values', () => {
    const required: OptionSpec[] = [
      { name: 'input', type: 'path', description: 'd', required: true, valueName: 'file' },
    ];
    expect(() => parseOptions([], required, opts)).toThrow('sample:echo: missing required option --input <file>');
    expect(parseOptions([], required, { ...opts, defaults: { input: 'a.jsonl' }, defaultsBase: '/cfg' })).toEqual({
      input: '/cfg/a.jsonl',
    });
  });

  it('lets command-line values win over config values, and checks config values and keys', () => {
    const defaults = { size: 4, mode: 'slow', tag: 'x' };
    expect(parse(['--size', '2'], { defaults })).toMatchObject({ size: 2, mode: 'slow', tag: ['x'] });
    expect(() => parse([], { defaults: { size: 'big' }, defaultsSource: 'config eai.yaml' })).toThrow(
      "config eai.yaml: size: expected an integer, got 'big'",
    );
    expect(() => parse([], { defaults: { szie: 3 }, defaultsSource: 'config eai.yaml' })).toThrow(
      "config eai.yaml: 'szie' is not an option of sample:echo. Did you mean: size?",
    );
  });
});

describe('coerceValue', () => {
  it('accepts typed values from config files', () => {
    expect(coerceValue(specs[0], 7, 'x', '/')).toBe(7);
    expect(coerceValue(specs[3], true, 'x', '/')).toBe(true);
    expect(() => coerceValue(specs[0], Number.POSITIVE_INFINITY, 'x', '/')).toThrow('x: expected an integer');
  });
});

describe('extractOptions', () => {
  it('pulls global options from anywhere before --, leaving the rest in order', () => {
    const { values, rest } = extractOptions(
      ['--backend', 'js', 'sample:echo', '--size', '3', '--json', '--log-level=debug', '--', '--json'],
      GLOBAL_OPTIONS,
      'cli',
      '/',
    );
    expect(values).toEqual({ backend: 'js', json: true, 'log-level': 'debug' });
    expect(rest).toEqual(['sample:echo', '--size', '3', '--', '--json']);
  });

  it('validates global values', () => {
    expect(() => extractOptions(['--log-level', 'loud'], GLOBAL_OPTIONS, 'cli', '/')).toThrow(
      "--log-level: expected one of debug, info, warn, error, silent, got 'loud'",
    );
  });
});
