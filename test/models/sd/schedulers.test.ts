/**
 * Schedulers: the check values of formats.md §6 (from diffusers), and an oracle that needs no reference
 * implementation — given the true noise of x_t = √ᾱ·x₀ + √(1−ᾱ)·ε (or the true v), every deterministic
 * scheduler's step lands exactly on the same x₀ and ε at the next noise level, so a whole denoising loop
 * returns x₀. The numbers against diffusers' own arithmetic are in oracle.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../../index.js';
import {
  alphasCumprod,
  createScheduler,
  parseSchedulerConfig,
  SCHEDULER_NAMES,
  type SchedulerConfig,
  type SchedulerName,
  SD_SCHEDULER_CONFIG,
} from '../../../models/sd/schedulers/index.js';

const SHAPE = [1, 4, 3, 5];

async function values(t: T.Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

describe('noise schedule and timesteps (formats.md check values)', () => {
  it('ᾱ₀ = 0.99915, ᾱ₉₉₉ = 0.0046601', () => {
    const a = alphasCumprod(SD_SCHEDULER_CONFIG);
    expect(a[0]).toBeCloseTo(0.99915, 5);
    expect(a[999]).toBeCloseTo(0.0046601, 6);
  });

  it('DDIM "leading", 50 steps: 981, 961, …, 1; strength 0.8 starts at t = 781 (√ᾱ 0.20846, √(1−ᾱ) 0.97803)', () => {
    const s = createScheduler(SD_SCHEDULER_CONFIG, 'ddim');
    s.setTimesteps(50);
    expect(s.timesteps[0]).toBe(981);
    expect(s.timesteps[1]).toBe(961);
    expect(s.timesteps[49]).toBe(1);
    const start = 50 - Math.min(Math.floor(50 * 0.8), 50);
    const t = s.timesteps[start];
    expect(t).toBe(781);
    const a = alphasCumprod(SD_SCHEDULER_CONFIG)[t];
    expect(Math.sqrt(a)).toBeCloseTo(0.20846, 5);
    expect(Math.sqrt(1 - a)).toBeCloseTo(0.97803, 5);
  });

  it('Euler "linspace", 50 steps, strength 0.8: t₀ = 795.122, σ = 4.99886; σ_max 14.6147', () => {
    const s = createScheduler(SD_SCHEDULER_CONFIG, 'euler') as ReturnType<typeof createScheduler> & {
      sigmas: number[];
    };
    s.setTimesteps(50);
    expect(s.timesteps[10]).toBeCloseTo(795.122, 3);
    expect(s.sigmas[10]).toBeCloseTo(4.99886, 4);
    expect(s.initNoiseSigma).toBeCloseTo(14.6147, 3);
    expect(s.sigmas[50]).toBe(0);
  });

  it('PNDM (skip_prk_steps) repeats the second timestep; spacings "linspace" and "trailing" as diffusers', () => {
    const p = createScheduler({ ...SD_SCHEDULER_CONFIG, className: 'PNDMScheduler', skipPrkSteps: true });
    p.setTimesteps(50);
    expect(p.name).toBe('pndm');
    expect(p.timesteps.slice(0, 4)).toEqual([981, 961, 961, 941]);
    expect(p.timesteps).toHaveLength(51);
    const lin = createScheduler({ ...SD_SCHEDULER_CONFIG, timestepSpacing: 'linspace' }, 'ddim');
    lin.setTimesteps(4);
    expect(lin.timesteps).toEqual([999, 666, 333, 0]);
    const trail = createScheduler({ ...SD_SCHEDULER_CONFIG, timestepSpacing: 'trailing' }, 'ddim');
    trail.setTimesteps(4);
    expect(trail.timesteps).toEqual([999, 749, 499, 249]);
    const dpm = createScheduler(SD_SCHEDULER_CONFIG, 'dpm-solver++');
    dpm.setTimesteps(4);
    // np.linspace(0, 999, 5).round()[::-1][:-1]
    expect(dpm.timesteps).toEqual([999, 749, 500, 250]);
  });
});

/**
 * A perfect model: it knows x₀ and ε, and at noise level (α, σ) returns ε or v = α·ε − σ·x₀. Each scheduler
 * sees its own parametrisation through `level(i)`.
 */
async function runWithTrueNoise(name: SchedulerName, config: SchedulerConfig, steps: number, start: number) {
  const s = createScheduler(config, name);
  s.setTimesteps(steps);
  const x0 = T.randomNormal(SHAPE, 0, 1, { rng: new T.Rng(1) });
  const eps = T.randomNormal(SHAPE, 0, 1, { rng: new T.Rng(2) });
  const ac = alphasCumprod(config);
  const sig = (s as unknown as { sigmas?: number[] }).sigmas;
  /** (α, σ) of the model input at step i, in the VP form the UNet sees. */
  const level = (i: number): [number, number] => {
    if (sig) {
      const a = 1 / Math.sqrt(sig[i] ** 2 + 1);
      return [a, sig[i] * a];
    }
    return [Math.sqrt(ac[s.timesteps[i]]), Math.sqrt(1 - ac[s.timesteps[i]])];
  };
  let x = s.addNoise(x0, eps, start);
  for (let i = start; i < s.timesteps.length; i++) {
    const [a, b] = level(i);
    const out = config.predictionType === 'epsilon' ? T.mul(eps, 1) : T.tidy(() => T.sub(T.mul(eps, a), T.mul(x0, b)));
    const next = s.step(out, i, x);
    x.dispose();
    x = next;
  }
  const got = await values(x);
  const want = await values(x0);
  T.dispose([x, x0, eps]);
  s.dispose();
  let err = 0;
  for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err;
}

describe('every deterministic scheduler recovers x₀ from the true noise', () => {
  for (const name of ['ddim', 'euler', 'dpm-solver++', 'pndm'] as const) {
    // PNDM combines raw model outputs of several levels before converting v to ε, so with v-prediction even
    // the true v does not give an exact step (diffusers does the same); its ε path is exact.
    for (const prediction of name === 'pndm' ? (['epsilon'] as const) : (['epsilon', 'v_prediction'] as const)) {
      it(`${name}, ${prediction}, txt2img and img2img`, async () => {
        const config = { ...SD_SCHEDULER_CONFIG, predictionType: prediction, setAlphaToOne: true };
        // ᾱ_prev = 1 after the last DDIM/PNDM step makes the final sample x₀ itself.
        expect(await runWithTrueNoise(name, config, 20, 0)).toBeLessThan(2e-4);
        // PNDM img2img is left out on purpose: diffusers' PLMS treats the second call as the repeated timestep
        // wherever the loop starts, so from mid-schedule it steps from a level the sample is not at. We keep that
        // behaviour (oracle.test.ts matches diffusers' arithmetic on it) and show the mismatch below.
        if (name !== 'pndm') expect(await runWithTrueNoise(name, config, 20, 8)).toBeLessThan(2e-4);
        expect(T.memory().tensors).toBe(0);
      });
    }
  }

  it("PNDM img2img follows diffusers' timestep bookkeeping, which does not recover x₀ mid-schedule", async () => {
    const config = { ...SD_SCHEDULER_CONFIG, setAlphaToOne: true };
    expect(await runWithTrueNoise('pndm', config, 20, 8)).toBeGreaterThan(0.01);
  });

  it('a wrong model output does not recover x₀ (the check can fail)', async () => {
    const s = createScheduler(SD_SCHEDULER_CONFIG, 'ddim');
    s.setTimesteps(5);
    const x = T.randomNormal(SHAPE, 0, 1, { rng: new T.Rng(3) });
    const y = s.step(T.zeros(SHAPE), 0, x);
    // With ε = 0 the DDIM step only rescales: x·√(ᾱ_prev/ᾱ_t).
    const a = alphasCumprod(SD_SCHEDULER_CONFIG);
    const ratio = Math.sqrt(a[s.timesteps[1]] / a[s.timesteps[0]]);
    const [xs, ys] = [await values(x), await values(y)];
    for (let i = 0; i < xs.length; i++) expect(ys[i]).toBeCloseTo(xs[i] * ratio, 5);
    T.dispose([x, y]);
  });
});

describe('Euler ancestral', () => {
  it('adds σ_up noise per step from its generator: the same seed repeats, another differs', async () => {
    const run = async (seed: number) => {
      const s = createScheduler(SD_SCHEDULER_CONFIG, 'euler-ancestral', { rng: new T.Rng(seed) });
      s.setTimesteps(10);
      let x = T.zeros(SHAPE);
      for (let i = 0; i < 10; i++) {
        const next = s.step(T.zeros(SHAPE), i, x);
        x.dispose();
        x = next;
      }
      const v = await values(x);
      x.dispose();
      return v;
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
    // With ε = 0 and x = 0 only the injected noise remains: its spread is √Σσ_up² scaled by the σ ratios.
    expect(a.some((v) => v !== 0)).toBe(true);
  });
});

describe('scheduler configs', () => {
  it('reads diffusers configs and refuses what is not implemented, naming the key', () => {
    const file = 'scheduler_config.json';
    const c = parseSchedulerConfig({ _class_name: 'PNDMScheduler', skip_prk_steps: true, steps_offset: 1 }, file);
    expect(c.className).toBe('PNDMScheduler');
    expect(c.timestepSpacing).toBeUndefined();
    expect(() => parseSchedulerConfig({ rescale_betas_zero_snr: true }, file)).toThrow(/rescale_betas_zero_snr/);
    expect(() => parseSchedulerConfig({ prediction_type: 'sample' }, file)).toThrow(
      /prediction_type "sample" is not supported; expected one of epsilon, v_prediction/,
    );
    expect(() => parseSchedulerConfig({ solver_order: 3 }, file)).toThrow(/solver_order 3 is not supported/);
    expect(() => createScheduler({ ...c, className: 'LMSDiscreteScheduler' })).toThrow(
      /LMSDiscreteScheduler is not implemented; choose one with --scheduler/,
    );
    expect(() => createScheduler({ ...c, skipPrkSteps: false })).toThrow(/skip_prk_steps false/);
    const s = createScheduler(SD_SCHEDULER_CONFIG, 'ddim');
    expect(() => s.setTimesteps(0)).toThrow(/steps 0 is out of range: use an integer from 1 to 1000/);
    expect(SCHEDULER_NAMES).toContain('dpm-solver++');
  });
});
