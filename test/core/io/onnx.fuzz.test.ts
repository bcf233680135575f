/**
 * Property tests on a real model (candy.onnx): random byte flips and truncations either parse to a
 * consistent model or fail with an OnnxError naming the file — never another error type, never a hang
 * (each run has a timeout).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { OnnxError, type OnnxGraph, parseOnnx } from '../../../core/io/onnx.js';
import { modelsDir } from '../../helpers/model-files.js';
import { assertSurvivesByteFlips, positionsOutside, readOrReject } from '../../helpers/reader-fuzz.js';

const NAME = 'fuzz-candy.onnx';
// A parse takes a few milliseconds; hitting this means a hang or runaway work.
const RUN_TIMEOUT_MS = 2000;

const fileBytes = readFileSync(join(modelsDir, 'fast-neural-style', 'candy.onnx'));
const original = Uint8Array.from(fileBytes);

/**
 * Byte ranges of the initializers' raw_data, found by onnx-proto (independent of the reader under test).
 * Flips inside weights only change values; the fuzzer aims most flips at the other, structural bytes.
 */
function structuralPositions(): number[] {
  const decoded = onnxProto.onnx.ModelProto.decode(fileBytes);
  const spans = (decoded.graph?.initializer ?? [])
    .map((t) => t.rawData ?? new Uint8Array())
    .map((raw): [number, number] => [
      raw.byteOffset - fileBytes.byteOffset,
      raw.byteOffset - fileBytes.byteOffset + raw.length,
    ]);
  return positionsOutside(original.length, spans);
}

const structure = structuralPositions();

/** Where each top-level ModelProto field ends (a truncation there leaves whole fields). */
function topLevelFieldEnds(): { field: number; end: number }[] {
  const r = new protobuf.Reader(original);
  const out: { field: number; end: number }[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    r.skipType(tag & 7);
    out.push({ field: tag >>> 3, end: r.pos });
  }
  return out;
}

function summary(g: OnnxGraph): unknown {
  return {
    nodes: g.nodes.map((n) => [n.opType, n.inputs.join(','), n.outputs.join(','), n.attrs.size]),
    initializers: g.initializers.map((t) => [t.name, t.dtype, t.shape.join('x'), t.data.length]),
    io: [g.inputs, g.outputs],
  };
}

const reference = parseOnnx(NAME, original);

/** Parses and inspects everything; any failure must be an OnnxError naming the file. */
function parseOrReject(bytes: Uint8Array): 'ok' | 'rejected' {
  return readOrReject(OnnxError, NAME, () => {
    const m = parseOnnx(NAME, bytes);
    for (const t of m.graph.initializers) {
      expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    }
    const known = new Set([...m.graph.initializers.map((t) => t.name), ...m.graph.inputs.map((v) => v.name)]);
    for (const n of m.graph.nodes) {
      for (const input of n.inputs) if (input !== '') expect(known.has(input)).toBe(true);
      for (const output of n.outputs) known.add(output);
    }
  });
}

describe('ONNX reader fuzz (candy.onnx)', () => {
  it('survives random byte flips, mostly in the structural bytes (1500 runs)', async () => {
    await assertSurvivesByteFlips(original, structure, parseOrReject, {
      value: fc.integer({ min: 0, max: 255 }),
      numRuns: 1500,
      timeout: RUN_TIMEOUT_MS,
    });
  });

  it('rejects truncations, except at a top-level boundary after the graph and opsets (300 runs)', async () => {
    const ends = topLevelFieldEnds();
    const opsetEnd = ends.find((e) => e.field === 8)?.end ?? Number.POSITIVE_INFINITY;
    const cuts = fc.oneof(
      fc.nat({ max: original.length - 1 }),
      fc.constantFrom(...ends.map((e) => e.end).filter((e) => e < original.length)),
      fc.integer({ min: 0, max: 400 }),
    );
    await fc.assert(
      fc.asyncProperty(cuts, async (cut) => {
        const result = parseOrReject(original.subarray(0, cut));
        if (result === 'ok') {
          // Only dropping whole trailing metadata_props entries leaves a valid model, equal in all else.
          expect(cut).toBeGreaterThanOrEqual(opsetEnd);
          expect(ends.some((e) => e.end === cut)).toBe(true);
          const m = parseOnnx(NAME, original.subarray(0, cut));
          expect(summary(m.graph)).toEqual(summary(reference.graph));
          expect(Object.keys(m.metadata).length).toBeLessThan(Object.keys(reference.metadata).length);
        }
      }),
      { numRuns: 300, timeout: RUN_TIMEOUT_MS },
    );
  });

  it('survives random bytes and random protobuf-shaped junk (500 runs)', async () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      // Plausible tags followed by random payloads reach deeper into the decoders.
      fc
        .array(
          fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 12 })),
        )
        .map((fields) => {
          const parts: number[] = [];
          for (const [no, wire, payload] of fields) parts.push((no << 3) | wire, payload.length, ...payload);
          return Uint8Array.from(parts.map((b) => b & 0xff));
        }),
    );
    await fc.assert(
      fc.asyncProperty(junk, async (bytes) => {
        parseOrReject(bytes);
      }),
      { numRuns: 500, timeout: RUN_TIMEOUT_MS },
    );
  });
});
