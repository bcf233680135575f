/**
 * What the benchmark commands offer, without the code that measures it: their option specs and help
 * (which `--help` loads) read these, so listing the commands never loads the tensor core.
 */

/** Channels of the conv benchmark: the style-transfer networks' first residual width. */
export const CONV_CHANNELS = 32;

/** The ops `bench:ops` knows, and what its one size number means for each. */
export const OP_SIZE_MEANINGS = {
  matmul: 'n: [n,n]·[n,n]',
  conv2d: `s: x [1,${CONV_CHANNELS},s,s] * w [${CONV_CHANNELS},${CONV_CHANNELS},3,3], padding 1`,
  add: 'n: [n,n]+[n,n] (memory-bound)',
  softmax: 'n: softmax over the last axis of [n,n]',
} as const;

export type OpName = keyof typeof OP_SIZE_MEANINGS;

export const OP_NAMES = Object.keys(OP_SIZE_MEANINGS) as readonly OpName[];

/** The fast-style network's output may be this far (0..255 scale) from onnxruntime-node's: issue 5's bound. */
export const STYLE_TOLERANCE = 2;

/** bench:style's targets are set for this image side. */
export const TARGET_SIZE = 512;
