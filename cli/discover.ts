/**
 * Finds the workflows at run time: every folder `projects/<name>/` beside the running
 * CLI whose `commands.js` (or `commands.ts` when run from the sources) exports
 * `project`. Adding a workflow is adding a folder; there is no registration list.
 * A broken project is reported, never fatal: the other namespaces keep working.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ProjectSpec } from './command.js';
import { validateProject } from './validate.js';

export interface DiscoveryProblem {
  /** The project folder, e.g. `lora`. */
  readonly folder: string;
  readonly message: string;
}

export interface Discovery {
  /** The folder that was scanned. */
  readonly dir: string;
  /** Valid projects, sorted by namespace. */
  readonly projects: readonly ProjectSpec[];
  readonly problems: readonly DiscoveryProblem[];
}

/** `projects/` beside this module's folder: `dist/projects` for a build, `projects` for the sources. */
export function defaultProjectsDir(): string {
  return fileURLToPath(new URL('../projects/', import.meta.url));
}

function commandsFile(folder: string): string | undefined {
  for (const name of ['commands.js', 'commands.ts']) {
    const file = join(folder, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

async function loadOne(dir: string, folder: string): Promise<ProjectSpec | DiscoveryProblem> {
  const file = commandsFile(join(dir, folder));
  if (!file) {
    return {
      folder,
      message: `${join(dir, folder)} has no commands.js: export 'project' from projects/${folder}/commands.ts and rebuild`,
    };
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    return { folder, message: `${file} failed to load: ${(err as Error).message}` };
  }
  const problems = validateProject(mod.project, folder, file);
  if (problems.length > 0) return { folder, message: problems.join('; ') };
  return mod.project as ProjectSpec;
}

/** Load every project under `dir` (default: beside the running CLI). Never throws for a bad project. */
export async function discoverProjects(dir: string = defaultProjectsDir()): Promise<Discovery> {
  const problems: DiscoveryProblem[] = [];
  if (!existsSync(dir)) {
    problems.push({ folder: '.', message: `no projects folder at ${dir}: the build is incomplete; run npm run build` });
    return { dir, projects: [], problems };
  }
  // Folders starting with '_' or '.' hold shared helpers, not workflows.
  const folders = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('_') && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const loaded = await Promise.all(folders.map((f) => loadOne(dir, f)));
  const valid = loaded.filter((r): r is ProjectSpec => 'namespace' in r);
  problems.push(...loaded.filter((r): r is DiscoveryProblem => !('namespace' in r)));
  // Namespaces equal their (unique) folder names; an alias may not shadow any of them or an earlier alias.
  const owner = new Map(valid.map((p) => [p.namespace, p.namespace]));
  const projects: ProjectSpec[] = [];
  for (const p of valid) {
    const clash = p.aliases.find((a) => owner.has(a));
    if (clash !== undefined) {
      problems.push({
        folder: p.namespace,
        message: `alias '${clash}' is already ${owner.get(clash) === clash ? 'a namespace' : `an alias of ${owner.get(clash)}`}; ${p.namespace} was not loaded`,
      });
      continue;
    }
    for (const a of p.aliases) owner.set(a, p.namespace);
    projects.push(p);
  }
  return { dir, projects, problems };
}
