/**
 * Property tests on a real model (mobilenet_v1_0.25_128_quant.tflite): random byte flips and truncations
 * either parse to a consistent model whose tensors all dequantize, or fail with a TfliteError naming the
 * file — never another error type, an out-of-range read or a hang (each run has a timeout).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dequantizeTensor, parseTflite, TfliteError, type TfliteModel, tensorValues } from '../../../core/io/tflite.js';
import { modelsDir } from '../../helpers/model-files.js';
import { assertSurvivesByteFlips, positionsOutside, readOrReject } from '../../helpers/reader-fuzz.js';

const NAME = 'fuzz-mobilenet.tflite';
// A parse takes about a millisecond and dequantizing every tensor a few more; this means a hang.
const RUN_TIMEOUT_MS = 2000;

const original = Uint8Array.from(readFileSync(join(modelsDir, 'mobilenet', 'mobilenet_v1_0.25_128_quant.tflite')));
const reference = parseTflite(NAME, original);

/** Bytes outside the constant buffers' data: tables, vtables, vectors, strings. */
const structure = positionsOutside(
  original.length,
  reference.buffers.map((b): [number, number] => [b.data.byteOffset, b.data.byteOffset + b.data.length]),
);

function summary(m: TfliteModel): unknown {
  return m.subgraphs.map((sg) => ({
    tensors: sg.tensors.map((t) => [t.name, t.type, t.shape.join('x'), t.buffer, JSON.stringify(t.quantization)]),
    operators: sg.operators.map((op) => [
      op.opcode,
      op.inputs.join(','),
      op.outputs.join(','),
      JSON.stringify(op.options),
    ]),
  }));
}

/** Parses, then reads every constant tensor; any failure must be a TfliteError naming the file. */
function readAllOrReject(bytes: Uint8Array): 'ok' | 'rejected' {
  return readOrReject(TfliteError, NAME, () => {
    const m = parseTflite(NAME, bytes);
    for (const sg of m.subgraphs) {
      for (const op of sg.operators) {
        for (const i of [...op.inputs, ...op.outputs]) expect(i === -1 || (i >= 0 && i < sg.tensors.length)).toBe(true);
      }
    }
    const sg = m.subgraphs[0];
    for (const t of sg.tensors) {
      if (m.buffers[t.buffer].data.length === 0) continue;
      const n = t.shape.reduce((a, b) => a * b, 1);
      try {
        const values = t.quantization?.scale.length ? dequantizeTensor(m, t.index) : tensorValues(m, t.index);
        expect(values.length).toBe(n);
      } catch (err) {
        // Some tensors are legitimately unreadable (a flipped type byte may name STRING or a custom scheme).
        if (!(err instanceof TfliteError)) throw err;
      }
    }
  });
}

describe('TFLite reader fuzz (mobilenet_v1_0.25_128_quant.tflite)', () => {
  it('survives random byte flips, mostly in the flatbuffer structure (1500 runs)', async () => {
    await assertSurvivesByteFlips(original, structure, readAllOrReject, {
      value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 0x7f, 0x80, 0xff)),
      numRuns: 1500,
      timeout: RUN_TIMEOUT_MS,
    });
  });

  it('rejects truncations, unless only unreferenced trailing bytes went (300 runs)', async () => {
    const expected = summary(reference);
    const cuts = fc.oneof(
      fc.nat({ max: original.length - 1 }),
      fc.integer({ min: 0, max: 64 }),
      fc.integer({ min: Math.max(0, original.length - 64), max: original.length - 1 }),
    );
    await fc.assert(
      fc.asyncProperty(cuts, async (cut) => {
        const prefix = original.subarray(0, cut);
        if (readAllOrReject(prefix) === 'ok') expect(summary(parseTflite(NAME, prefix))).toEqual(expected);
      }),
      { numRuns: 300, timeout: RUN_TIMEOUT_MS },
    );
  });

  it('survives random bytes behind a valid identifier (500 runs)', async () => {
    const junk = fc.uint8Array({ minLength: 8, maxLength: 512 }).map((b) => {
      b.set([0x54, 0x46, 0x4c, 0x33], 4); // "TFL3"
      return b;
    });
    await fc.assert(
      fc.asyncProperty(junk, async (bytes) => {
        readAllOrReject(bytes);
      }),
      { numRuns: 500, timeout: RUN_TIMEOUT_MS },
    );
  });
});
