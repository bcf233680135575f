/**
 * The ops `bench:ops` knows: for a size, the operand shapes, seeded inputs, the FLOP count
 * and how to run it on the current backend. Sizes are one number so that `--sizes 256,512`
 * reads the same for every op; each entry says what the number means.
 */
import type { Tensor } from '../index.js';
import { add, conv2d, matmul, softmax } from '../index.js';
import { CONV_CHANNELS, OP_NAMES, OP_SIZE_MEANINGS, type OpName } from './catalog.js';
import { seededData } from './harness.js';

export { CONV_CHANNELS, OP_NAMES };

export interface OpInput {
  readonly shape: readonly number[];
  /** Seeded values in f32; the runner converts them to the benchmarked dtype. */
  readonly data: Float32Array;
}

export interface OpCase {
  readonly op: string;
  readonly size: number;
  /** Operand shapes, e.g. `[256,256]x[256,256]`. */
  readonly shape: string;
  readonly inputs: readonly OpInput[];
  /** Floating-point operations of one run (a multiply-add counts 2), or null when not meaningful. */
  readonly flops: number | null;
  /** The op on tensors made from `inputs`, in order, on the current backend. */
  run(inputs: readonly Tensor[]): Tensor;
}

export interface OpBench {
  readonly name: string;
  /** What `size` means, for help text. */
  readonly sizeMeaning: string;
  /** Elements of all inputs at `size`, to refuse sizes that cannot fit before allocating. */
  elements(size: number): number;
  makeCase(size: number, seed: number): OpCase;
}

const shapeText = (shapes: readonly (readonly number[])[]): string => shapes.map((s) => `[${s.join(',')}]`).join('x');

function inputs(shapes: readonly (readonly number[])[], seed: number): OpInput[] {
  return shapes.map((shape, i) => ({
    shape,
    data: seededData(
      shape.reduce((a, b) => a * b, 1),
      seed + i,
    ),
  }));
}

function convShapes(size: number): number[][] {
  return [
    [1, CONV_CHANNELS, size, size],
    [CONV_CHANNELS, CONV_CHANNELS, 3, 3],
  ];
}

// Typed by string (callers look up user input); `satisfies` keeps the entries equal to the catalog's names.
export const OP_BENCHES: Readonly<Record<string, OpBench>> = {
  matmul: {
    name: 'matmul',
    sizeMeaning: OP_SIZE_MEANINGS.matmul,
    elements: (n) => 2 * n * n,
    makeCase(n, seed) {
      const shapes = [
        [n, n],
        [n, n],
      ];
      return {
        op: 'matmul',
        size: n,
        shape: shapeText(shapes),
        inputs: inputs(shapes, seed),
        flops: 2 * n * n * n,
        run: ([a, b]) => matmul(a, b),
      };
    },
  },
  conv2d: {
    name: 'conv2d',
    sizeMeaning: OP_SIZE_MEANINGS.conv2d,
    elements: (s) => CONV_CHANNELS * s * s + CONV_CHANNELS * CONV_CHANNELS * 9,
    makeCase(s, seed) {
      const shapes = convShapes(s);
      return {
        op: 'conv2d',
        size: s,
        shape: shapeText(shapes),
        inputs: inputs(shapes, seed),
        flops: 2 * CONV_CHANNELS * s * s * CONV_CHANNELS * 9,
        run: ([x, w]) => conv2d(x, w, null, { padding: 1 }),
      };
    },
  },
  add: {
    name: 'add',
    sizeMeaning: OP_SIZE_MEANINGS.add,
    elements: (n) => 2 * n * n,
    makeCase(n, seed) {
      const shapes = [
        [n, n],
        [n, n],
      ];
      return {
        op: 'add',
        size: n,
        shape: shapeText(shapes),
        inputs: inputs(shapes, seed),
        flops: n * n,
        run: ([a, b]) => add(a, b),
      };
    },
  },
  softmax: {
    name: 'softmax',
    sizeMeaning: OP_SIZE_MEANINGS.softmax,
    elements: (n) => n * n,
    makeCase(n, seed) {
      const shapes = [[n, n]];
      return {
        op: 'softmax',
        size: n,
        shape: shapeText(shapes),
        inputs: inputs(shapes, seed),
        // exp, sum, max and divide per element depend on the kernel: no honest FLOP count.
        flops: null,
        run: ([x]) => softmax(x, -1),
      };
    },
  },
} satisfies Record<OpName, OpBench>;
