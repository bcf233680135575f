/**
 * `bench:ops`: median time and GFLOPS per op × size × backend, with the js backend measured
 * in the same run on the same seeded inputs as the baseline of every ratio. The js reference
 * kernels are slow, so large cases run js once without warm-up (said in the record) and
 * cases over a FLOP budget skip js (said in the report). Unavailable backends are listed
 * with their reason.
 */
import type { BackendName, DType } from '../index.js';
import { type MeasureOptions, makeRecord, withBaseline } from './harness.js';
import { machineInfo } from './machine.js';
import { OP_BENCHES, OP_NAMES } from './ops.js';
import type { BenchRecord, BenchReport, SuiteRunOptions } from './record.js';
import { type BackendStatus, backendStatus, measureOnBackend, setBackendThreads, unavailableOf } from './toolkit.js';

/** Above this many FLOPs per run, js runs once without warm-up. */
export const JS_SINGLE_RUN_FLOPS = 5e8;

export interface OpsSuiteOptions extends SuiteRunOptions {
  readonly backends: readonly BackendName[];
  readonly ops: readonly string[];
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly warmup: number;
  /** Threads for backends that take a count (native, wasm); default: their own. */
  readonly threads?: number;
  readonly dtype: DType;
  readonly seed: number;
  /** js is not measured for cases above this many GFLOP per run. */
  readonly jsMaxGflop: number;
  /** Seconds one measurement may take before its remaining runs are dropped (slow emulated adapters, js). */
  readonly budgetS: number;
}

/** Checks names and sizes before anything runs. @throws RangeError naming the bad value. */
export function checkOpsOptions(o: Pick<OpsSuiteOptions, 'ops' | 'sizes'>): void {
  for (const op of o.ops) {
    if (!OP_BENCHES[op]) throw new RangeError(`unknown op '${op}': choose from ${OP_NAMES.join(', ')}`);
  }
  for (const s of o.sizes) {
    if (!Number.isInteger(s) || s < 1) throw new RangeError(`size ${s} is not a positive integer`);
    for (const op of o.ops) {
      const elements = OP_BENCHES[op].elements(s);
      // Seeded inputs live in JS memory once per case; keep them well under typed-array limits.
      if (elements > 2 ** 28) {
        throw new RangeError(
          `${op} at size ${s} needs ${elements} input elements (over 2^28): choose a smaller --sizes`,
        );
      }
    }
  }
}

export async function runOpsSuite(o: OpsSuiteOptions): Promise<BenchReport> {
  checkOpsOptions(o);
  const machine = o.machine ?? machineInfo();
  // js is the baseline of every ratio, so it is measured whether or not it was asked for.
  const names: BackendName[] = ['js', ...o.backends.filter((b) => b !== 'js')];
  const statuses: BackendStatus[] = [];
  for (const n of names) statuses.push(await backendStatus(n));
  const usable = statuses.filter((s) => s.available);
  o.onPlan?.(o.ops.length * o.sizes.length * usable.length);
  const notes: string[] = [
    `median of ${o.runs} timed runs after ${o.warmup} warm-up runs; ratio = js median ÷ backend median on the same seeded inputs in this run (above 1: faster than js)`,
    `js runs once without warm-up for cases over ${JS_SINGLE_RUN_FLOPS / 1e9} GFLOP and is skipped over ${o.jsMaxGflop} GFLOP (--js-max-gflop): those rows have no ratio`,
  ];
  if (!o.backends.includes('js')) notes.push('js was measured as the baseline although not asked for');
  for (const s of usable) {
    if (s.adapter?.emulated) {
      notes.push(
        `webgpu adapter "${s.adapter.description}" is CPU-emulated — not GPU speed: use it for correctness only`,
      );
    }
  }
  const records: BenchRecord[] = [];
  for (const opName of o.ops) {
    for (const size of o.sizes) {
      const c = OP_BENCHES[opName].makeCase(size, o.seed);
      let baseline: BenchRecord | undefined;
      for (const status of usable) {
        const isJs = status.name === 'js';
        const recordNotes: string[] = [];
        let opts: MeasureOptions = { runs: o.runs, warmup: o.warmup, signal: o.signal, budgetMs: o.budgetS * 1000 };
        if (isJs && c.flops !== null && c.flops > o.jsMaxGflop * 1e9) {
          o.onMeasured?.(`${opName} ${size} js (skipped)`);
          continue;
        }
        if (isJs && c.flops !== null && c.flops > JS_SINGLE_RUN_FLOPS && (o.runs > 1 || o.warmup > 0)) {
          opts = { runs: 1, warmup: 0, signal: o.signal };
          recordNotes.push('js baseline: 1 run, no warm-up (slow reference kernel)');
        }
        const setting =
          o.threads === undefined
            ? { threads: status.threads, note: null, restore: async () => {} }
            : await setBackendThreads(status, o.threads);
        if (setting.note) recordNotes.push(setting.note);
        try {
          const run = await measureOnBackend(status, c, o.dtype, opts);
          const m = run.measurement;
          if (m.runs < opts.runs || m.warmup < opts.warmup) {
            recordNotes.push(
              `${m.runs} of ${opts.runs} runs after ${m.warmup} of ${opts.warmup} warm-ups: over the ${o.budgetS} s budget per measurement (--budget-s)`,
            );
          }
          let rec = makeRecord(
            {
              suite: 'ops',
              op: opName,
              size,
              shape: c.shape,
              backend: status.name,
              kind: 'toolkit',
              threads: setting.threads,
              dtype: o.dtype,
              flops: c.flops,
              machine,
              adapter: status.adapter,
              notes: [...recordNotes, ...run.notes],
              fallbacks: run.fallbacks,
            },
            run.measurement,
          );
          if (isJs) baseline = rec;
          rec = withBaseline(rec, baseline, 'js');
          if (!baseline && !isJs)
            rec = { ...rec, notes: [...rec.notes, 'no js baseline at this size (over --js-max-gflop)'] };
          records.push(rec);
        } catch (err) {
          if (o.signal?.aborted) throw err;
          notes.push(`${opName} ${size} on ${status.name} failed: ${(err as Error).message}`);
        } finally {
          await setting.restore();
        }
        o.onMeasured?.(`${opName} ${size} ${status.name}`);
      }
    }
  }
  return { suite: 'ops', command: o.command, machine, records, unavailable: unavailableOf(statuses), notes };
}
