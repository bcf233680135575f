/** The named styles: each a pretrained fast-style network in the model registry. */

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
