/**
 * WGSL sources: each kernel module names its .wgsl files with `wgsl(new URL('./x.wgsl',
 * import.meta.url))` (a form bundlers follow), the backend loads them all when it is
 * created, and `specialize` fills a source's `// @param NAME` lines for one variant.
 *
 * Every .wgsl file is valid WGSL as written together with the files it `// @include`s (its
 * @param lines hold a default), so the validation test compiles the files themselves and every
 * variant the kernels declare. WGSL has no imports; includes let the row kernels share one
 * workgroup fold (backends/webgpu/wgsl/workgroup.wgsl) instead of a copy each.
 */

export interface ShaderRef {
  /** Path from the repository root, e.g. `kernels/elementwise/unary.wgsl`: what errors name. */
  readonly name: string;
  readonly url: URL;
}

/** One compiled form of a shader: its @param lines replaced, and the entry point to run. */
export interface ShaderVariant {
  readonly shader: ShaderRef;
  readonly params?: Readonly<Record<string, string>>;
  readonly entry?: string;
}

const registry = new Map<string, ShaderRef>();

function repoPath(url: URL): string {
  const parts = url.pathname.split('/');
  const at = parts.lastIndexOf('kernels') >= 0 ? parts.lastIndexOf('kernels') : parts.lastIndexOf('backends');
  return at >= 0 ? parts.slice(at).join('/') : parts.slice(-2).join('/');
}

/** Declare a WGSL file a kernel uses; the backend loads every declared file at creation. */
export function wgsl(url: URL): ShaderRef {
  const name = repoPath(url);
  const known = registry.get(name);
  if (known) return known;
  const ref = { name, url };
  registry.set(name, ref);
  return ref;
}

export function declaredShaders(): ShaderRef[] {
  return [...registry.values()];
}

const PARAM_LINE = /^.*\/\/\s*@param\s+([A-Za-z_][A-Za-z0-9_]*)\s*$/;

/**
 * Replace each line ending in `// @param NAME` with params[NAME] (one line, so compiler
 * messages keep the file's line numbers). Unknown names throw: a typo must not silently
 * keep the default.
 */
export function specialize(source: string, params: Readonly<Record<string, string>> = {}): string {
  const used = new Set<string>();
  const lines = source.split('\n').map((line) => {
    const m = PARAM_LINE.exec(line);
    if (!m || !(m[1] in params)) return line;
    used.add(m[1]);
    const value = params[m[1]];
    if (value.includes('\n')) throw new Error(`specialize: value for @param ${m[1]} must be one line`);
    return `${value} // @param ${m[1]}`;
  });
  for (const key of Object.keys(params)) {
    if (!used.has(key)) throw new Error(`specialize: the shader has no '// @param ${key}' line`);
  }
  return lines.join('\n');
}

const INCLUDE_LINE = /^\s*\/\/\s*@include\s+(\S+)\s*$/;

/**
 * `source` (the file `name`) with each file named by a `// @include PATH` line appended after its
 * last line, once: WGSL module-scope declarations may follow their use, so compiler messages keep
 * the file's own line numbers. PATH is repository-relative, as ShaderRef.name; `read` returns
 * a loaded file's text. Included files include nothing themselves.
 * @throws Error naming both files when an included one is not loaded or includes another.
 */
export function withIncludes(name: string, source: string, read: (path: string) => string | undefined): string {
  const parts = [source];
  const seen = new Set<string>();
  for (const line of source.split('\n')) {
    const path = INCLUDE_LINE.exec(line)?.[1];
    if (path === undefined || seen.has(path)) continue;
    seen.add(path);
    const text = read(path);
    if (text === undefined) {
      throw new Error(`${name}: '// @include ${path}' names a file that is not loaded (declare it with wgsl())`);
    }
    if (text.split('\n').some((l) => INCLUDE_LINE.test(l))) {
      throw new Error(`${name}: included ${path} has an @include of its own; includes do not nest`);
    }
    parts.push(`// ---- included from ${path}`, text);
  }
  return parts.join('\n');
}

/** Cache key of a variant: shader, entry point and parameters. */
export function variantKey(v: ShaderVariant): string {
  const params = v.params ? Object.entries(v.params).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
  return `${v.shader.name}#${v.entry ?? 'main'}#${JSON.stringify(params)}`;
}

export interface CompilationMessageLike {
  readonly type: string;
  readonly message: string;
  readonly lineNum: number;
  readonly linePos: number;
}

/** Compiler errors as `file:line:col: message` lines (null when there are none). */
export function formatCompilation(
  name: string,
  messages: readonly CompilationMessageLike[],
  params?: Readonly<Record<string, string>>,
): string | null {
  const errors = messages.filter((m) => m.type === 'error');
  if (errors.length === 0) return null;
  const variant = params && Object.keys(params).length > 0 ? ` (variant ${JSON.stringify(params)})` : '';
  return errors.map((m) => `${name}:${m.lineNum}:${m.linePos}: ${m.message}${variant}`).join('\n');
}
