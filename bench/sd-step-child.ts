/**
 * One process per measurement of `bench:sd` (spawned by ./sd-suite.ts), so each runtime's peak resident
 * memory (getrusage's max RSS) is its own, as the PyTorch peer's is: weights, inputs and activations.
 *
 *   node dist/bench/sd-step-child.js write DIR SEED [CONFIG_JSON]
 *       the generated weights (safetensors), config and the step's inputs for the peer
 *   node dist/bench/sd-step-child.js step BACKEND THREADS RUNS WARMUP SEED OUT_F32 [CONFIG_JSON]
 *       time UNet.forward on BACKEND; print one JSON line; write the output for the cross-check
 * @module
 */
import { writeFile } from 'node:fs/promises';
import '../backends/node.js';
import * as T from '../index.js';
import { measure } from './harness.js';
import { withPeakTensorBytes } from './peak-memory.js';
import {
  generatedUnet,
  peerPath,
  SD15_STEP,
  SD15_UNET_CONFIG,
  stepInputs,
  writeFloats,
  writeGeneratedSafetensors,
} from './sd-unet.js';
import { backendStatus, setBackendThreads } from './toolkit.js';

export interface StepChildResult {
  readonly samples: readonly number[];
  readonly warmup: number;
  readonly threads: number | null;
  readonly threadNote: string | null;
  readonly maxRssBytes: number;
  readonly peakTensorBytes: number;
  readonly parameters: number;
  readonly buildMs: number;
  /** What ran somewhere other than the backend asked for, during the timed runs. */
  readonly fallbacks: readonly T.FallbackEntry[];
}

async function main(argv: string[]): Promise<void> {
  const [mode, ...rest] = argv;
  if (mode === 'write') {
    const [dir, seed, configJson] = rest;
    await T.setBackend('js');
    const config = configJson ? JSON.parse(configJson) : SD15_UNET_CONFIG;
    const shapes = { ...SD15_STEP, ...(config.sample_size ? { latent: config.sample_size } : {}) };
    const m = generatedUnet(Number(seed), config);
    await writeGeneratedSafetensors(peerPath(dir, 'weights'), m.weights);
    const inputs = stepInputs(m.config, shapes, Number(seed));
    await writeFloats(peerPath(dir, 'sample'), inputs.sample);
    await writeFloats(peerPath(dir, 'context'), inputs.context);
    await writeFile(peerPath(dir, 'config'), JSON.stringify(config));
    await writeFile(
      peerPath(dir, 'shapes'),
      JSON.stringify({ sample: inputs.sampleShape, context: inputs.contextShape, timestep: shapes.timestep }),
    );
    m.unet.dispose();
    process.stdout.write(`${JSON.stringify({ parameters: m.parameters })}\n`);
    return;
  }
  if (mode !== 'step') throw new Error(`sd-step-child: unknown mode ${mode}`);
  const [backend, threads, runs, warmup, seed, out, configJson] = rest;
  const status = await backendStatus(backend as T.BackendName);
  if (!status.available) throw new Error(`${backend}: ${status.reason}`);
  await T.setBackend(backend as T.BackendName);
  const setting = await setBackendThreads(status, Number(threads));
  const config = configJson ? JSON.parse(configJson) : SD15_UNET_CONFIG;
  const shapes = { ...SD15_STEP, ...(config.sample_size ? { latent: config.sample_size } : {}) };
  const t0 = performance.now();
  const m = generatedUnet(Number(seed), config);
  // The peer reads the values from the file; here they only had to reach the backend.
  for (const g of m.weights.generated.values()) g.data = new Float32Array(0);
  const inputs = stepInputs(m.config, shapes, Number(seed));
  const sample = T.tensor(inputs.sample, inputs.sampleShape);
  const context = T.tensor(inputs.context, inputs.contextShape);
  const buildMs = performance.now() - t0;
  let last: Float32Array | null = null;
  const ledgerBefore = T.fallbackLedger();
  const { result, peakBytes } = await withPeakTensorBytes(() =>
    measure(
      async () => {
        const y = m.unet.forward(sample, shapes.timestep, context);
        try {
          last = Float32Array.from(await y.data());
        } finally {
          y.dispose();
        }
      },
      { runs: Number(runs), warmup: Number(warmup) },
    ),
  );
  const fallbacks = T.ledgerDelta(ledgerBefore, T.fallbackLedger());
  if (last) await writeFloats(out, last);
  const r: StepChildResult = {
    samples: result.samples,
    warmup: result.warmup,
    threads: setting.threads,
    threadNote: setting.note,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakTensorBytes: peakBytes,
    parameters: m.parameters,
    buildMs,
    fallbacks,
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
  T.dispose([sample, context]);
  m.unet.dispose();
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
