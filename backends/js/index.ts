/** Installs the js backend: always available, runs every family's reference kernels. */
import { installBackend, registerKernels } from '../../core/dispatch.js';
import { refKernels as elementwise } from '../../kernels/elementwise/ref.js';
import { refKernels as layout } from '../../kernels/layout/ref.js';
import { refKernels as reduce } from '../../kernels/reduce/ref.js';
import { jsBackend, jsKernels } from './backend.js';

/** One line per kernel family: adding a family adds its reference table here. */
const families = [elementwise, layout, reduce];

export function installJsBackend(): void {
  installBackend(jsBackend, {
    available: true,
    reason: 'plain TypeScript reference kernels (always available; slowest)',
    autoRank: 10,
  });
  for (const table of families) registerKernels('js', jsKernels(table));
}
