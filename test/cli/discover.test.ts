import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultProjectsDir, discoverProjects } from '../../cli/discover.js';
import { validateProject } from '../../cli/validate.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}/`, import.meta.url));

describe('discoverProjects', () => {
  it('loads every project folder, skipping _helpers, sorted by namespace', async () => {
    const d = await discoverProjects(fixture('projects'));
    expect(d.problems).toEqual([]);
    expect(d.projects.map((p) => p.namespace)).toEqual(['other', 'sample']);
    expect(d.projects[1].aliases).toEqual(['sample-long-name']);
    expect(d.projects[1].commands.map((c) => c.name)).toEqual(['echo', 'fail']);
  });

  it('reports each broken project with its file and keeps the good one', async () => {
    const d = await discoverProjects(fixture('bad-projects'));
    expect(d.projects.map((p) => p.namespace)).toEqual(['good']);
    const byFolder = Object.fromEntries(d.problems.map((p) => [p.folder, p.message]));
    expect(Object.keys(byFolder).sort()).toEqual(['badopt', 'clash', 'empty', 'mismatch', 'noexport', 'throws']);
    expect(byFolder.badopt).toContain("option 'json' clashes with the global option --json");
    expect(byFolder.badopt).toContain("default 'c' is not one of a, b");
    expect(byFolder.badopt).toContain('badopt/commands.ts');
    expect(byFolder.clash).toBe("alias 'good' is already a namespace; clash was not loaded");
    expect(byFolder.empty).toContain('has no commands.js');
    expect(byFolder.mismatch).toContain("namespace 'not-mismatch' differs from its folder 'mismatch'");
    expect(byFolder.noexport).toContain("must export 'project'");
    expect(byFolder.throws).toContain('failed to load: exploded while loading');
  });

  it('reports a missing projects folder instead of throwing', async () => {
    const d = await discoverProjects(fixture('does-not-exist'));
    expect(d.projects).toEqual([]);
    expect(d.problems[0].message).toContain('no projects folder');
  });

  it("finds the toolkit's own three workflows with their seed aliases", async () => {
    const d = await discoverProjects(defaultProjectsDir());
    expect(d.problems).toEqual([]);
    const aliases = Object.fromEntries(d.projects.map((p) => [p.namespace, p.aliases]));
    // Other namespaces (models, bench) may sit beside the three workflows.
    expect(aliases).toMatchObject({
      compression: ['model-compression-mlx'],
      lora: ['lora-finetuning-mlx'],
      'style-transfer': ['coreml-stable-diffusion-style-transfer'],
    });
  });
});

describe('validateProject', () => {
  const base = { namespace: 'x', aliases: [], summary: 's', commands: [] };
  const cmd = { name: 'go', summary: 's', options: [], run: async () => {} };

  it('accepts a minimal project', () => {
    expect(validateProject(base, 'x', 'f')).toEqual([]);
  });

  it('names each mistake', () => {
    expect(validateProject({ ...base, namespace: 'info' }, 'info', 'f')).toEqual([
      "f: namespace 'info' is a built-in command; choose another name",
    ]);
    expect(validateProject({ ...base, aliases: ['Bad Name'] }, 'x', 'f')[0]).toContain('kebab-case');
    expect(validateProject({ ...base, commands: [cmd, cmd] }, 'x', 'f')).toEqual(["f: command 'go' is declared twice"]);
    const opts = [
      { name: 'n', type: 'integer', description: 'd', default: 1.5 },
      { name: 'no-cache', type: 'boolean', description: 'd' },
      { name: 'p', type: 'path', description: 'd', required: true, default: 'a' },
      { name: 'q', type: 'text', description: 'd' },
    ];
    expect(validateProject({ ...base, commands: [{ ...cmd, options: opts }] }, 'x', 'f')).toEqual([
      "f command 'go' option 'n': default 1.5 is not an integer",
      "f command 'go' option 'no-cache': names starting with 'no-' are reserved for negating booleans",
      "f command 'go' option 'p' is required but has a default; drop one",
      "f command 'go' option 'q': unknown type 'text' (use string, number, integer, boolean, path, enum)",
    ]);
    for (const tests of [['models/x.test.ts'], ['test/../core'], 'test/x']) {
      expect(validateProject({ ...base, tests }, 'x', 'f')).toEqual([
        'f: tests must be a list of paths under test/ (e.g. test/models/llama.test.ts)',
      ]);
    }
    expect(validateProject({ ...base, tests: ['test/models/x.test.ts', 'test/kernels'] }, 'x', 'f')).toEqual([]);
    const flag = [{ name: 'all', type: 'boolean', description: 'd' }];
    expect(validateProject({ ...base, commands: [{ ...cmd, options: flag, positional: 'all' }] }, 'x', 'f')).toEqual([
      "f command 'go': positional 'all' must name one of its string options (not repeatable)",
    ]);
  });
});
