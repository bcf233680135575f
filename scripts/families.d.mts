/** Types for families.mjs (plain JavaScript so the build runs it without a TypeScript loader). */
/** Kernel family folder names under root/kernels, sorted; throws naming each missing required file. */
export declare function families(root: string): string[];
/** Every generated file: repository-relative path → content. */
export declare function generate(root: string): Map<string, string>;
/** Write (or with check, only compare) every generated file; returns the stale paths. */
export declare function sync(root: string, options?: { check?: boolean }): string[];
