// Rotary position embedding for the wasm backend: a cos/sin table per position (rope_table,
// units are positions), then one rotation per feature pair of every row (rope_f32, units are
// rows of the last axis).

/**
 * table[t, i] = (cos, sin) of sign·(offset + t)·scale·θ_i with θ_i = exp(−i·ln(base)/half), as
 * the reference computes it (in f64).
 */
export function rope_table(table: usize, half: i32, offset: f64, scale: f64, logBase: f64, sign: f64, u0: i32, u1: i32, tid: i32): void {
  for (let t = u0; t < u1; t++) {
    const position = (offset + <f64>t) * scale;
    const row = table + (<usize>(t * half * 2) << 2);
    for (let i = 0; i < half; i++) {
      const angle = sign * position * Math.exp((-<f64>i * logBase) / <f64>half);
      store<f32>(row + (<usize>(2 * i) << 2), <f32>Math.cos(angle));
      store<f32>(row + (<usize>(2 * i + 1) << 2), <f32>Math.sin(angle));
    }
  }
}

export function rope_f32(
  x: usize,
  y: usize,
  table: usize,
  seq: i32,
  d: i32,
  dims: i32,
  traditional: bool,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  const half = dims / 2;
  for (let row = u0; row < u1; row++) {
    const t = row % seq;
    const xr = x + (<usize>row * <usize>d << 2);
    const yr = y + (<usize>row * <usize>d << 2);
    const cs = table + (<usize>(t * half * 2) << 2);
    for (let i = 0; i < half; i++) {
      const c = load<f32>(cs + (<usize>(2 * i) << 2));
      const s = load<f32>(cs + (<usize>(2 * i + 1) << 2));
      const a = <usize>(traditional ? 2 * i : i) << 2;
      const b = <usize>(traditional ? 2 * i + 1 : i + half) << 2;
      const x0 = load<f32>(xr + a);
      const x1 = load<f32>(xr + b);
      store<f32>(yr + a, x0 * c - x1 * s);
      store<f32>(yr + b, x0 * s + x1 * c);
    }
    if (dims < d) memory.copy(yr + (<usize>dims << 2), xr + (<usize>dims << 2), <usize>(d - dims) << 2);
  }
}
