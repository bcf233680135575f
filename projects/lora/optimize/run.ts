/**
 * `lora:optimize`: a hyperparameter study over lora:train runs (the seed's Optuna study). Trials run one at
 * a time; each trains with the base configuration (--config YAML and flags) plus the sampled parameters,
 * into STUDY/trial-NNN, and its objective is the final validation loss. Median-stopping pruning ends trials
 * whose validation loss is above the median of the finished ones at the same iteration. STUDY/study.json is
 * rewritten atomically after every trial, so a crashed or interrupted study continues where it stopped when
 * run again; STUDY/best.json names the best trial's parameters and adapter, STUDY/report.html charts the
 * validation curves.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CommandContext } from '../../../cli/command.js';
import { UsageError } from '../../../core/errors.js';
import { writeFileAtomic } from '../../../node/atomic-write.js';
import type { OptimizeArgs } from '../commands.js';
import { parseTrainConfig, type TrainConfig } from '../train/config.js';
import { readTrainYaml, trainModel } from '../train/run.js';
import { studyReportHtml } from './report.js';
import { checkSpace, DEFAULT_SPACE, type Params, type SearchSpace, sampleParams, shouldPrune } from './search.js';

const EXIT_INTERRUPTED = 130;
const VERSION = 1;

export interface TrialRecord {
  readonly number: number;
  readonly params: Params;
  readonly state: 'complete' | 'pruned';
  /** Final validation loss (complete), or the last one before pruning. */
  readonly value: number;
  readonly curve: readonly (readonly [number, number])[];
  readonly adapterPath: string | null;
}

export interface Study {
  readonly version: number;
  readonly seed: number;
  readonly space: SearchSpace;
  readonly trials: TrialRecord[];
}

async function readStudy(path: string): Promise<Study | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const s = JSON.parse(text) as Study;
    if (s.version !== VERSION || !Array.isArray(s.trials)) throw new Error(`version ${s.version}`);
    return s;
  } catch (e) {
    throw new UsageError(
      `${path}: not a study file of this version (${(e as Error).message}); move it away or choose --study-path`,
    );
  }
}

function baseConfig(raw: Record<string, unknown>, args: OptimizeArgs): Record<string, unknown> {
  const out = { ...raw };
  delete out.search_space;
  if (args.model !== undefined) out.model = args.model;
  if (args.data !== undefined) out.data = args.data;
  out.iters = args.iters;
  out.steps_per_eval = args['steps-per-eval'];
  out.seed = args.seed;
  return out;
}

function configFor(base: Record<string, unknown>, params: Params, adapterPath: string, where: string): TrainConfig {
  const c: Record<string, unknown> = { ...base, adapter_path: adapterPath };
  c.save_every = c.iters;
  const lora = { ...((c.lora_parameters as Record<string, unknown> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(params)) {
    if (k === 'rank' || k === 'scale' || k === 'dropout') lora[k] = k === 'rank' ? Math.round(v) : v;
    else c[k] = k === 'learning_rate' ? v : Math.round(v);
  }
  c.lora_parameters = lora;
  return parseTrainConfig(c, where);
}

const fmt = (v: number) => (Math.abs(v) < 1e-2 && v !== 0 ? v.toExponential(2) : Number(v.toFixed(4)).toString());

function table(study: Study): string {
  const keys = Object.keys(study.space);
  const rows = [['trial', 'state', ...keys, 'valid loss']];
  for (const t of study.trials)
    rows.push([String(t.number), t.state, ...keys.map((k) => fmt(t.params[k])), t.value.toFixed(4)]);
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return `${rows.map((r) => r.map((c, j) => c.padEnd(widths[j])).join('  ')).join('\n')}\n`;
}

export async function runOptimize(args: OptimizeArgs, ctx: CommandContext): Promise<number> {
  const configPath = args.config === undefined ? undefined : resolve(ctx.cwd, args.config);
  const raw = configPath ? await readTrainYaml(configPath) : {};
  const where = configPath ? `--config ${configPath}` : 'the optimize options';
  const space = raw.search_space === undefined ? DEFAULT_SPACE : checkSpace(raw.search_space, where);
  const base = baseConfig(raw, args);
  const dir = resolve(ctx.cwd, args['study-path']);
  const studyFile = join(dir, 'study.json');
  const study: Study = (await readStudy(studyFile)) ?? { version: VERSION, seed: args.seed, space, trials: [] };
  if (study.trials.length > 0) {
    ctx.log.info(`continuing the study in ${studyFile}: ${study.trials.length} trials done`);
    if (JSON.stringify(study.space) !== JSON.stringify(space)) {
      throw new UsageError(`${studyFile}: the study has another search space; use another --study-path`);
    }
  }
  // Fail on a bad configuration before the first trial.
  configFor(base, sampleParams(space, [], 0, study.seed, 1), join(dir, 'check'), where);

  const startup = args['startup-trials'];
  for (let n = study.trials.length; n < args.trials; n++) {
    const finished = study.trials.filter((t) => t.state === 'complete');
    const params = sampleParams(space, finished, n, study.seed, startup);
    const adapterPath = join(dir, `trial-${String(n).padStart(3, '0')}`);
    ctx.log.info(
      `trial ${n}: ${Object.entries(params)
        .map(([k, v]) => `${k}=${fmt(v)}`)
        .join(', ')}`,
    );
    const curve: [number, number][] = [];
    const outcome = await trainModel(configFor(base, params, adapterPath, where), ctx, {
      onValidation: (iteration, loss) => {
        curve.push([iteration, loss]);
        return shouldPrune(
          finished.map((t) => t.curve),
          iteration,
          loss,
          startup,
        );
      },
    });
    if (outcome === 'interrupted') {
      ctx.log.warn(`interrupted during trial ${n}: ${studyFile} keeps the ${study.trials.length} finished trials`);
      return EXIT_INTERRUPTED;
    }
    if (curve.length === 0)
      throw new UsageError('lora:optimize needs validation data: valid.jsonl and val_batches ≠ 0');
    const value = curve[curve.length - 1][1];
    const state = outcome === 'stopped' ? 'pruned' : 'complete';
    study.trials.push({
      number: n,
      params,
      state,
      value,
      curve,
      adapterPath: state === 'complete' ? adapterPath : null,
    });
    ctx.log.info(`trial ${n}: ${state}, validation loss ${value.toFixed(4)}`);
    await writeFileAtomic(studyFile, `${JSON.stringify(study, null, 2)}\n`);
  }

  const complete = study.trials.filter((t) => t.state === 'complete');
  if (complete.length === 0) throw new UsageError('every trial was pruned; raise --trials or --startup-trials');
  const best = complete.reduce((a, b) => (b.value < a.value ? b : a));
  const bestConfig = configFor(base, best.params, best.adapterPath!, where);
  await writeFileAtomic(
    join(dir, 'best.json'),
    `${JSON.stringify({ trial: best.number, value: best.value, params: best.params, adapterPath: best.adapterPath, config: bestConfig }, null, 2)}\n`,
  );
  const report = join(dir, 'report.html');
  await writeFileAtomic(report, studyReportHtml(study));
  if (!ctx.json) ctx.write(table(study));
  ctx.output(
    {
      studyPath: dir,
      trials: study.trials,
      best: { trial: best.number, value: best.value, params: best.params, adapterPath: best.adapterPath },
      report,
    },
    `best: trial ${best.number}, validation loss ${best.value.toFixed(4)}, adapter in ${best.adapterPath}; chart in ${report}`,
  );
  return 0;
}
