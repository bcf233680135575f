// Native normalisations: every norm in the family normalises contiguous rows of x (the
// last axis, a channel group, one channel's plane), so one kernel serves all four. The
// scale/shift element for (row r, column j) is ((r mod rmod)·rmul + ⌊j / jdiv⌋): layerNorm
// is (1, 0, 1), groupNorm (groups, C/groups, spatial), instanceNorm (C or rows, 1, length).
// Statistics are accumulated in double in one pass (shifted, see rowStats); the
// normalisation itself is one float multiply-add per element.
#include <algorithm>
#include <cmath>

#include "eai.h"
#if EAI_X86
#include <immintrin.h>
#endif

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

// Mean and Σ (x − mean)² of a row in double. One pass, shifted by the row's first element
// (so the usual E[x²] − E[x]² cancellation needs |mean − x₀| ≫ the spread, which a row of
// float data that is not constant far from x₀ does not reach); four or eight partial sums.
struct RowStats {
  double mean, m2;
};

RowStats statsScalar(const float* x, size_t n, size_t j, double shift, double s[2][4]) {
  for (; j + 4 <= n; j += 4) {
    for (size_t k = 0; k < 4; k++) {
      const double d = x[j + k] - shift;
      s[0][k] += d;
      s[1][k] += d * d;
    }
  }
  for (; j < n; j++) {
    const double d = x[j] - shift;
    s[0][0] += d;
    s[1][0] += d * d;
  }
  const double sum = (s[0][0] + s[0][1]) + (s[0][2] + s[0][3]);
  const double sq = (s[1][0] + s[1][1]) + (s[1][2] + s[1][3]);
  const double dn = static_cast<double>(n);
  const double mean = sum / dn;
  return RowStats{shift + mean, std::max(0.0, sq - sum * mean)};
}

#if EAI_X86
EAI_TARGET_AVX2 RowStats statsAvx2(const float* x, size_t n) {
  const double shift = x[0];
  const __m256d k = _mm256_set1_pd(shift);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    const __m256d lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), k);
    const __m256d hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), k);
    s0 = _mm256_add_pd(s0, lo);
    s1 = _mm256_add_pd(s1, hi);
    q0 = _mm256_fmadd_pd(lo, lo, q0);
    q1 = _mm256_fmadd_pd(hi, hi, q1);
  }
  double s[2][4];
  _mm256_storeu_pd(s[0], _mm256_add_pd(s0, s1));
  _mm256_storeu_pd(s[1], _mm256_add_pd(q0, q1));
  return statsScalar(x, n, j, shift, s);
}

// y = ((x − mh) − ml)·a + b over a run, in float: mh + ml is the mean split into two floats,
// so x − mean keeps its precision even when the mean dwarfs the spread (x − mh is exact for
// x near the mean), and the scale and shift are folded into a and b.
EAI_TARGET_AVX2 void affineAvx2(const float* x, float* y, size_t n, float mh, float ml, float a, float b) {
  const __m256 vh = _mm256_set1_ps(mh), vl = _mm256_set1_ps(ml), va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  size_t j = 0;
#pragma GCC unroll 4
  for (; j + 8 <= n; j += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vh), vl);
    _mm256_storeu_ps(y + j, _mm256_fmadd_ps(d, va, vb));
  }
  for (; j < n; j++) y[j] = std::fma((x[j] - mh) - ml, a, b);
}
#endif

RowStats rowStats(const float* x, size_t n) {
  if (n == 0) return RowStats{0.0, 0.0};
#if EAI_X86
  if (useAvx2()) return statsAvx2(x, n);
#endif
  double s[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
  return statsScalar(x, n, 0, x[0], s);
}

void affine(const float* x, float* y, size_t n, double mean, double a, double b) {
  const float mh = static_cast<float>(mean), ml = static_cast<float>(mean - mh);
  const float af = static_cast<float>(a), bf = static_cast<float>(b);
#if EAI_X86
  if (useAvx2()) {
    affineAvx2(x, y, n, mh, ml, af, bf);
    return;
  }
#endif
  for (size_t j = 0; j < n; j++) y[j] = ((x[j] - mh) - ml) * af + bf;
}

// Σ x² in double (rmsNorm: no centring), four partial sums so the adds pipeline.
double sumSquares(const float* x, size_t n) {
  double s[4] = {0, 0, 0, 0};
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    for (size_t k = 0; k < 4; k++) s[k] += static_cast<double>(x[j + k]) * x[j + k];
  }
  for (; j < n; j++) s[0] += static_cast<double>(x[j]) * x[j];
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
  Require(env, x.length == ProductOf({rows, length}, fn) && y.length == x.length,
          "normRows: x and y must hold rows·length elements");
  if (rows > 0 && length > 0) {
    // The largest index either parameter is read at must lie inside it.
    const size_t lastRow = rows - 1, lastCol = length - 1;
    auto maxIndex = [&](const ParamIndex& p) {
      const size_t rMax = lastRow < p.rmod ? lastRow : p.rmod - 1;
      return AddSize(MulSize(rMax, p.rmul, fn), lastCol / p.jdiv, fn);
    };
    Require(env, !hasScale || maxIndex(si) < scale.length, "normRows: scale is too short for its index");
    Require(env, !hasShift || maxIndex(hi) < shift.length, "normRows: shift is too short for its index");
  }
  // No elements: rows alone bounds no array and must not drive the loop below.
  if (x.length == 0) return env.Undefined();
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
      // One fused pass for the statistics, one for normalise + scale + shift.
      double mu = 0.0, m2 = 0.0;
      if (center) {
        const RowStats st = rowStats(xr, length);
        mu = st.mean;
        m2 = st.m2;
      } else {
        m2 = sumSquares(xr, length);
      }
      const double inv = 1.0 / std::sqrt(m2 / static_cast<double>(length) + eps);
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
        affine(xr + j0, yr + j0, j1 - j0, mu, inv * sv, hv);
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
