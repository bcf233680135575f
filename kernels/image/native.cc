// Native resize (nearest / bilinear) and its gradient, as kernels/image/ref.ts: both axes
// are separable, so one tap table per axis (two source indices and the second's weight)
// drives the forward pass and its adjoint. Accumulation is in double, in the reference's
// order; planes are independent, so they split across the pool.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "eai.h"

namespace eai {

namespace {

struct Tap {
  size_t i0, i1;
  double w1;  // weight of i1; i0 gets 1 − w1
};

enum class Coord { Asymmetric, HalfPixel, AlignCorners };

std::vector<Tap> taps(size_t in, size_t out, bool nearest, Coord coord) {
  std::vector<Tap> t(out);
  for (size_t d = 0; d < out; d++) {
    if (nearest) {
      // Exact integer arithmetic, as the reference's table.
      size_t s;
      if (coord == Coord::Asymmetric) s = (d * in) / out;
      else if (coord == Coord::HalfPixel) s = ((2 * d + 1) * in) / (2 * out);
      else s = out > 1 ? (2 * d * (in - 1) + (out - 1)) / (2 * (out - 1)) : 0;
      s = std::min(s, in - 1);
      t[d] = Tap{s, s, 0.0};
      continue;
    }
    const double dd = static_cast<double>(d), fi = static_cast<double>(in), fo = static_cast<double>(out);
    double src;
    if (coord == Coord::Asymmetric) src = (dd * fi) / fo;
    else if (coord == Coord::HalfPixel) src = std::max(((dd + 0.5) * fi) / fo - 0.5, 0.0);
    else src = out > 1 ? (dd * (fi - 1)) / (fo - 1) : 0.0;
    const size_t i0 = std::min(static_cast<size_t>(std::floor(src)), in - 1);
    t[d] = Tap{i0, std::min(i0 + 1, in - 1), src - static_cast<double>(i0)};
  }
  return t;
}

// resize(x, y, [N, C, H, W, OH, OW], mode, coordinate, grad): grad = false: y (pooled
// shape) ← x; grad = true: y (input shape) ← adjoint applied to x (a gradient of the output).
Napi::Value Resize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "resize";
  View<float> x = F32(info, 0, fn), y = F32(info, 1, fn);
  std::vector<size_t> g = Sizes(info, 2, fn);
  const std::string mode = String(info, 3, fn), coordinate = String(info, 4, fn);
  const bool grad = Bool(info, 5, fn);
  Require(env, g.size() == 6, "resize: geometry is [N, C, H, W, OH, OW]");
  Require(env, mode == "nearest" || mode == "bilinear", "resize: mode must be nearest or bilinear");
  Coord coord;
  if (coordinate == "asymmetric") coord = Coord::Asymmetric;
  else if (coordinate == "halfPixel") coord = Coord::HalfPixel;
  else if (coordinate == "alignCorners") coord = Coord::AlignCorners;
  else Fail(env, "resize: coordinate must be asymmetric, halfPixel or alignCorners");
  for (size_t d : g) Require(env, d < (size_t{1} << 24), "resize: a geometry entry is 2^24 or more");
  const size_t planes = g[0] * g[1], H = g[2], W = g[3], OH = g[4], OW = g[5];
  Require(env, H >= 1 && W >= 1, "resize: cannot resize an empty image");
  const size_t in = H * W, out = OH * OW;
  const size_t full = MulSize(planes, in, fn), pooled = MulSize(planes, out, fn);
  Require(env, (grad ? x.length == pooled && y.length == full : x.length == full && y.length == pooled),
          "resize: arrays do not match the geometry");
  // Nothing to read or nothing to write: the tap tables below would be sized by no array.
  if (planes == 0) return env.Undefined();
  if (out == 0) {
    if (grad) std::fill(y.data, y.data + y.length, 0.0f);
    return env.Undefined();
  }
  const bool nearest = mode == "nearest";
  const std::vector<Tap> rows = taps(H, OH, nearest, coord), cols = taps(W, OW, nearest, coord);
  if (nearest && !grad) {
    // Nearest forward is a pure gather (every weight is 1): copy, no accumulation. Style networks
    // upsample ×2 this way at full resolution, where the generic walk cost ~80 ms at 512².
    std::vector<size_t> colIndex(OW);
    for (size_t c = 0; c < OW; c++) colIndex[c] = cols[c].i0;
    parallelRange(planes * OH, (1u << 14) / (OW + 1) + 1, [&](size_t r0, size_t r1) {
      for (size_t pr = r0; pr < r1; pr++) {
        const size_t p = pr / OH, r = pr % OH;
        const float* src = x.data + p * in + rows[r].i0 * W;
        float* dst = y.data + p * out + r * OW;
        for (size_t c = 0; c < OW; c++) dst[c] = src[colIndex[c]] + 0.0f;  // + 0: -0 becomes +0, as the reference's sum does
      }
    });
    return env.Undefined();
  }
  parallelRange(planes, (1u << 14) / (out + 1) + 1, [&](size_t p0, size_t p1) {
    std::vector<double> acc;
    for (size_t p = p0; p < p1; p++) {
      acc.assign(grad ? in : out, 0.0);
      const float* src = x.data + p * (grad ? out : in);
      size_t o = 0;
      for (const Tap& r : rows) {
        for (const Tap& c : cols) {
          const size_t idx[4] = {r.i0 * W + c.i0, r.i0 * W + c.i1, r.i1 * W + c.i0, r.i1 * W + c.i1};
          const double wt[4] = {(1 - r.w1) * (1 - c.w1), (1 - r.w1) * c.w1, r.w1 * (1 - c.w1), r.w1 * c.w1};
          for (int k = 0; k < 4; k++) {
            if (wt[k] == 0) continue;
            if (grad) acc[idx[k]] += wt[k] * src[o];
            else acc[o] += wt[k] * src[idx[k]];
          }
          o++;
        }
      }
      float* dst = y.data + p * (grad ? in : out);
      for (size_t i = 0; i < acc.size(); i++) dst[i] = static_cast<float>(acc[i]);
    }
  });
  return env.Undefined();
}

}  // namespace

void InitImage(Napi::Env env, Napi::Object exports) { exports.Set("resize", Napi::Function::New(env, Resize, "resize")); }

}  // namespace eai
