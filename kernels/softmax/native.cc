// Native softmax / logSoftmax along one axis of x viewed as [outer, n, inner]: the
// row maximum first, then exp(x − max) (AVX2 for contiguous rows), summed in double.
#include <cmath>
#include <limits>
#include <vector>

#include "eai.h"
#include "simd.h"

namespace eai {

namespace {

// The reference's running maximum: NaN wins and then stays.
EAI_INLINE float lineMax(const float* x, size_t n, size_t stride) {
  float m = -std::numeric_limits<float>::infinity();
  for (size_t j = 0; j < n; j++) {
    const float v = x[j * stride];
    if (v > m || v != v) m = v;
  }
  return m;
}

// y = exp(x − m) over a contiguous line; returns the sum in double.
double expShift(const float* x, float* y, size_t n, float m) {
  size_t j = 0;
  double sum = 0;
#if EAI_X86
  if (useAvx2()) {
    struct Avx {
      EAI_TARGET_AVX2 static size_t run(const float* x, float* y, size_t n, float m, double* sum) {
        const __m256 mv = _mm256_set1_ps(m);
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        size_t j = 0;
        for (; j + 8 <= n; j += 8) {
          const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j), mv));
          _mm256_storeu_ps(y + j, e);
          s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
          s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
        }
        alignas(32) double lanes[4];
        _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
        *sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        return j;
      }
    };
    j = Avx::run(x, y, n, m, &sum);
  }
#endif
  for (; j < n; j++) {
    const double e = std::exp(static_cast<double>(x[j]) - m);
    y[j] = static_cast<float>(e);
    sum += e;
  }
  return sum;
}

void contiguousLine(const float* x, float* y, size_t n, bool log) {
  const float m = lineMax(x, n, 1);
  const double sum = expShift(x, y, n, m);
  if (log) {
    const double shift = static_cast<double>(m) + std::log(sum);
    for (size_t j = 0; j < n; j++) y[j] = static_cast<float>(x[j] - shift);
  } else {
    const double inv = 1.0 / sum;
    for (size_t j = 0; j < n; j++) y[j] = static_cast<float>(y[j] * inv);
  }
}

// inner > 1: whole rows of `inner` lines at a time, so memory is read contiguously.
void stridedBlock(const float* x, float* y, size_t n, size_t inner, bool log, std::vector<float>& m,
                  std::vector<double>& s) {
  m.assign(inner, -std::numeric_limits<float>::infinity());
  s.assign(inner, 0.0);
  for (size_t k = 0; k < n; k++) {
    const float* row = x + k * inner;
    for (size_t i = 0; i < inner; i++) {
      const float v = row[i];
      if (v > m[i] || v != v) m[i] = v;
    }
  }
  for (size_t k = 0; k < n; k++) {
    const float* row = x + k * inner;
    for (size_t i = 0; i < inner; i++) s[i] += std::exp(static_cast<double>(row[i]) - m[i]);
  }
  for (size_t k = 0; k < n; k++) {
    const float* row = x + k * inner;
    float* out = y + k * inner;
    for (size_t i = 0; i < inner; i++) {
      const double d = static_cast<double>(row[i]) - m[i];
      out[i] = static_cast<float>(log ? d - std::log(s[i]) : std::exp(d) / s[i]);
    }
  }
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "softmax";
  View<float> x = F32(info, 0, fn);
  View<float> y = F32(info, 1, fn);
  const size_t outer = Size(info, 2, fn), n = Size(info, 3, fn), inner = Size(info, 4, fn);
  const bool log = Bool(info, 5, fn);
  Require(env, x.length == ProductOf({outer, n, inner}, fn) && y.length == x.length, "softmax: x and y must hold outer·n·inner elements");
  if (x.length == 0) return env.Undefined();
  const size_t grain = (1u << 14) / (n * inner) + 1;
  parallelRange(outer, grain, [&](size_t o0, size_t o1) {
    std::vector<float> m;
    std::vector<double> s;
    for (size_t o = o0; o < o1; o++) {
      const float* xo = x.data + o * n * inner;
      float* yo = y.data + o * n * inner;
      if (inner == 1) contiguousLine(xo, yo, n, log);
      else stridedBlock(xo, yo, n, inner, log, m, s);
    }
  });
  return env.Undefined();
}

}  // namespace

void InitSoftmax(Napi::Env env, Napi::Object exports) {
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
}

}  // namespace eai
