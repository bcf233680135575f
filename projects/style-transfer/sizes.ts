/**
 * Image sizes the pipeline accepts, in a module of their own: the CLI's option specs (which `--help`
 * loads) need them without loading the pipeline and the tensor core.
 */

/** Long side of the output in pixels, by default and at most. */
export const DEFAULT_SIZE = 512;
export const MIN_SIZE = 16;
export const MAX_SIZE = 2048;

/** The smallest side (pixels) the style networks take: their 9×9 reflect padding needs 5. */
export const MIN_NETWORK_SIDE = 5;

/** Side of the square style images are scaled to for style prediction (arbitrary style). */
export const MIN_STYLE_SIZE = 32;
export const MAX_STYLE_SIZE = 1024;
