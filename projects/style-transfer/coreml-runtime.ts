/**
 * Core ML itself, through the native addon's Core ML runner (macOS builds only: backends/native/apple.ts
 * `loadCoreMLModel`). The style-transfer workflow's one dependency on it, kept here so a change there touches
 * this file only. UNVERIFIED: this project's machines are Linux; it has never run a converted package.
 * @module
 */
import type { CoreMLRunner } from '../../backends/native/apple.js';

export const COREML_UNVERIFIED_NOTE =
  'Core ML through the native addon: unverified (written and compiled for macOS, never run on Apple hardware by this project)';

/** A loaded Core ML model, or why Core ML cannot run here. */
export async function openCoreML(path: string): Promise<{ runner: CoreMLRunner } | { unavailable: string }> {
  if (process.platform !== 'darwin') return { unavailable: `Core ML runs only on macOS (this is ${process.platform})` };
  try {
    const { loadCoreMLModel } = await import('../../backends/native/apple.js');
    return { runner: loadCoreMLModel(path) };
  } catch (err) {
    return { unavailable: `the native addon could not load ${path} with Core ML: ${(err as Error).message}` };
  }
}
