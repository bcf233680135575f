/**
 * What the JS engine offers the wasm backend: SIMD128 (required: every kernel uses it) and
 * shared WebAssembly memory (required for threads; browsers only allow it on cross-origin
 * isolated pages). No `node:` imports: browsers run this too.
 */

/** A function returning v128 (i32.const 0; i8x16.splat; i8x16.popcnt): valid only with SIMD128. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Whether a shared WebAssembly.Memory can be made here (SharedArrayBuffer exposed, threads on). */
export function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return memory.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    if (pos >= bytes.length) throw new Error('truncated LEB128');
    const b = bytes[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, next: pos };
    shift += 7;
  }
}

function skipName(bytes: Uint8Array, at: number): number {
  const { value, next } = readLeb(bytes, at);
  return next + value;
}

/** Byte offset of the limits flags of the module's imported memory, or -1 when it imports none. */
export function memoryImportFlagsOffset(bytes: Uint8Array): number {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a WebAssembly module (bad magic number)');
  }
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = readLeb(bytes, pos);
    const end = size.next + size.value;
    if (id === 2) {
      let p = size.next;
      const count = readLeb(bytes, p);
      p = count.next;
      for (let i = 0; i < count.value; i++) {
        p = skipName(bytes, p);
        p = skipName(bytes, p);
        const kind = bytes[p++];
        if (kind === 2) return p;
        if (kind === 0) p = readLeb(bytes, p).next;
        else if (kind === 1) {
          p++; // reftype
          const flags = bytes[p++];
          p = readLeb(bytes, p).next;
          if (flags & 1) p = readLeb(bytes, p).next;
        } else if (kind === 3)
          p += 2; // valtype, mutability
        else throw new Error(`unknown import kind ${kind}`);
      }
      return -1;
    }
    pos = end;
  }
  return -1;
}

/**
 * A copy of the module whose memory import is declared unshared: what a page without
 * cross-origin isolation can instantiate (single-threaded). The kernels use no atomics, so
 * flipping the limits flag (0x03 shared+max → 0x01 max) is the whole difference.
 */
export function unshareMemoryImport(bytes: Uint8Array): Uint8Array {
  const at = memoryImportFlagsOffset(bytes);
  if (at < 0) throw new Error('the wasm kernels module imports no memory');
  const out = bytes.slice();
  out[at] &= ~0x02;
  return out;
}
