/**
 * Seeded random numbers: every run with the same seed gives the same tensors.
 * xoshiro128** for the stream, Box-Muller for normals.
 */
/** A generator's state as plain data (JSON-safe). */
export interface RngState {
  readonly words: readonly number[];
  readonly spare: number | null;
}

export class Rng {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  constructor(seed = 0) {
    // splitmix32 spreads any 32-bit seed over the 128-bit state (never all zero).
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (t ^ (t >>> 16)) >>> 0;
    }
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** The generator's whole state (four words and a pending normal), for checkpoints: {@link Rng.fromState}. */
  state(): RngState {
    return { words: Array.from(this.#s), spare: this.#spare };
  }

  /** Continue exactly where {@link Rng.state} was taken. */
  static fromState(state: RngState): Rng {
    const { words, spare } = state;
    if (
      !Array.isArray(words) ||
      words.length !== 4 ||
      words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)
    ) {
      throw new TypeError(`Rng.fromState: words must be four unsigned 32-bit integers, got ${JSON.stringify(words)}`);
    }
    if (words.every((w) => w === 0)) throw new TypeError('Rng.fromState: an all-zero state never leaves zero');
    const rng = new Rng();
    rng.#s.set(words);
    rng.#spare = typeof spare === 'number' ? spare : null;
    return rng;
  }

  /** A fresh generator derived from this one (for independent streams). */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalRng = new Rng(0);

/** Reseed the generator that random tensor creation (and dropout) uses by default. */
export function setSeed(seed: number): void {
  globalRng = new Rng(seed);
}

/** Replace the default generator (restoring a checkpoint's, or a recomputation's). Returns the previous one. */
export function setDefaultRng(rng: Rng): Rng {
  const previous = globalRng;
  globalRng = rng;
  return previous;
}

export function defaultRng(): Rng {
  return globalRng;
}
