/** Installs the js backend: always available, runs every family's reference kernels. */
import { installBackend, registerKernels } from '../../core/dispatch.js';
import { jsBackend, jsKernels } from './backend.js';
import { families } from './families.js';

export function installJsBackend(): void {
  installBackend(jsBackend, {
    available: true,
    reason: 'plain TypeScript reference kernels (always available; slowest)',
    autoRank: 10,
  });
  for (const family of Object.values(families)) registerKernels('js', jsKernels(family.refKernels));
}
