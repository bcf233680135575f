// Native normalisations: every norm in the family normalises contiguous rows of x (the
// last axis, a channel group, one channel's plane), so one kernel serves all four. The
// scale/shift element for (row r, column j) is ((r mod rmod)·rmul + ⌊j / jdiv⌋): layerNorm
// is (1, 0, 1), groupNorm (groups, C/groups, spatial), instanceNorm (C or rows, 1, length).
// Statistics are two-pass in double, as the reference computes them.
#include <cmath>

#include "eai.h"

namespace eai {

namespace {

struct ParamIndex {
  size_t rmod = 1, rmul = 0, jdiv = 1;
  size_t at(size_t r, size_t j) const { return (r % rmod) * rmul + j / jdiv; }
};

ParamIndex parseIndex(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  std::vector<size_t> v = Sizes(info, i, fn);
  Require(info.Env(), v.size() == 3 && v[0] >= 1 && v[2] >= 1, std::string(fn) + ": a parameter index is [rmod >= 1, rmul, jdiv >= 1]");
  return ParamIndex{v[0], v[1], v[2]};
}

// Σ x (or Σ (x − mu)² with squares) in double, four partial sums so the adds pipeline.
double sum4(const float* x, size_t n, double mu, bool squares = false) {
  double s[4] = {0, 0, 0, 0};
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    for (size_t k = 0; k < 4; k++) {
      const double d = x[j + k] - mu;
      s[k] += squares ? d * d : x[j + k];
    }
  }
  for (; j < n; j++) {
    const double d = x[j] - mu;
    s[0] += squares ? d * d : x[j];
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

Napi::Value NormRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "normRows";
  View<float> x = F32(info, 0, fn);
  View<float> y = F32(info, 1, fn);
  const size_t rows = Size(info, 2, fn), length = Size(info, 3, fn);
  const bool center = Bool(info, 4, fn);
  const double eps = Number(info, 5, fn);
  const bool hasScale = !info[6].IsNull();
  const bool hasShift = !info[8].IsNull();
  View<float> scale, shift;
  if (hasScale) scale = F32(info, 6, fn);
  if (hasShift) shift = F32(info, 8, fn);
  const ParamIndex si = parseIndex(info, 7, fn), hi = parseIndex(info, 9, fn);
  Require(env, x.length == rows * length && y.length == x.length, "normRows: x and y must hold rows·length elements");
  if (rows > 0 && length > 0) {
    // The largest index either parameter is read at must lie inside it.
    const size_t lastRow = rows - 1, lastCol = length - 1;
    auto maxIndex = [&](const ParamIndex& p) {
      const size_t rMax = lastRow < p.rmod ? lastRow : p.rmod - 1;
      return rMax * p.rmul + lastCol / p.jdiv;
    };
    Require(env, !hasScale || maxIndex(si) < scale.length, "normRows: scale is too short for its index");
    Require(env, !hasShift || maxIndex(hi) < shift.length, "normRows: shift is too short for its index");
  }
  const size_t grain = (1u << 14) / (length + 1) + 1;
  // Columns over which both parameter elements stay the same (the whole row when there are none).
  size_t run = length ? length : 1;
  if (hasScale) run = si.jdiv;
  if (hasShift) run = hasScale && hi.jdiv != si.jdiv ? 1 : hi.jdiv;
  const bool perColumn = (!hasScale || (si.jdiv == 1)) && (!hasShift || (hi.jdiv == 1));
  parallelRange(rows, grain, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      const float* xr = x.data + r * length;
      float* yr = y.data + r * length;
      const double mu = center ? sum4(xr, length, 0.0) / static_cast<double>(length) : 0.0;
      const double inv = 1.0 / std::sqrt(sum4(xr, length, mu, true) / static_cast<double>(length) + eps);
      if (perColumn) {
        // layerNorm/rmsNorm: element j of the parameter (from this row's base) scales column j.
        const float* sp = hasScale ? scale.data + si.at(r, 0) : nullptr;
        const float* hp = hasShift ? shift.data + hi.at(r, 0) : nullptr;
        for (size_t j = 0; j < length; j++) {
          double v = (xr[j] - mu) * inv;
          if (sp) v *= sp[j];
          if (hp) v += hp[j];
          yr[j] = static_cast<float>(v);
        }
        continue;
      }
      for (size_t j0 = 0; j0 < length; j0 += run) {
        const size_t j1 = j0 + run < length ? j0 + run : length;
        const double sv = hasScale ? scale.data[si.at(r, j0)] : 1.0;
        const double hv = hasShift ? shift.data[hi.at(r, j0)] : 0.0;
        for (size_t j = j0; j < j1; j++) yr[j] = static_cast<float>((xr[j] - mu) * inv * sv + hv);
      }
    }
  });
  return env.Undefined();
}

}  // namespace

void InitNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("normRows", Napi::Function::New(env, NormRows, "normRows"));
}

}  // namespace eai
