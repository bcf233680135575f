/**
 * The style transfer workflow (seed project coreml-stable-diffusion-style-transfer).
 * Commands are added here as they are built.
 */
import type { ProjectSpec } from '../../cli/command.js';

export const project: ProjectSpec = {
  namespace: 'style-transfer',
  aliases: ['coreml-stable-diffusion-style-transfer'],
  summary: 'Fast and arbitrary neural style transfer, Stable Diffusion img2img, ONNX and Core ML export',
  commands: [],
};
