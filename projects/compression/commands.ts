/** The model compression workflow (seed project model-compression-mlx). Commands are added here as they are built. */
import type { ProjectSpec } from '../../cli/command.js';

export const project: ProjectSpec = {
  namespace: 'compression',
  aliases: ['model-compression-mlx'],
  summary: 'Quantization, pruning and distillation of models, with memory, speed and quality benchmarks',
  commands: [],
};
