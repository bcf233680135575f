/**
 * `efficientai-toolkit doctor`: checks what each backend needs and says how to fix
 * what is missing. Only the js backend is required; wasm, WebGPU and the native addon
 * are optional accelerators, so their failures are reported but do not fail the run.
 */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import type { BackendName } from '../../core/backend.js';
import { defaultModelsDir, type Env } from '../../node/paths.js';
import type { DiscoveryProblem } from '../discover.js';
import type { BuiltinHelp } from '../help.js';
import type { Runtime } from '../runtime.js';

export const doctorHelp: BuiltinHelp = {
  name: 'doctor',
  summary: 'Check what each backend needs and say how to fix what is missing',
  description:
    'Checks the js backend (required: it must compute a small op correctly), WebAssembly SIMD and threads, ' +
    'WebGPU in Node (the webgpu package, a Vulkan driver or SwiftShader), the native addon toolchain ' +
    '(C++ compiler, python3, make, Node headers, the built addon), the local models folder and the workflows. ' +
    'Every check is ok, warn or fail, with a fix for anything not ok. ' +
    'Exit status: 0 when the js backend works, even if optional backends are unavailable; 1 when it does not.',
  examples: ['efficientai-toolkit doctor', 'efficientai-toolkit doctor --json'],
};

export type CheckStatus = 'ok' | 'warn' | 'fail';
export type CheckArea = 'node' | BackendName | 'models' | 'projects';

export interface Check {
  readonly id: string;
  readonly area: CheckArea;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a warn or fail. */
  readonly fix?: string;
}

export interface DoctorReport {
  /** True when the js backend works: the exit status is 0 exactly then. */
  readonly ok: boolean;
  /** Backends that are available here, in rank order of BACKEND_NAMES. */
  readonly availableBackends: readonly BackendName[];
  readonly checks: readonly Check[];
}

/** What doctor inspects, injectable so tests can simulate a machine without a compiler. */
export interface DoctorDeps {
  readonly runtime: Runtime;
  readonly env: Env;
  readonly platform: NodeJS.Platform;
  readonly nodeVersion: string;
  readonly execPath: string;
  readonly repoRoot: string;
  exists(path: string): boolean;
  /** Absolute path of an executable on PATH, or undefined. */
  which(command: string): string | undefined;
  /** Resolved entry of an npm package, or undefined when it is not installed. */
  resolvePackage(name: string): string | undefined;
  readonly projectProblems: readonly DiscoveryProblem[];
  readonly projectNames: readonly string[];
}

/**
 * `(module (func (result v128) i32.const 0 i8x16.splat))`: validates only where
 * the engine implements fixed-width SIMD.
 */
export const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11,
]);

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
export const MIN_NODE = [20, 19] as const;

export function whichOnPath(
  command: string,
  env: Env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const exts = platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = join(dir, command + ext);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined;
}

export function defaultDoctorDeps(
  runtime: Runtime,
  repoRoot: string,
  projects: { names: readonly string[]; problems: readonly DiscoveryProblem[] },
  env: Env = process.env,
): DoctorDeps {
  const require = createRequire(join(repoRoot, 'package.json'));
  return {
    runtime,
    env,
    platform: process.platform,
    nodeVersion: process.versions.node,
    execPath: process.execPath,
    repoRoot,
    exists: existsSync,
    which: (c) => whichOnPath(c, env),
    resolvePackage: (name) => {
      try {
        return require.resolve(name);
      } catch {
        return undefined;
      }
    },
    projectProblems: projects.problems,
    projectNames: projects.names,
  };
}

const ok = (id: string, area: CheckArea, title: string, detail: string): Check => ({
  id,
  area,
  title,
  status: 'ok',
  detail,
});
const bad = (
  status: 'warn' | 'fail',
  id: string,
  area: CheckArea,
  title: string,
  detail: string,
  fix: string,
): Check => ({
  id,
  area,
  title,
  status,
  detail,
  fix,
});

function nodeCheck(version: string): Check {
  const [major, minor] = version.split('.').map(Number);
  const fine = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return fine
    ? ok('node.version', 'node', 'Node.js', `v${version}`)
    : bad(
        'fail',
        'node.version',
        'node',
        'Node.js',
        `v${version} is older than ${MIN_NODE.join('.')}`,
        'install Node.js 20.19 or newer (https://nodejs.org)',
      );
}

/** Runs a tiny add on `backend` and compares with hand-computed values; restores the current backend. */
async function computeCheck(rt: Runtime, backend: BackendName): Promise<Check> {
  const id = `${backend}.compute`;
  const title = `${backend} computes`;
  const expected = [3.5, 2, 2];
  const previous = rt.getBackendName();
  const before = rt.memory().tensors;
  try {
    await rt.setBackend(backend);
    const a = rt.tensor([1.5, -2, 3]);
    const b = rt.tensor([2, 4, -1]);
    const c = rt.add(a, b);
    const got = Array.from(await c.data());
    rt.dispose([a, b, c]);
    const leaked = rt.memory().tensors - before;
    if (got.length !== 3 || got.some((v, i) => v !== expected[i])) {
      return bad(
        'fail',
        id,
        backend,
        title,
        `add([1.5,-2,3], [2,4,-1]) gave [${got.join(', ')}], expected [3.5, 2, 2]`,
        'this is a bug: report it with the output of `efficientai-toolkit info --json`',
      );
    }
    if (leaked !== 0) {
      return bad(
        'warn',
        id,
        backend,
        title,
        `correct result, but ${leaked} tensors stayed alive after dispose`,
        'this is a bug: report it with the output of `efficientai-toolkit info --json`',
      );
    }
    return ok(id, backend, title, 'add([1.5,-2,3], [2,4,-1]) = [3.5, 2, 2]');
  } catch (err) {
    return bad(
      'fail',
      id,
      backend,
      title,
      `add failed: ${(err as Error).message}`,
      `run with --log-level debug for the stack; try --backend js meanwhile`,
    );
  } finally {
    await rt.setBackend(previous).catch(() => undefined);
  }
}

function wasmChecks(): Check[] {
  const checks: Check[] = [];
  if (typeof WebAssembly !== 'object') {
    return [
      bad(
        'fail',
        'wasm.engine',
        'wasm',
        'WebAssembly',
        'this runtime has no WebAssembly',
        'use Node.js 20.19 or newer',
      ),
    ];
  }
  checks.push(
    WebAssembly.validate(SIMD_PROBE)
      ? ok('wasm.simd', 'wasm', 'WebAssembly SIMD', 'SIMD128 modules validate')
      : bad(
          'fail',
          'wasm.simd',
          'wasm',
          'WebAssembly SIMD',
          'SIMD128 modules do not validate',
          'use Node.js 20.19 or newer (SIMD is on by default since Node 16.4)',
        ),
  );
  let shared = false;
  try {
    shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    shared = false;
  }
  checks.push(
    shared
      ? ok('wasm.threads', 'wasm', 'WebAssembly threads', 'shared memory and worker_threads available')
      : bad(
          'warn',
          'wasm.threads',
          'wasm',
          'WebAssembly threads',
          'shared WebAssembly.Memory is unavailable: wasm kernels run on one thread',
          'use Node.js 20.19 or newer; in browsers serve the page with COOP/COEP headers',
        ),
  );
  return checks;
}

function webgpuChecks(d: DoctorDeps): Check[] {
  const checks: Check[] = [];
  const pkg = d.resolvePackage('webgpu');
  checks.push(
    pkg
      ? ok('webgpu.package', 'webgpu', 'webgpu package', `found at ${pkg}`)
      : bad(
          'fail',
          'webgpu.package',
          'webgpu',
          'webgpu package',
          "the 'webgpu' npm package (Dawn for Node) is not installed",
          'npm install webgpu',
        ),
  );
  if (d.platform === 'linux') {
    const icd = d.env.VK_ICD_FILENAMES;
    const present = d.exists(SWIFTSHADER_ICD);
    const setup = `export VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;
    if (icd) {
      checks.push(
        d.exists(icd)
          ? ok('webgpu.vulkan', 'webgpu', 'Vulkan driver', `VK_ICD_FILENAMES=${icd}`)
          : bad(
              'fail',
              'webgpu.vulkan',
              'webgpu',
              'Vulkan driver',
              `VK_ICD_FILENAMES=${icd} does not exist`,
              present ? setup : `apt-get install chromium, then ${setup}`,
            ),
      );
    } else {
      checks.push(
        bad(
          'warn',
          'webgpu.vulkan',
          'webgpu',
          'Vulkan driver',
          present
            ? `SwiftShader is installed but VK_ICD_FILENAMES is unset: without a GPU driver there is no adapter`
            : `VK_ICD_FILENAMES is unset and SwiftShader (${SWIFTSHADER_ICD}) is missing: without a GPU driver there is no adapter`,
          present ? setup : `apt-get install chromium, then ${setup} (SwiftShader is for correctness, not speed)`,
        ),
      );
    }
  }
  return checks;
}

function nativeChecks(d: DoctorDeps): Check[] {
  const checks: Check[] = [];
  const mac = d.platform === 'darwin';
  const install = (pkg: string) =>
    mac ? 'xcode-select --install' : `apt-get install ${pkg} (or your system's package)`;
  const compiler = ['g++', 'clang++', 'c++'].map((c) => d.which(c)).find(Boolean);
  checks.push(
    compiler
      ? ok('native.compiler', 'native', 'C++ compiler', compiler)
      : bad('fail', 'native.compiler', 'native', 'C++ compiler', 'no g++, clang++ or c++ on PATH', install('g++')),
  );
  const python = d.which('python3');
  checks.push(
    python
      ? ok('native.python', 'native', 'python3', python)
      : bad(
          'fail',
          'native.python',
          'native',
          'python3',
          'python3 is not on PATH (node-gyp needs it)',
          mac ? 'brew install python3' : 'apt-get install python3',
        ),
  );
  const make = d.which('make');
  checks.push(
    make
      ? ok('native.make', 'native', 'make', make)
      : bad('fail', 'native.make', 'native', 'make', 'make is not on PATH', install('make')),
  );
  const headers = join(dirname(dirname(d.execPath)), 'include', 'node', 'node_api.h');
  checks.push(
    d.exists(headers)
      ? ok('native.headers', 'native', 'Node headers', headers)
      : bad(
          'warn',
          'native.headers',
          'native',
          'Node headers',
          `${headers} is missing: node-gyp will download headers (needs network)`,
          "install Node from nodejs.org (it ships headers) or your distribution's Node development package",
        ),
  );
  if (mac) {
    const xcrun = d.which('xcrun');
    checks.push(
      xcrun
        ? ok('native.xcode', 'native', 'Xcode tools', xcrun)
        : bad(
            'warn',
            'native.xcode',
            'native',
            'Xcode tools',
            'xcrun is missing: Metal kernels cannot be compiled',
            'xcode-select --install',
          ),
    );
  }
  const releaseDir = join(d.repoRoot, 'native-metal', 'build', 'Release');
  const addon = d.exists(releaseDir) ? listNodeFiles(releaseDir) : [];
  checks.push(
    addon.length > 0
      ? ok('native.addon', 'native', 'native addon', addon.map((f) => join(releaseDir, f)).join(', '))
      : bad(
          'fail',
          'native.addon',
          'native',
          'native addon',
          `no built addon in ${releaseDir}`,
          'once the tools above are present: npm run build:native',
        ),
  );
  return checks;
}

function listNodeFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.node'));
  } catch {
    return [];
  }
}

function modelsCheck(d: DoctorDeps): Check {
  let dir: string | undefined;
  try {
    dir = defaultModelsDir(d.env);
  } catch (err) {
    return bad(
      'warn',
      'models.dir',
      'models',
      'models folder',
      (err as Error).message,
      'set EAI_MODELS_DIR to a folder of local model copies',
    );
  }
  if (!dir || !d.exists(dir)) {
    const where = dir ?? 'EAI_MODELS_DIR is unset and ../shared/models is absent';
    return bad(
      'warn',
      'models.dir',
      'models',
      'models folder',
      `no local models: ${where}`,
      'set EAI_MODELS_DIR to a folder of local model copies (layout <dir>/<model>/<file>)',
    );
  }
  return ok('models.dir', 'models', 'models folder', dir);
}

function projectsCheck(d: DoctorDeps): Check {
  if (d.projectProblems.length > 0) {
    return bad(
      'warn',
      'projects.load',
      'projects',
      'workflows',
      d.projectProblems.map((p) => `${p.folder}: ${p.message}`).join('; '),
      'fix the named projects/<name>/commands.ts and rebuild (npm run build)',
    );
  }
  return ok('projects.load', 'projects', 'workflows', d.projectNames.join(', ') || 'none');
}

export async function runDoctor(d: DoctorDeps): Promise<DoctorReport> {
  const rt = d.runtime;
  const checks: Check[] = [nodeCheck(d.nodeVersion)];
  const availability = await rt.backendAvailability();
  const probe = (name: BackendName): Check => {
    const a = availability[name];
    if (a.available) return ok(`${name}.backend`, name, `${name} backend`, a.reason);
    const required = name === 'js';
    const fix = required
      ? 'reinstall the toolkit: the js backend is always built in'
      : /not registered/.test(a.reason)
        ? `none yet: this version of the toolkit does not include the ${name} backend`
        : `see the ${name} checks above`;
    return bad('fail', `${name}.backend`, name, `${name} backend`, `unavailable: ${a.reason}`, fix);
  };
  const perBackend: Record<BackendName, () => Check[]> = {
    js: () => [],
    wasm: wasmChecks,
    webgpu: () => webgpuChecks(d),
    native: () => nativeChecks(d),
  };
  for (const name of rt.BACKEND_NAMES) {
    checks.push(...perBackend[name](), probe(name));
    if (availability[name].available) checks.push(await computeCheck(rt, name));
  }
  checks.push(modelsCheck(d), projectsCheck(d));
  const jsOk = checks.filter((c) => c.area === 'js').every((c) => c.status !== 'fail');
  return {
    ok: jsOk,
    availableBackends: rt.BACKEND_NAMES.filter((n) => availability[n].available),
    checks,
  };
}

const AREA_TITLE: Record<CheckArea, string> = {
  node: 'Node.js',
  js: 'js backend (required)',
  wasm: 'wasm backend (optional)',
  webgpu: 'webgpu backend (optional)',
  native: 'native backend (optional)',
  models: 'models',
  projects: 'workflows',
};

export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  const width = Math.max(...r.checks.map((c) => c.title.length));
  let area: CheckArea | undefined;
  for (const c of r.checks) {
    if (c.area !== area) {
      area = c.area;
      lines.push(`${lines.length > 0 ? '\n' : ''}${AREA_TITLE[area]}`);
    }
    lines.push(`  ${c.status.padEnd(4)}  ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.fix) lines.push(`  ${' '.repeat(4)}  ${' '.repeat(width)}  fix: ${c.fix}`);
  }
  const optional = r.availableBackends.filter((b) => b !== 'js');
  lines.push(
    '',
    r.ok
      ? `Result: the js backend works.${optional.length > 0 ? ` Also available: ${optional.join(', ')}.` : ' No optional backend is available; see the fixes above.'}`
      : 'Result: the js backend does not work: nothing can run. See the fixes above.',
  );
  return lines.join('\n');
}
