import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../core/errors.js';
import { cachePath, ModelNotFoundError, resolveModelFile, sha256File } from '../../../node/models/cache.js';
import { getModel } from '../../../node/models/registry.js';

let root: string;
let models: string;
let cache: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'eai-cache-'));
  models = join(root, 'models');
  cache = join(root, 'cache');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function put(dir: string, rel: string, text: string): string {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

describe('resolveModelFile', () => {
  it('prefers EAI_MODELS_DIR, then the cache (EAI_CACHE_DIR)', () => {
    const env = { EAI_MODELS_DIR: models, EAI_CACHE_DIR: cache };
    const inCache = put(cache, 'stories260K/tok512.bin', 'c');
    expect(resolveModelFile('stories260K', 'tok512.bin', { env })).toMatchObject({ path: inCache, source: 'cache' });
    const inModels = put(models, 'stories260K/tok512.bin', 'm');
    expect(resolveModelFile('stories260K', 'tok512.bin', { env })).toMatchObject({
      path: inModels,
      source: 'models-dir',
    });
    // The first file is the default; an explicit null skips the models folder.
    put(cache, 'stories260K/stories260K.bin', 'c');
    expect(resolveModelFile('stories260K', undefined, { env }).file.path).toBe('stories260K.bin');
    expect(resolveModelFile('stories260K', 'tok512.bin', { env, modelsDir: null }).source).toBe('cache');
  });

  it('ignores empty files and partial downloads', () => {
    put(models, 'stories260K/tok512.bin', '');
    put(cache, 'stories260K/tok512.bin.partial', 'half');
    const err = (() => {
      try {
        resolveModelFile('stories260K', 'tok512.bin', { env: { EAI_CACHE_DIR: cache }, modelsDir: models });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as Error).message).toContain('an interrupted download is in the cache and will resume');
  });

  it('says where it looked and how to get the file', () => {
    const env = { EAI_MODELS_DIR: join(root, 'missing'), EAI_CACHE_DIR: cache };
    let err: unknown;
    try {
      resolveModelFile('fast-neural-style-candy', undefined, { env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err).toBeInstanceOf(UsageError);
    const e = err as ModelNotFoundError;
    expect(e.looked).toEqual([
      join(root, 'missing/fast-neural-style/candy.onnx'),
      join(cache, 'fast-neural-style/candy.onnx'),
    ]);
    expect(e.message).toBe(
      `model file fast-neural-style/candy.onnx (model "fast-neural-style-candy") not found; looked in ${e.looked[0]} and ${e.looked[1]} ` +
        `(EAI_MODELS_DIR=${join(root, 'missing')} does not exist). Download it with ` +
        '`efficientai-toolkit models:download --name fast-neural-style-candy`, or set EAI_MODELS_DIR to a folder containing ' +
        'fast-neural-style/candy.onnx.',
    );
  });

  it('places cache files in <cache>/<folder>/<file>', () => {
    expect(cachePath(getModel('mobilenet-v1-0.25-128-quant'), 'imagenet_labels.txt', '/c')).toBe(
      '/c/mobilenet/imagenet_labels.txt',
    );
  });
});

describe('sha256File', () => {
  it('matches the published SHA-256 of "abc"', async () => {
    const p = put(root, 'abc.txt', 'abc');
    expect(await sha256File(p)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
