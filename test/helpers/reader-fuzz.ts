/**
 * The scaffolding the model-file reader fuzz tests (ONNX, TFLite) share; each file keeps its own reader,
 * checks and run counts.
 */
import fc from 'fast-check';

/**
 * Every position of a `length`-byte file outside the `[begin, end)` spans (empty spans ignored): flips inside
 * weight data only change values, so the fuzzers aim most flips at these structural bytes instead.
 */
export function positionsOutside(length: number, spans: readonly (readonly [number, number])[]): number[] {
  const sorted = spans.filter(([begin, end]) => end > begin).sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let at = 0;
  for (const [begin, end] of sorted) {
    for (let p = at; p < begin; p++) out.push(p);
    at = Math.max(at, end);
  }
  for (let p = at; p < length; p++) out.push(p);
  return out;
}

/**
 * Runs `read`: 'ok' if it returns, 'rejected' if it throws an `ErrorType` naming `file`. Any other throw
 * (another error type, a failed expect, a message that does not say which file) fails the property.
 */
export function readOrReject(
  ErrorType: new (...args: never[]) => Error,
  file: string,
  read: () => void,
): 'ok' | 'rejected' {
  try {
    read();
    return 'ok';
  } catch (err) {
    if (!(err instanceof ErrorType)) throw err;
    if (!err.message.startsWith(`${file}: `)) throw new Error(`message does not name the file: ${err.message}`);
    return 'rejected';
  }
}

export interface ByteFlipOptions {
  /** The bytes a flip writes. */
  readonly value: fc.Arbitrary<number>;
  readonly numRuns: number;
  /** Per run, in ms: a parse that exceeds it is a hang or runaway work. */
  readonly timeout: number;
}

/**
 * Property: `check` survives 1 to 6 byte edits of `original`, three in four of them at a `structure` position
 * (the rest anywhere).
 */
export async function assertSurvivesByteFlips(
  original: Uint8Array,
  structure: readonly number[],
  check: (bytes: Uint8Array) => void,
  { value, numRuns, timeout }: ByteFlipOptions,
): Promise<void> {
  const bytes = original.slice();
  const edit = fc.record({ structural: fc.integer({ min: 0, max: 3 }), pos: fc.nat(), val: value });
  await fc.assert(
    fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), async (edits) => {
      // Mutate in place and restore: copying a multi-megabyte file per run would dominate the run time.
      const touched = edits.map(({ structural, pos }) =>
        structural > 0 ? structure[pos % structure.length] : pos % bytes.length,
      );
      try {
        edits.forEach(({ val }, i) => {
          bytes[touched[i]] = val;
        });
        check(bytes);
      } finally {
        for (const p of touched) bytes[p] = original[p];
      }
    }),
    { numRuns, timeout },
  );
}
