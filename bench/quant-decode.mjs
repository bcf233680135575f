// The decode-shaped quantized matmul benchmark (bench/quant-decode.ts): f32 matmul against 8-
// and 4-bit quantizedMatmul at a ~110M Llama layer's weight shapes, weight GB/s streamed.
//
//   node bench/quant-decode.mjs [--backends native,wasm] [--runs 30] [--write-results]
//
// After `npm run build`. Prints the Markdown table and then the report as one JSON line;
// --write-results rewrites the quant-decode section of bench/RESULTS.md.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const dist = (p) => import(pathToFileURL(resolve(import.meta.dirname, '../dist', p)).href);
await dist('backends/node.js');
const { runDecodeBench, decodeMarkdown } = await dist('bench/quant-decode.js');
const { writeResultsSection } = await dist('bench/results-md.js');

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'native,wasm' },
    runs: { type: 'string', default: '30' },
    'write-results': { type: 'boolean', default: false },
  },
});
const backends = values.backends.split(',').filter(Boolean);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs: '${values.runs}' is not an integer ≥ 1`);
const report = await runDecodeBench({ backends, runs, warmup: 5 });
const table = decodeMarkdown(report, `node bench/quant-decode.mjs --backends ${backends.join(',')} --runs ${runs}`);
console.log(table);
console.log(JSON.stringify(report));
if (values['write-results']) {
  const file = resolve(import.meta.dirname, 'RESULTS.md');
  await writeResultsSection(file, 'quant-decode', table);
  console.log(`rewrote the quant-decode section of ${file}`);
}
