/** The LoRA fine-tuning workflow (seed project lora-finetuning-mlx). Commands are added here as they are built. */
import type { ProjectSpec } from '../../cli/command.js';

export const project: ProjectSpec = {
  namespace: 'lora',
  aliases: ['lora-finetuning-mlx'],
  summary: 'LoRA, DoRA and QLoRA fine-tuning of Llama-family language models: train, fuse, generate, serve',
  commands: [],
};
