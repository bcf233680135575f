/** Types for build.mjs (the build script is plain JavaScript so npm can run it without a TS loader). */
export declare const ASC_FLAGS: readonly string[];
/** Repository-relative paths of every AssemblyScript source of the module. */
export declare function wasmSources(): Promise<string[]>;
/** sha256 over the sources and compiler flags: what dist/backends/wasm/kernels.json records. */
export declare function sourceHash(): Promise<string>;
