import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { UsageError } from '../../core/errors.js';
import {
  ConfigError,
  coerceString,
  describeSchema,
  envBindings,
  loadConfig,
  parseConfigText,
  parseOverrides,
} from '../../node/config.js';

const Schema = z.object({
  seed: z.number().int().default(0),
  model: z.string().min(1),
  lora: z
    .object({
      rank: z.number().int().positive().default(8),
      alpha: z.number().positive().default(16),
      targets: z.array(z.string()).default(['q', 'v']),
      dropout: z.number().min(0).max(1).nullable().default(null),
    })
    .default({ rank: 8, alpha: 16, targets: ['q', 'v'], dropout: null }),
  train: z
    .object({ learningRate: z.number().positive().default(1e-4), fp16: z.boolean().default(false) })
    .default({ learningRate: 1e-4, fp16: false }),
  mode: z.enum(['fast', 'slow']).default('fast'),
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eai-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(UsageError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('file formats', () => {
  const expected = { model: 'm', lora: { rank: 4, targets: ['q', 'k'] }, train: { fp16: true } };
  it('reads the same settings from YAML, TOML and JSON', () => {
    const y = file('c.yaml', 'model: m\nlora:\n  rank: 4\n  targets: [q, k]\ntrain:\n  fp16: true\n');
    const t = file('c.toml', 'model = "m"\n[lora]\nrank = 4\ntargets = ["q", "k"]\n[train]\nfp16 = true\n');
    const j = file('c.json', JSON.stringify(expected));
    const want = {
      seed: 0,
      model: 'm',
      lora: { rank: 4, alpha: 16, targets: ['q', 'k'], dropout: null },
      train: { learningRate: 1e-4, fp16: true },
      mode: 'fast',
    };
    for (const f of [y, t, j]) expect(loadConfig({ schema: Schema, file: f, env: {} })).toEqual(want);
    expect(loadConfig({ schema: Schema, file: file('c.yml', 'model: m\n'), env: {} }).model).toBe('m');
  });

  it('rejects unknown extensions, missing files and non-table documents', () => {
    expect(errorOf(() => loadConfig({ schema: Schema, file: join(dir, 'c.ini'), env: {} })).message).toBe(
      `${join(dir, 'c.ini')}: unknown config format ".ini"; use .yaml, .yml, .toml or .json`,
    );
    expect(errorOf(() => loadConfig({ schema: Schema, file: join(dir, 'nope.yaml'), env: {} })).message).toBe(
      `config file not found: ${join(dir, 'nope.yaml')}`,
    );
    expect(errorOf(() => parseConfigText('- a\n- b\n', 'yaml', 'l.yaml')).message).toBe(
      'l.yaml: the top level must be a table of settings, got a list',
    );
    expect(parseConfigText('', 'yaml', 'e.yaml')).toEqual({});
    expect(parseConfigText('\ufeff{"a":1}', 'json', 'bom.json')).toEqual({ a: 1 });
  });

  it('reports syntax errors with line and column', () => {
    expect(errorOf(() => parseConfigText('{\n  "a": 1,\n  "b": }\n', 'json', 'x.json')).message).toBe(
      'x.json:3:8: unexpected "}"',
    );
    expect(errorOf(() => parseConfigText('{"a": 1\n', 'json', 'x.json')).message).toBe(
      "x.json:2:1: expected ',' or '}' before the end of input",
    );
    expect(errorOf(() => parseConfigText('a: 1\na: 2\n', 'yaml', 'x.yaml')).message).toBe(
      'x.yaml:2:1: Map keys must be unique',
    );
    expect(errorOf(() => parseConfigText('a = 1\n[b]\nc = \n', 'toml', 'x.toml')).message).toBe(
      'x.toml:3:5: invalid value',
    );
  });
});

describe('validation messages', () => {
  it('names key path, expectation, value and file', () => {
    const f = file('bad.yaml', 'model: m\nlora:\n  rank: -3\n');
    expect(errorOf(() => loadConfig({ schema: Schema, file: f, env: {} })).message).toBe(
      `lora.rank: expected a positive integer, got -3 in ${f}`,
    );
  });

  it('collects several problems, including enums, booleans, list items and missing keys', () => {
    const f = file(
      'many.json',
      JSON.stringify({ lora: { dropout: 2, targets: ['q', 3] }, mode: 'medium', train: { fp16: 'yes' } }),
    );
    const err = errorOf(() => loadConfig({ schema: Schema, file: f, env: {} }));
    expect([...err.problems].sort()).toEqual(
      [
        `model: required (a non-empty string) but not set; set it in ${f} or with EAI_MODEL`,
        `lora.targets[1]: expected a string, got 3 in ${f}`,
        `lora.dropout: expected a number >= 0 and <= 1 or null, got 2 in ${f}`,
        `train.fp16: expected true or false, got "yes" in ${f}`,
        `mode: expected one of "fast", "slow", got "medium" in ${f}`,
      ].sort(),
    );
    expect(err.message.split('\n')[0]).toBe('5 problems in the configuration:');
  });

  it('rejects unknown keys with a suggestion when one is close', () => {
    const f = file('typo.toml', 'model = "m"\nseeed = 1\n[lora]\nrnak = 2\n[extra]\nx = 1\n');
    const err = errorOf(() => loadConfig({ schema: Schema, file: f, env: {} }));
    expect([...err.problems].sort()).toEqual(
      [
        `seeed: unknown key in ${f} (did you mean "seed"?)`,
        `lora.rnak: unknown key in ${f} (did you mean "rank"?)`,
        `extra: unknown key in ${f}`,
      ].sort(),
    );
  });

  it('describes common schemas in words', () => {
    expect(describeSchema(z.number().int().min(1))).toBe('a positive integer');
    expect(describeSchema(z.number().nonnegative())).toBe('a non-negative number');
    expect(describeSchema(z.int().max(5).optional())).toBe('an integer <= 5');
    expect(describeSchema(z.union([z.literal('auto'), z.number()]))).toBe('"auto" or a number');
  });
});

describe('layers: defaults < file < profile < env < overrides', () => {
  const f = (): string =>
    file(
      'layers.yaml',
      [
        'model: from-file',
        'seed: 1',
        'lora: { rank: 2, alpha: 4 }',
        'profiles:',
        '  big: { lora: { rank: 64 }, seed: 2 }',
        '  tiny: { lora: { rank: 1 } }',
        '',
      ].join('\n'),
    );

  it('applies each layer over the previous one, key by key', () => {
    const base = { schema: Schema, file: f(), defaults: { mode: 'slow' as const, seed: 99 } };
    const c0 = loadConfig({ ...base, env: {} });
    expect([c0.mode, c0.seed, c0.lora.rank, c0.lora.alpha]).toEqual(['slow', 1, 2, 4]);
    const c1 = loadConfig({ ...base, env: {}, profile: 'big' });
    expect([c1.seed, c1.lora.rank, c1.lora.alpha]).toEqual([2, 64, 4]);
    const c2 = loadConfig({ ...base, env: { EAI_PROFILE: 'tiny', EAI_SEED: '7' } });
    expect([c2.seed, c2.lora.rank]).toEqual([7, 1]);
    const c3 = loadConfig({
      ...base,
      profile: 'big',
      env: {
        EAI_LORA__RANK: '16',
        EAI_TRAIN__LEARNING_RATE: '3e-4',
        EAI_TRAIN__FP16: 'on',
        EAI_LORA__TARGETS: 'q, k,v',
      },
      overrides: { lora: { rank: 32 } },
    });
    expect([c3.seed, c3.lora.rank, c3.lora.alpha, c3.train.learningRate, c3.train.fp16, c3.lora.targets]).toEqual([
      2,
      32,
      4,
      3e-4,
      true,
      ['q', 'k', 'v'],
    ]);
  });

  it('says which profile names exist when the selected one does not', () => {
    expect(errorOf(() => loadConfig({ schema: Schema, file: f(), env: { EAI_PROFILE: 'bgi' } })).message).toBe(
      `profile "bgi" (selected by EAI_PROFILE) not found in ${join(dir, 'layers.yaml')} (did you mean "big"?); profiles there: big, tiny`,
    );
    expect(errorOf(() => loadConfig({ schema: Schema, env: {}, profile: 'big' })).message).toMatch(/no config file/);
  });

  it('names the variable when an environment value is wrong, and catches misspelt section variables', () => {
    const env = { EAI_LORA__RANK: 'lots', EAI_MODEL: 'm' };
    expect(errorOf(() => loadConfig({ schema: Schema, env })).message).toBe(
      'lora.rank: expected a positive integer, got "lots" from environment variable EAI_LORA__RANK',
    );
    expect(errorOf(() => loadConfig({ schema: Schema, env: { EAI_MODEL: 'm', EAI_LORA__RANKK: '3' } })).message).toBe(
      'EAI_LORA__RANKK: no such setting (did you mean "EAI_LORA__RANK"?)',
    );
    // Unrelated EAI_* settings of other parts of the toolkit are not errors.
    expect(
      loadConfig({ schema: Schema, env: { EAI_MODEL: 'm', EAI_MODELS_DIR: '/x', EAI_LOG_LEVEL: 'debug' } }).model,
    ).toBe('m');
  });

  it('labels explicit overrides in messages', () => {
    const err = errorOf(() =>
      loadConfig({ schema: Schema, env: {}, overrides: { model: 'm', lora: { rank: 0 } }, overridesSource: '--rank' }),
    );
    expect(err.message).toBe('lora.rank: expected a positive integer, got 0 from --rank');
  });
});

describe('environment mapping and coercion', () => {
  it('lists one variable per leaf key', () => {
    expect(envBindings(Schema).map((b) => b.name)).toEqual([
      'EAI_SEED',
      'EAI_MODEL',
      'EAI_LORA__RANK',
      'EAI_LORA__ALPHA',
      'EAI_LORA__TARGETS',
      'EAI_LORA__DROPOUT',
      'EAI_TRAIN__LEARNING_RATE',
      'EAI_TRAIN__FP16',
      'EAI_MODE',
    ]);
    expect(envBindings(z.object({ batch_size: z.number() }), 'X_')).toEqual([
      { name: 'X_BATCH_SIZE', path: ['batch_size'] },
    ]);
  });

  it('coerces strings per schema and leaves unconvertible ones alone', () => {
    expect(coerceString('12', z.number())).toBe(12);
    expect(coerceString('-1.5e3', z.number().optional())).toBe(-1500);
    expect(coerceString('12abc', z.number())).toBe('12abc');
    expect(coerceString('NO', z.boolean())).toBe(false);
    expect(coerceString('null', z.number().nullable())).toBeNull();
    expect(coerceString('null', z.string())).toBe('null');
    expect(coerceString('[1,2]', z.array(z.number()))).toEqual([1, 2]);
    expect(coerceString('1, 2', z.array(z.number()))).toEqual([1, 2]);
    expect(coerceString('42', z.union([z.literal('auto'), z.number()]))).toBe(42);
    expect(coerceString('auto', z.union([z.literal('auto'), z.number()]))).toBe('auto');
    expect(coerceString('007', z.string())).toBe('007');
  });

  it('parses key=value overrides with suggestions for unknown keys', () => {
    expect(parseOverrides(['lora.rank=4', 'train.fp16=true', 'model=a=b'], Schema)).toEqual({
      lora: { rank: 4 },
      train: { fp16: true },
      model: 'a=b',
    });
    expect(errorOf(() => parseOverrides(['lora.rnak=4', 'oops'], Schema)).problems).toEqual([
      'lora.rnak: unknown key (did you mean "rank"?)',
      '"oops": expected key=value, e.g. lora.rank=8',
    ]);
  });
});

describe('hostile input', () => {
  it('reports a __proto__ key as unknown instead of letting it change what is validated', () => {
    for (const [name, text] of [
      ['p.json', '{"model": "m", "__proto__": {"seed": 5}}'],
      ['p.yaml', 'model: m\n__proto__:\n  seed: 5\n'],
    ]) {
      const f = file(name, text);
      expect(errorOf(() => loadConfig({ schema: Schema, file: f, env: {} })).message).toBe(
        `__proto__: unknown key in ${f}`,
      );
    }
    expect(({} as Record<string, unknown>).seed).toBeUndefined();
  });
});
