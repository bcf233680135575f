// A Llama decoder layer in one call (kernels/decoder/decoder.ts, as ref.ts): RMSNorm, the q/k/v
// projections through sgemm (its matrix-vector path when decoding one token), RoPE, causal attention over
// the cached rows and the new ones, the output projection and residual, RMSNorm, the SwiGLU MLP and
// residual. Activations live in per-thread scratch; nothing is allocated per call once warm.
//
// decoderLayer(h, inNorm, wq, wk, wv, wo, postNorm, wg, wu, wd, keys | null, values | null, y, newK, newV,
//              B, T, H, I, heads, kvHeads, d, cached, cap, eps, ropeBase, ropeScale, traditional)
#include <algorithm>
#include <cmath>
#include <vector>

#include "eai.h"
#include "simd.h"

namespace eai {

namespace {

// y[rows, out] = x[rows, in] · w[out, in]ᵀ
void project(const float* x, const float* w, float* y, size_t rows, size_t in, size_t out) {
  GemmShape g{};
  g.m = rows;
  g.n = out;
  g.k = in;
  g.a = x;
  g.ars = in;
  g.acs = 1;
  g.b = w;
  g.brs = 1;
  g.bcs = in;
  g.c = y;
  g.ldc = out;
  g.accumulate = false;
  sgemm(g);
}

void rmsNormRows(const float* x, const float* w, float* y, size_t rows, size_t n, double eps) {
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * n;
    double ss = 0;
    for (size_t j = 0; j < n; j++) ss += static_cast<double>(xr[j]) * xr[j];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (size_t j = 0; j < n; j++) y[r * n + j] = static_cast<float>(xr[j] * inv * w[j]);
  }
}

// Rotates every head of x [B·T, heads·d] at positions cached + t.
void ropeRows(float* x, size_t B, size_t T, size_t heads, size_t d, size_t cached, double base, double scale,
              bool traditional, std::vector<double>& table) {
  const size_t half = d / 2;
  table.resize(T * half * 2);
  for (size_t t = 0; t < T; t++) {
    const double position = static_cast<double>(cached + t) * scale;
    for (size_t i = 0; i < half; i++) {
      const double angle =
          position * std::exp(-static_cast<double>(i) * std::log(base) / static_cast<double>(half));
      table[(t * half + i) * 2] = std::cos(angle);
      table[(t * half + i) * 2 + 1] = std::sin(angle);
    }
  }
  for (size_t b = 0; b < B; b++) {
    for (size_t t = 0; t < T; t++) {
      for (size_t h = 0; h < heads; h++) {
        float* o = x + ((b * T + t) * heads + h) * d;
        for (size_t i = 0; i < half; i++) {
          const double c = table[(t * half + i) * 2], s = table[(t * half + i) * 2 + 1];
          float* p = o + (traditional ? 2 * i : i);
          float* q = o + (traditional ? 2 * i + 1 : i + half);
          const double x0 = *p, x1 = *q;
          *p = static_cast<float>(x0 * c - x1 * s);
          *q = static_cast<float>(x0 * s + x1 * c);
        }
      }
    }
  }
}

// x[j] = exp(x[j]·scale − shift) in place; returns their sum (AVX2 where the CPU has it).
float expScaled(float* x, size_t n, float scale, float shift) {
  size_t j = 0;
  float sum = 0;
#if EAI_X86
  if (useAvx2()) {
    struct Avx {
      EAI_TARGET_AVX2 static size_t run(float* x, size_t n, float scale, float shift, float* sum) {
        const __m256 sv = _mm256_set1_ps(scale), hv = _mm256_set1_ps(shift);
        __m256 acc = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 8 <= n; j += 8) {
          const __m256 e = exp256(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), sv), hv));
          _mm256_storeu_ps(x + j, e);
          acc = _mm256_add_ps(acc, e);
        }
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, acc);
        *sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        return j;
      }
    };
    j = Avx::run(x, n, scale, shift, &sum);
  }
#endif
  for (; j < n; j++) {
    x[j] = std::exp(x[j] * scale - shift);
    sum += x[j];
  }
  return sum;
}

Napi::Value DecoderLayer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "decoderLayer";
  View<float> h = F32(info, 0, fn), inNorm = F32(info, 1, fn), wq = F32(info, 2, fn), wk = F32(info, 3, fn),
              wv = F32(info, 4, fn), wo = F32(info, 5, fn), postNorm = F32(info, 6, fn), wg = F32(info, 7, fn),
              wu = F32(info, 8, fn), wd = F32(info, 9, fn);
  const bool hasCache = !info[10].IsNull();
  View<float> keys, values;
  if (hasCache) {
    keys = F32(info, 10, fn);
    values = F32(info, 11, fn);
  }
  View<float> y = F32(info, 12, fn), newK = F32(info, 13, fn), newV = F32(info, 14, fn);
  const size_t B = Size(info, 15, fn), T = Size(info, 16, fn), H = Size(info, 17, fn), I = Size(info, 18, fn);
  const size_t heads = Size(info, 19, fn), kvHeads = Size(info, 20, fn), d = Size(info, 21, fn);
  const size_t cached = Size(info, 22, fn), cap = Size(info, 23, fn);
  const double eps = Number(info, 24, fn), base = Number(info, 25, fn), scale = Number(info, 26, fn);
  const bool traditional = Bool(info, 27, fn);
  const size_t rows = B * T, qDim = heads * d, kvDim = kvHeads * d;
  Require(env, h.length == rows * H && y.length == rows * H, "decoderLayer: h and y must hold B·T·hidden");
  Require(env, inNorm.length == H && postNorm.length == H, "decoderLayer: the norms must hold hidden");
  Require(env, wq.length == qDim * H && wo.length == H * qDim, "decoderLayer: wq/wo must be [heads·d, hidden]");
  Require(env, wk.length == kvDim * H && wv.length == kvDim * H, "decoderLayer: wk/wv must be [kvHeads·d, hidden]");
  Require(env, wg.length == I * H && wu.length == I * H && wd.length == H * I, "decoderLayer: MLP weights");
  Require(env, newK.length == rows * kvDim && newV.length == rows * kvDim, "decoderLayer: new keys/values");
  Require(env, kvHeads > 0 && heads % kvHeads == 0 && d % 2 == 0, "decoderLayer: heads and head size");
  Require(env, !hasCache || (cap >= cached && keys.length == B * kvHeads * cap * d && values.length == keys.length),
          "decoderLayer: the cache must be [B, kvHeads, cap, d] with cap ≥ cached");
  Require(env, hasCache || cached == 0, "decoderLayer: cached rows without a cache");
  if (rows == 0) return env.Undefined();

  static thread_local Scratch sx, sq, sk, sv, sa, sh, sg, su;
  static thread_local std::vector<double> table;
  static thread_local std::vector<float> fscores;
  float* x = sx.floats(rows * std::max(H, I));
  float* q = sq.floats(rows * qDim);
  float* k = sk.floats(rows * kvDim);
  float* v = sv.floats(rows * kvDim);
  float* attended = sa.floats(rows * qDim);
  float* h2 = sh.floats(rows * H);
  float* g = sg.floats(rows * I);
  float* u = su.floats(rows * I);

  rmsNormRows(h.data, inNorm.data, x, rows, H, eps);
  project(x, wq.data, q, rows, H, qDim);
  project(x, wk.data, k, rows, H, kvDim);
  project(x, wv.data, v, rows, H, kvDim);
  ropeRows(q, B, T, heads, d, cached, base, scale, traditional, table);
  ropeRows(k, B, T, kvHeads, d, cached, base, scale, traditional, table);

  // Attention in f32, per (batch, new row, kv head) for the `group` query heads that share the kv head: their
  // scores over the cached rows are one small GEMM against the contiguous cache, the new rows (few) are dot
  // products, the exponentials are vectorised, and the weighted sum over the cache is a GEMM again.
  const size_t group = heads / kvHeads;
  const float invSqrt = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const size_t most = cached + T;
  fscores.resize(group * most);
  float* sc = fscores.data();
  for (size_t b = 0; b < B; b++) {
    for (size_t t = 0; t < T; t++) {
      const size_t count = cached + t + 1;
      for (size_t kvh = 0; kvh < kvHeads; kvh++) {
        const float* qg = q + ((b * T + t) * heads + kvh * group) * d;
        float* out = attended + ((b * T + t) * heads + kvh * group) * d;
        if (cached > 0) {
          GemmShape g{};
          g.m = group;
          g.n = cached;
          g.k = d;
          g.a = qg;
          g.ars = d;
          g.acs = 1;
          g.b = keys.data + (b * kvHeads + kvh) * cap * d;
          g.brs = 1;
          g.bcs = d;
          g.c = sc;
          g.ldc = most;
          g.accumulate = false;
          sgemm(g, false);
        }
        for (size_t i = 0; i < group; i++) {
          float* si = sc + i * most;
          const float* qr = qg + i * d;
          for (size_t j = cached; j < count; j++) {
            const float* kr = k + ((b * T + j - cached) * kvHeads + kvh) * d;
            float dot = 0;
            for (size_t c = 0; c < d; c++) dot += qr[c] * kr[c];
            si[j] = dot;
          }
          float max = -INFINITY;
          for (size_t j = 0; j < count; j++) max = std::max(max, si[j]);
          const float z = expScaled(si, count, invSqrt, max * invSqrt);
          const float invZ = 1.0f / z;
          for (size_t j = 0; j < count; j++) si[j] *= invZ;
        }
        if (cached > 0) {
          GemmShape g{};
          g.m = group;
          g.n = d;
          g.k = cached;
          g.a = sc;
          g.ars = most;
          g.acs = 1;
          g.b = values.data + (b * kvHeads + kvh) * cap * d;
          g.brs = d;
          g.bcs = 1;
          g.c = out;
          g.ldc = d;
          g.accumulate = false;
          sgemm(g, false);
        } else {
          std::fill(out, out + group * d, 0.0f);
        }
        for (size_t i = 0; i < group; i++) {
          for (size_t j = cached; j < count; j++) {
            const float* vr = v + ((b * T + j - cached) * kvHeads + kvh) * d;
            const float p = sc[i * most + j];
            for (size_t c = 0; c < d; c++) out[i * d + c] += p * vr[c];
          }
        }
      }
    }
  }

  project(attended, wo.data, h2, rows, qDim, H);
  for (size_t i = 0; i < rows * H; i++) h2[i] += h.data[i];
  rmsNormRows(h2, postNorm.data, x, rows, H, eps);
  project(x, wg.data, g, rows, H, I);
  project(x, wu.data, u, rows, H, I);
  for (size_t i = 0; i < rows * I; i++) {
    // silu as the elementwise kernel defines it (e^-|a| never overflows), times up.
    const double a = g[i];
    const double silu = a >= 0 ? a / (1.0 + std::exp(-a)) : a * std::exp(a) / (1.0 + std::exp(a));
    g[i] = static_cast<float>(silu) * u[i];
  }
  project(g, wd.data, y.data, rows, I, H);
  for (size_t i = 0; i < rows * H; i++) y.data[i] += h2[i];

  // New keys and values as [B, kvHeads, T, d].
  for (size_t b = 0; b < B; b++) {
    for (size_t kvh = 0; kvh < kvHeads; kvh++) {
      for (size_t t = 0; t < T; t++) {
        const size_t from = ((b * T + t) * kvHeads + kvh) * d, to = ((b * kvHeads + kvh) * T + t) * d;
        std::copy(k + from, k + from + d, newK.data + to);
        std::copy(v + from, v + from + d, newV.data + to);
      }
    }
  }
  return env.Undefined();
}

}  // namespace

void InitDecoder(Napi::Env env, Napi::Object exports) {
  exports.Set("decoderLayer", Napi::Function::New(env, DecoderLayer, "decoderLayer"));
}

}  // namespace eai
