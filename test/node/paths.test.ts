import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, defaultModelsDir, repoRoot } from '../../node/paths.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

describe('paths', () => {
  it('finds the repository root from the module location', () => {
    expect(repoRoot()).toBe(ROOT);
  });

  it('uses EAI_MODELS_DIR, else ../shared/models when it exists', () => {
    expect(defaultModelsDir({ EAI_MODELS_DIR: 'rel/models' })).toBe(resolve('rel/models'));
    expect(defaultModelsDir({})).toBe(resolve(ROOT, '../shared/models'));
  });

  it('uses EAI_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultCacheDir({ EAI_CACHE_DIR: '/tmp/c', XDG_CACHE_HOME: '/x' })).toBe('/tmp/c');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/efficientai-toolkit');
    expect(defaultCacheDir({})).toBe(join(homedir(), '.cache', 'efficientai-toolkit'));
  });
});
