import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../core/errors.js';
import { resolveModel, verifyModelFile } from '../../../node/models/cache.js';
import { checkFormat } from '../../../node/models/formats.js';
import { getModel, getModelFile, listModels, MODELS } from '../../../node/models/registry.js';

// The reference copies, found independently of paths.ts: ../shared/models beside the repository.
const SHARED = resolve(fileURLToPath(new URL('../../../', import.meta.url)), '../shared/models');

/** `SHA256SUMS` of every shared model folder: "folder/file" -> checksum. */
function sharedSums(): Map<string, string> {
  const sums = new Map<string, string>();
  for (const folder of readdirSync(SHARED)) {
    const text = readFileSync(join(SHARED, folder, 'SHA256SUMS'), 'utf8');
    for (const line of text.trim().split('\n')) {
      const [sum, file] = line.trim().split(/\s+\*?/);
      sums.set(`${folder}/${file}`, sum);
    }
  }
  return sums;
}

/** Models with a reference copy in ../shared/models (the real Stable Diffusion weights have none). */
const LOCAL = MODELS.filter((m) => m.files.every((f) => f.localSha256 !== undefined));

describe('registry entries', () => {
  it('have unique names, https URLs, SPDX licences and an honest checksum field', () => {
    const names = MODELS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(listModels()).toBe(MODELS);
    for (const m of MODELS) {
      expect([
        'BSD-3-Clause',
        'Apache-2.0',
        'MIT',
        'CC0-1.0',
        'CreativeML-OpenRAIL-M',
        'LicenseRef-CreativeML-OpenRAIL++-M',
      ]).toContain(m.license);
      expect(m.licenseUrl).toMatch(/^https:\/\//);
      expect(m.files.length).toBeGreaterThan(0);
      for (const f of m.files) {
        if (f.url === null) expect(f.urlNote?.length ?? 0).toBeGreaterThan(20);
        else expect(f.url).toMatch(/^https:\/\/[^\s]+$/);
        if (f.sha256 === null) {
          // An unknown checksum must say why, and must not claim a source or an official size.
          expect(f.sha256Note?.length ?? 0).toBeGreaterThan(20);
          expect(f.sha256Source).toBeUndefined();
        } else {
          expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
          expect(f.sha256Source?.length ?? 0).toBeGreaterThan(10);
          expect(f.size).toBeGreaterThan(0);
        }
      }
    }
  });

  it('cover every model file in ../shared/models, with local checksums equal to its SHA256SUMS', () => {
    const sums = sharedSums();
    const covered = new Map<string, string | undefined>();
    for (const m of LOCAL) for (const f of m.files) covered.set(`${m.folder}/${f.path}`, f.localSha256);
    expect([...covered.keys()].sort()).toEqual([...sums.keys()].sort());
    for (const [key, sum] of sums) expect(covered.get(key), key).toBe(sum);
  });

  it('only the google-coral files claim the local copy is the official file', () => {
    for (const m of MODELS) {
      for (const f of m.files) {
        if (f.sha256 !== null && f.sha256 === f.localSha256) expect(f.url).toContain('google-coral/test_data/raw/');
      }
    }
    // The fast-neural-style rebuilds differ from the zoo files, so their official checksums must differ too.
    const udnie = getModelFile('fast-neural-style-udnie', 'udnie.onnx');
    expect(udnie.sha256).not.toBe(udnie.localSha256);
  });

  it('names close matches for unknown models and files', () => {
    expect(() => getModel('stories260k')).toThrow(UsageError);
    expect(() => getModel('stories260k')).toThrow(/did you mean "stories260K"/);
    expect(() => getModelFile('stories260K', 'tok521.bin')).toThrow(
      'model "stories260K" has no file "tok521.bin" (did you mean "tok512.bin"?); its files: stories260K.bin, tok512.bin',
    );
  });
});

describe('the real Stable Diffusion entries', () => {
  it('point at Hugging Face, state LFS checksums only for the weights a source gave, and have no local copy', () => {
    for (const name of ['sd-1.5', 'sd-2.1-base']) {
      const m = getModel(name);
      expect(LOCAL).not.toContain(m);
      for (const f of m.files) {
        expect(f.url).toMatch(/^https:\/\/huggingface\.co\//);
        if (f.sha256) expect(f.sha256Source).toMatch(/Git LFS pointer .* at commit [0-9a-f]{40}$/);
      }
      expect(m.files.map((f) => f.path)).toContain('model_index.json');
    }
    expect(getModelFile('sd-1.5', 'unet/diffusion_pytorch_model.fp16.safetensors').size).toBe(1719125304);
  });
});

describe('the real files under ../shared/models', () => {
  it('resolve from the default models folder', () => {
    for (const m of LOCAL) {
      const { files } = resolveModel(m.name, { env: {}, cacheDir: '/nonexistent-cache' });
      for (const r of files) {
        expect(r.source).toBe('models-dir');
        expect(r.path).toBe(join(SHARED, m.folder, r.file.path));
        if (r.file.localSize !== undefined) expect(statSync(r.path).size).toBe(r.file.localSize);
      }
    }
  });

  it('match their local checksums and pass the format checks', async () => {
    const seen = new Set<string>();
    for (const m of LOCAL) {
      for (const r of resolveModel(m.name, { env: {} }).files) {
        if (seen.has(r.path)) continue;
        seen.add(r.path);
        const v = await verifyModelFile(r.file, r.path, 'local');
        expect(v, r.path).toMatchObject({ ok: true, method: 'sha256' });
        await checkFormat(r.path, r.file.format);
      }
    }
    expect(seen.size).toBe(14 + 7 + 4 + 18 + 2);
  });

  it('do not verify against the official checksum where the local copy was rebuilt', async () => {
    const r = resolveModel('fast-neural-style-udnie', { env: {} }).files[0];
    const v = await verifyModelFile(r.file, r.path, 'official');
    expect(v.ok).toBe(false);
    expect(v.problem).toContain('size 6725424 bytes, expected 6728029');
  });
});

describe('files without an official download', () => {
  it('refuse to download, saying where the file came from', async () => {
    const { downloadModel } = await import('../../../node/models/download.js');
    await expect(downloadModel('tiny-sd', { cacheDir: '/nonexistent-cache' })).rejects.toThrow(
      /model "tiny-sd" file model_index.json has no download: Generated for/,
    );
    await expect(downloadModel('tiny-sd', { cacheDir: '/nonexistent-cache' })).rejects.toBeInstanceOf(UsageError);
  });
});
