// Pooling for the wasm backend: one window walk per output position, as the reference
// (kernels/pool/ref.ts). Units are (image, channel) planes, so the gradients, which scatter
// within a plane, never meet across threads.
//
// p: [H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw, countIncludePad]

const AVG: i32 = 0;
const MAX: i32 = 1;
const MAX_SELECT: i32 = 2;

@inline function f(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/**
 * Index (within the plane) of the window's first maximum; a NaN beats any number and the first
 * NaN stays. −1 when the window holds only padding.
 */
@inline function windowArgmax(x: usize, p: usize, oh: i32, ow: i32): i32 {
  const H = f(p, 0);
  const W = f(p, 1);
  let best = -1;
  let bv: f32 = 0;
  for (let a = 0; a < f(p, 4); a++) {
    const ih = oh * f(p, 6) - f(p, 8) + a * f(p, 10);
    if (ih < 0 || ih >= H) continue;
    for (let e = 0; e < f(p, 5); e++) {
      const iw = ow * f(p, 7) - f(p, 9) + e * f(p, 11);
      if (iw < 0 || iw >= W) continue;
      const s = ih * W + iw;
      const v = load<f32>(x + (<usize>s << 2));
      if (best < 0 || (!isNaN(bv) && (v > bv || isNaN(v)))) {
        best = s;
        bv = v;
      }
    }
  }
  return best;
}

/** avgPool2d, maxPool2d, or maxPool2dSelect (v at each window's argmax of x) into y. */
export function pool_f32(op: i32, x: usize, v: usize, y: usize, p: usize, u0: i32, u1: i32, tid: i32): void {
  const H = f(p, 0);
  const W = f(p, 1);
  const OH = f(p, 2);
  const OW = f(p, 3);
  const kh = f(p, 4);
  const kw = f(p, 5);
  for (let u = u0; u < u1; u++) {
    const xp = x + (<usize>u * <usize>(H * W) << 2);
    const vp = v + (<usize>u * <usize>(H * W) << 2);
    const yp = y + (<usize>u * <usize>(OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let out: f32;
        if (op == AVG) {
          let acc: f64 = 0;
          let count = 0;
          for (let a = 0; a < kh; a++) {
            const ih = oh * f(p, 6) - f(p, 8) + a;
            if (ih < 0 || ih >= H) continue;
            for (let e = 0; e < kw; e++) {
              const iw = ow * f(p, 7) - f(p, 9) + e;
              if (iw < 0 || iw >= W) continue;
              acc += <f64>load<f32>(xp + (<usize>(ih * W + iw) << 2));
              count++;
            }
          }
          out = <f32>(acc / <f64>(f(p, 12) != 0 ? kh * kw : count));
        } else {
          const best = windowArgmax(xp, p, oh, ow);
          if (op == MAX) out = best < 0 ? -Infinity : load<f32>(xp + (<usize>best << 2));
          else out = best < 0 ? 0 : load<f32>(vp + (<usize>best << 2));
        }
        store<f32>(yp + (<usize>(oh * OW + ow) << 2), out);
      }
    }
  }
}

/**
 * Gradients: AVG scatters g / divisor over each window (g: [.., OH, OW] into y: [.., H, W]);
 * MAX adds g to each window's argmax of x.
 */
export function pool_grad_f32(op: i32, x: usize, g: usize, y: usize, p: usize, u0: i32, u1: i32, tid: i32): void {
  const H = f(p, 0);
  const W = f(p, 1);
  const OH = f(p, 2);
  const OW = f(p, 3);
  const kh = f(p, 4);
  const kw = f(p, 5);
  for (let u = u0; u < u1; u++) {
    const xp = x + (<usize>u * <usize>(H * W) << 2);
    const gp = g + (<usize>u * <usize>(OH * OW) << 2);
    const yp = y + (<usize>u * <usize>(H * W) << 2);
    memory.fill(yp, 0, <usize>(H * W) << 2);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const gv = load<f32>(gp + (<usize>(oh * OW + ow) << 2));
        if (op == MAX) {
          const best = windowArgmax(xp, p, oh, ow);
          if (best >= 0) {
            const at = yp + (<usize>best << 2);
            store<f32>(at, load<f32>(at) + gv);
          }
          continue;
        }
        let count = 0;
        for (let a = 0; a < kh; a++) {
          const ih = oh * f(p, 6) - f(p, 8) + a;
          if (ih < 0 || ih >= H) continue;
          for (let e = 0; e < kw; e++) {
            const iw = ow * f(p, 7) - f(p, 9) + e;
            if (iw >= 0 && iw < W) count++;
          }
        }
        const share = <f32>(<f64>gv / <f64>(f(p, 12) != 0 ? kh * kw : count));
        for (let a = 0; a < kh; a++) {
          const ih = oh * f(p, 6) - f(p, 8) + a;
          if (ih < 0 || ih >= H) continue;
          for (let e = 0; e < kw; e++) {
            const iw = ow * f(p, 7) - f(p, 9) + e;
            if (iw < 0 || iw >= W) continue;
            const at = yp + (<usize>(ih * W + iw) << 2);
            store<f32>(at, load<f32>(at) + share);
          }
        }
      }
    }
  }
}
