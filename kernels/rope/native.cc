// Native rotary position embedding (MLX fast.rope semantics, as kernels/rope/ref.ts):
// one cos/sin table per call over [positions, dims/2], shared by every batch and head row.
#include <cmath>
#include <vector>

#include "eai.h"

namespace eai {

namespace {

Napi::Value Rope(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "rope";
  View<float> x = F32(info, 0, fn);
  View<float> y = F32(info, 1, fn);
  const size_t rows = Size(info, 2, fn), seq = Size(info, 3, fn), d = Size(info, 4, fn);
  const double offset = Number(info, 5, fn), base = Number(info, 6, fn);
  const bool traditional = Bool(info, 7, fn);
  const size_t dims = Size(info, 8, fn);
  const double scale = Number(info, 9, fn);
  const bool inverse = Bool(info, 10, fn);
  Require(env, x.length == ProductOf({rows, d}, fn) && y.length == x.length, "rope: x and y must hold rows·d elements");
  Require(env, dims % 2 == 0 && dims <= d && dims >= 2, "rope: dims must be even and within the feature size");
  Require(env, seq > 0 || rows == 0, "rope: the sequence axis is empty");
  if (rows == 0) return env.Undefined();
  Require(env, rows % seq == 0, "rope: rows must be a whole number of sequences");
  const size_t half = dims / 2;
  const double sign = inverse ? -1.0 : 1.0;
  std::vector<double> cosT(seq * half), sinT(seq * half);
  for (size_t i = 0; i < half; i++) {
    // theta_i = base^(-2i/dims), as MLX: exp(-i·ln(base)/half).
    const double invFreq = std::exp(-static_cast<double>(i) * std::log(base) / static_cast<double>(half));
    for (size_t t = 0; t < seq; t++) {
      const double angle = sign * ((offset + static_cast<double>(t)) * scale) * invFreq;
      cosT[t * half + i] = std::cos(angle);
      sinT[t * half + i] = std::sin(angle);
    }
  }
  parallelRange(rows, (1u << 13) / (d + 1) + 1, [&](size_t r0, size_t r1) {
    for (size_t row = r0; row < r1; row++) {
      const size_t t = row % seq;
      const float* src = x.data + row * d;
      float* dst = y.data + row * d;
      const double* c = cosT.data() + t * half;
      const double* s = sinT.data() + t * half;
      for (size_t i = 0; i < half; i++) {
        const size_t a = traditional ? 2 * i : i;
        const size_t b = traditional ? 2 * i + 1 : i + half;
        const double x0 = src[a], x1 = src[b];
        dst[a] = static_cast<float>(x0 * c[i] - x1 * s[i]);
        dst[b] = static_cast<float>(x0 * s[i] + x1 * c[i]);
      }
      for (size_t j = dims; j < d; j++) dst[j] = src[j];
    }
  });
  return env.Undefined();
}

}  // namespace

void InitRope(Napi::Env env, Napi::Object exports) { exports.Set("rope", Napi::Function::New(env, Rope, "rope")); }

}  // namespace eai
