/** Installs the js backend: always available, runs every family's reference kernels. */
import { installBackend, registerKernels } from '../../core/dispatch.js';
import { refKernels as attention } from '../../kernels/attention/ref.js';
import { refKernels as conv } from '../../kernels/conv/ref.js';
import { refKernels as elementwise } from '../../kernels/elementwise/ref.js';
import { refKernels as image } from '../../kernels/image/ref.js';
import { refKernels as layout } from '../../kernels/layout/ref.js';
import { refKernels as loss } from '../../kernels/loss/ref.js';
import { refKernels as matmul } from '../../kernels/matmul/ref.js';
import { refKernels as norm } from '../../kernels/norm/ref.js';
import { refKernels as pool } from '../../kernels/pool/ref.js';
import { refKernels as quant } from '../../kernels/quant/ref.js';
import { refKernels as reduce } from '../../kernels/reduce/ref.js';
import { refKernels as rope } from '../../kernels/rope/ref.js';
import { refKernels as softmax } from '../../kernels/softmax/ref.js';
import { jsBackend, jsKernels } from './backend.js';

/** One line per kernel family: adding a family adds its reference table here. */
const families = [elementwise, layout, reduce, rope, attention, matmul, softmax, norm, loss, conv, pool, image, quant];

export function installJsBackend(): void {
  installBackend(jsBackend, {
    available: true,
    reason: 'plain TypeScript reference kernels (always available; slowest)',
    autoRank: 10,
  });
  for (const table of families) registerKernels('js', jsKernels(table));
}
