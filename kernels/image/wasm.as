// resize (nearest, bilinear) and its gradient for the wasm backend. The host computes one tap
// table per axis (kernels/image/ref.ts `taps`: i0, i1, w1 as f64 triples), so both passes
// read exactly the reference's weights; taps of weight 0 are skipped (an Inf or NaN there
// stays out). Units are (image, channel) planes.

@inline function tap(t: usize, i: i32, k: i32): f64 {
  return load<f64>(t + (<usize>(i * 3 + k) << 3));
}

export function resize_f32(x: usize, y: usize, rows: usize, cols: usize, H: i32, W: i32, OH: i32, OW: i32, u0: i32, u1: i32, tid: i32): void {
  for (let u = u0; u < u1; u++) {
    const xp = x + (<usize>u * <usize>(H * W) << 2);
    const yp = y + (<usize>u * <usize>(OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const r0 = <i32>tap(rows, oh, 0);
      const r1 = <i32>tap(rows, oh, 1);
      const wr = tap(rows, oh, 2);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = <i32>tap(cols, ow, 0);
        const c1 = <i32>tap(cols, ow, 1);
        const wc = tap(cols, ow, 2);
        let acc: f64 = 0;
        let w = (1 - wr) * (1 - wc);
        if (w != 0) acc += w * <f64>load<f32>(xp + (<usize>(r0 * W + c0) << 2));
        w = (1 - wr) * wc;
        if (w != 0) acc += w * <f64>load<f32>(xp + (<usize>(r0 * W + c1) << 2));
        w = wr * (1 - wc);
        if (w != 0) acc += w * <f64>load<f32>(xp + (<usize>(r1 * W + c0) << 2));
        w = wr * wc;
        if (w != 0) acc += w * <f64>load<f32>(xp + (<usize>(r1 * W + c1) << 2));
        store<f32>(yp + (<usize>(oh * OW + ow) << 2), <f32>acc);
      }
    }
  }
}

/** The adjoint: each output gradient spread back over its (up to) four source pixels. */
export function resize_grad_f32(g: usize, y: usize, rows: usize, cols: usize, H: i32, W: i32, OH: i32, OW: i32, u0: i32, u1: i32, tid: i32): void {
  for (let u = u0; u < u1; u++) {
    const gp = g + (<usize>u * <usize>(OH * OW) << 2);
    const yp = y + (<usize>u * <usize>(H * W) << 2);
    memory.fill(yp, 0, <usize>(H * W) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const r0 = <i32>tap(rows, oh, 0);
      const r1 = <i32>tap(rows, oh, 1);
      const wr = tap(rows, oh, 2);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = <i32>tap(cols, ow, 0);
        const c1 = <i32>tap(cols, ow, 1);
        const wc = tap(cols, ow, 2);
        const gv = <f64>load<f32>(gp + (<usize>(oh * OW + ow) << 2));
        let w = (1 - wr) * (1 - wc);
        let at = yp + (<usize>(r0 * W + c0) << 2);
        if (w != 0) store<f32>(at, <f32>(<f64>load<f32>(at) + w * gv));
        w = (1 - wr) * wc;
        at = yp + (<usize>(r0 * W + c1) << 2);
        if (w != 0) store<f32>(at, <f32>(<f64>load<f32>(at) + w * gv));
        w = wr * (1 - wc);
        at = yp + (<usize>(r1 * W + c0) << 2);
        if (w != 0) store<f32>(at, <f32>(<f64>load<f32>(at) + w * gv));
        w = wr * wc;
        at = yp + (<usize>(r1 * W + c1) << 2);
        if (w != 0) store<f32>(at, <f32>(<f64>load<f32>(at) + w * gv));
      }
    }
  }
}
