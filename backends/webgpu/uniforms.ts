/**
 * Uniform blocks written once for every kernel: scalars are 4 bytes, arrays are
 * `array<vec4<u32|i32|f32>, K>` (16-byte aligned, as WGSL's uniform layout demands).
 * The WGSL struct must declare the fields in the same order.
 */

/** Rank limit of the strided/broadcast kernels (shape and strides travel as 2 × vec4). */
export const MAX_RANK = 8;

export class Uniforms {
  #view = new DataView(new ArrayBuffer(256));
  #offset = 0;

  #reserve(bytes: number): number {
    const at = this.#offset;
    if (at + bytes > this.#view.byteLength) {
      const grown = new DataView(new ArrayBuffer(Math.max(this.#view.byteLength * 2, at + bytes)));
      new Uint8Array(grown.buffer).set(new Uint8Array(this.#view.buffer));
      this.#view = grown;
    }
    this.#offset += bytes;
    return at;
  }

  #align(to: number): void {
    while (this.#offset % to !== 0) this.#reserve(4);
  }

  u32(...values: number[]): this {
    for (const v of values) this.#view.setUint32(this.#reserve(4), v >>> 0, true);
    return this;
  }

  i32(...values: number[]): this {
    for (const v of values) this.#view.setInt32(this.#reserve(4), v | 0, true);
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) this.#view.setFloat32(this.#reserve(4), v, true);
    return this;
  }

  /** Pad to the next 16-byte boundary (before a vec4 array, or to end a header). */
  align16(): this {
    this.#align(16);
    return this;
  }

  /** `array<vec4<u32>, length/4>`: values padded with `fill` to `length` (a multiple of 4). */
  u32Array(values: readonly number[], length = MAX_RANK, fill = 0): this {
    if (values.length > length) throw new Error(`Uniforms: ${values.length} values exceed the array of ${length}`);
    this.#align(16);
    for (let i = 0; i < length; i++) this.#view.setUint32(this.#reserve(4), (values[i] ?? fill) >>> 0, true);
    return this;
  }

  i32Array(values: readonly number[], length = MAX_RANK, fill = 0): this {
    if (values.length > length) throw new Error(`Uniforms: ${values.length} values exceed the array of ${length}`);
    this.#align(16);
    for (let i = 0; i < length; i++) this.#view.setInt32(this.#reserve(4), (values[i] ?? fill) | 0, true);
    return this;
  }

  /** The block, padded to a multiple of 16 bytes. */
  bytes(): Uint8Array {
    this.#align(16);
    return new Uint8Array(this.#view.buffer, 0, Math.max(this.#offset, 16));
  }
}
