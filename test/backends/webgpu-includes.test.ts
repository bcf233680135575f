/**
 * `// @include` in WGSL sources: the included file is appended once after the includer's last
 * line (so compiler messages keep the includer's line numbers), and a missing or nested
 * include fails naming the files. Pure text: no GPU needed.
 */
import { describe, expect, it } from 'vitest';
import { withIncludes } from '../../backends/webgpu/shaders.js';

const files: Record<string, string> = {
  'lib/a.wgsl': 'fn a() -> f32 { return 1.0; }',
  'lib/nested.wgsl': '// @include lib/a.wgsl\nfn b() {}',
};
const read = (path: string) => files[path];

describe('withIncludes', () => {
  it('appends each included file once, after the last line', () => {
    const source = '// @include lib/a.wgsl\nfn main() { let x = a(); }\n// @include lib/a.wgsl';
    const out = withIncludes('k.wgsl', source, read);
    expect(out.startsWith(source)).toBe(true); // the includer's lines keep their numbers
    expect(out.split('fn a()')).toHaveLength(2);
    expect(out.endsWith(files['lib/a.wgsl'])).toBe(true);
  });

  it('leaves a file without includes as it is', () => {
    expect(withIncludes('k.wgsl', 'fn main() {}', read)).toBe('fn main() {}');
  });

  it('names both files when an include is missing or nests', () => {
    expect(() => withIncludes('k.wgsl', '// @include lib/gone.wgsl', read)).toThrow(
      /k\.wgsl: '\/\/ @include lib\/gone\.wgsl' names a file that is not loaded/,
    );
    expect(() => withIncludes('k.wgsl', '// @include lib/nested.wgsl', read)).toThrow(
      /k\.wgsl: included lib\/nested\.wgsl has an @include of its own/,
    );
  });
});
