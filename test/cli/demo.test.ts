import { describe, expect, it } from 'vitest';
import { runDemo } from '../../cli/builtins/demo.js';
import * as T from '../../index.js';

describe('demo', () => {
  it('converges to the closed-form least-squares line and leaks nothing', async () => {
    const r = await runDemo(T, 200);
    // Independent oracle: ordinary least squares on the same seeded points.
    const rng = new T.Rng(2024);
    const xs = Array.from({ length: 256 }, () => rng.uniform() * 2 - 1);
    const ys = xs.map((x) => 3 * x - 2 + 0.1 * rng.normal());
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const slope = sxy / sxx;
    expect(r.slope).toBeCloseTo(slope, 3);
    expect(r.intercept).toBeCloseTo(my - slope * mx, 3);
    expect(r.losses[r.losses.length - 1].loss).toBeLessThan(r.losses[0].loss / 100);
    expect(r.liveTensorsAfter).toBe(0);
  });
});
