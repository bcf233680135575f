import * as T from '../../../index.js';
import { BF16, type OpCase } from '../harness.js';

const fns = { softmax: T.softmax, logSoftmax: T.logSoftmax };

export const softmaxCases: OpCase[] = Object.entries(fns).flatMap(
  ([name, fn]) =>
    [
      { name: `${name} [257]`, inputs: [{ shape: [257] }], run: ([x]) => fn(x), grad: true, dtypes: BF16 },
      { name: `${name} axis 0 of [7,33]`, inputs: [{ shape: [7, 33] }], run: ([x]) => fn(x, 0), grad: true },
      {
        name: `${name} axis 1 of transposed [2,7,33]`,
        inputs: [{ shape: [2, 7, 33], layout: 'transposed' }],
        run: ([x]) => fn(x, 1),
      },
      { name: `${name} axis -1 of sliced [7,33]`, inputs: [{ shape: [7, 33], layout: 'sliced' }], run: ([x]) => fn(x) },
      { name: `${name} over a single element [33,1]`, inputs: [{ shape: [33, 1] }], run: ([x]) => fn(x), grad: true },
      // Lines of 256+ get a workgroup each on WebGPU: exactly one element per thread, then
      // several, contiguous and strided.
      { name: `${name} [7,256]`, inputs: [{ shape: [7, 256] }], run: ([x]) => fn(x) },
      { name: `${name} [2,1000]`, inputs: [{ shape: [2, 1000] }], run: ([x]) => fn(x), grad: true },
      { name: `${name} axis 0 of [257,7]`, inputs: [{ shape: [257, 7] }], run: ([x]) => fn(x, 0) },
      {
        name: `${name} axis 1 of sliced [2,300,3]`,
        inputs: [{ shape: [2, 300, 3], layout: 'sliced' }],
        run: ([x]) => fn(x, 1),
      },
      {
        // exp(±1000) overflows every float type: only the max-subtracted form stays finite.
        name: `${name} of logits in [-1000, 1000], [7,33]`,
        inputs: [{ shape: [7, 33], kind: 'uniform', range: [-1000, 1000] }],
        run: ([x]) => fn(x),
      },
      {
        name: `${name} of logits in [-1000, 1000], [3,777]`,
        inputs: [{ shape: [3, 777], kind: 'uniform', range: [-1000, 1000] }],
        run: ([x]) => fn(x),
      },
      {
        name: `${name} of i32 rejected`,
        inputs: [{ shape: [7], dtype: 'i32' }],
        run: ([x]) => fn(x),
        throws: /needs a float tensor, got i32/,
        dtypes: ['f32'],
      },
      {
        name: `${name} axis out of range rejected`,
        inputs: [{ shape: [7, 33] }],
        run: ([x]) => fn(x, 2),
        throws: /axis 2 is out of range/,
        dtypes: ['f32'],
      },
    ] satisfies OpCase[],
);
