/**
 * Named styles for the diffusion method: a style name stands for a prompt (and a negative prompt) that
 * steer Stable Diffusion img2img towards that look. Small and import-free: the CLI's help lists them.
 */

export interface DiffusionStyle {
  /** What the user types: `--style watercolor`. */
  readonly name: string;
  readonly prompt: string;
  readonly negativePrompt: string;
}

const NEGATIVE = 'blurry, low quality, distorted, watermark, text';

export const DIFFUSION_STYLES: readonly DiffusionStyle[] = [
  { name: 'watercolor', prompt: 'a watercolor painting, soft washes of colour, paper texture' },
  { name: 'oil-painting', prompt: 'an oil painting on canvas, thick impasto brushstrokes' },
  { name: 'van-gogh', prompt: 'a painting in the style of Vincent van Gogh, swirling expressive brushstrokes' },
  { name: 'impressionist', prompt: 'an impressionist painting, dappled light, visible brushstrokes' },
  { name: 'ukiyo-e', prompt: 'a ukiyo-e woodblock print, flat colours, bold outlines' },
  { name: 'pencil-sketch', prompt: 'a detailed pencil sketch, graphite shading on white paper' },
  { name: 'anime', prompt: 'an anime illustration, clean line art, cel shading' },
  { name: 'pop-art', prompt: 'pop art, bold halftone dots, saturated flat colours' },
  { name: 'cyberpunk', prompt: 'a cyberpunk scene, neon lights, futuristic city atmosphere' },
].map((s) => ({ ...s, negativePrompt: NEGATIVE }));

export function findDiffusionStyle(name: string): DiffusionStyle | undefined {
  return DIFFUSION_STYLES.find((s) => s.name === name.toLowerCase());
}

/** Defaults of the diffusion method (img2img keeps the picture at strength 0.6 while restyling it). */
export const DIFFUSION_DEFAULTS = {
  model: 'tiny-sd',
  strength: 0.6,
  steps: 25,
  guidance: 7.5,
  seed: 0,
} as const;
