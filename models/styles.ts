/**
 * The style-transfer models the workflow, the benchmarks and the browser demo share: the named
 * styles (each a pretrained fast-style network in the model registry), the arbitrary-style
 * networks, and the image sides they run at.
 */

/** Output image sides (long side, pixels) the style networks are run at, by default and at most. */
export const DEFAULT_SIZE = 512;
export const MIN_SIZE = 16;
export const MAX_SIZE = 2048;

/** The smallest side (pixels) the style networks take: their 9×9 reflect padding needs 5. */
export const MIN_NETWORK_SIDE = 5;

/** Side of the square style images are scaled to for style prediction (arbitrary style). */
export const MIN_STYLE_SIZE = 32;
export const MAX_STYLE_SIZE = 1024;

export interface NamedStyle {
  /** What the user types: `--style mosaic`. */
  readonly name: string;
  /** The model registry entry that holds its weights. */
  readonly model: string;
  readonly file: string;
  readonly title: string;
  readonly license: string;
  readonly source: string;
}

const SOURCE = 'pytorch/examples fast_neural_style via the ONNX Model Zoo (Johnson et al. 2016)';

export const NAMED_STYLES: readonly NamedStyle[] = [
  { name: 'candy', title: 'Candy' },
  { name: 'mosaic', title: 'Mosaic' },
  { name: 'pointilism', title: 'Pointillism' },
  { name: 'rain-princess', title: 'Rain Princess (Leonid Afremov)' },
  { name: 'udnie', title: 'Udnie (Francis Picabia)' },
].map((s) => ({
  ...s,
  model: `fast-neural-style-${s.name}`,
  file: `${s.name}.onnx`,
  license: 'BSD-3-Clause',
  source: SOURCE,
}));

export const DEFAULT_STYLE = 'mosaic';

export function findStyle(name: string): NamedStyle | undefined {
  return NAMED_STYLES.find((s) => s.name === name.toLowerCase());
}

/** Which weights the arbitrary-style transfer network uses; both files hold the same network. */
export type ArbitraryWeights = 'int8' | 'fp16';

export const ARBITRARY_WEIGHTS: readonly ArbitraryWeights[] = ['int8', 'fp16'];

/** Arbitrary style (any image as the style): Magenta's two networks, from one model registry entry. */
export interface ArbitraryStyleModel {
  readonly weights: ArbitraryWeights;
  /** The model registry entry that holds both files. */
  readonly model: string;
  /** Style prediction network (style image → 100-d style vector). */
  readonly prediction: string;
  /** Style transfer network (content image + style vector → stylised image). */
  readonly transfer: string;
  readonly title: string;
  readonly license: string;
  readonly source: string;
}

const MAGENTA_SOURCE = 'Magenta arbitrary image stylization v1-256 via TF Hub / TF Lite (Ghiasi et al. 2017)';
const MAGENTA_PREDICTION = 'magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite';

export const ARBITRARY_STYLE_MODELS: Readonly<Record<ArbitraryWeights, ArbitraryStyleModel>> = {
  int8: {
    weights: 'int8',
    model: 'magenta-arbitrary',
    prediction: MAGENTA_PREDICTION,
    transfer: 'magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite',
    title: 'Arbitrary style from any image (int8 weights)',
    license: 'Apache-2.0',
    source: MAGENTA_SOURCE,
  },
  fp16: {
    weights: 'fp16',
    model: 'magenta-arbitrary-fp16',
    prediction: MAGENTA_PREDICTION,
    transfer: 'magenta_arbitrary-image-stylization-v1-256_fp16_transfer_384.tflite',
    title: 'Arbitrary style from any image (float16 transfer weights)',
    license: 'Apache-2.0',
    source: MAGENTA_SOURCE,
  },
};

export const DEFAULT_ARBITRARY_WEIGHTS: ArbitraryWeights = 'int8';
