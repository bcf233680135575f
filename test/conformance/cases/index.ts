/** Every family's case table. Adding a family adds one line here. */
import type { OpCase } from '../harness.js';
import { elementwiseCases } from './elementwise.js';
import { layoutCases } from './layout.js';
import { reduceCases } from './reduce.js';

export const allCases: Record<string, OpCase[]> = {
  elementwise: elementwiseCases,
  layout: layoutCases,
  reduce: reduceCases,
};
