/** Every family's case table. Adding a family adds one line here. */
import type { OpCase } from '../harness.js';
import { attentionCases } from './attention.js';
import { convCases } from './conv.js';
import { elementwiseCases } from './elementwise.js';
import { imageCases } from './image.js';
import { layoutCases } from './layout.js';
import { lossCases } from './loss.js';
import { matmulCases } from './matmul.js';
import { normCases } from './norm.js';
import { poolCases } from './pool.js';
import { quantCases } from './quant.js';
import { reduceCases } from './reduce.js';
import { ropeCases } from './rope.js';
import { softmaxCases } from './softmax.js';

export const allCases: Record<string, OpCase[]> = {
  elementwise: elementwiseCases,
  layout: layoutCases,
  reduce: reduceCases,
  rope: ropeCases,
  attention: attentionCases,
  matmul: matmulCases,
  softmax: softmaxCases,
  norm: normCases,
  loss: lossCases,
  conv: convCases,
  pool: poolCases,
  image: imageCases,
  quant: quantCases,
};
