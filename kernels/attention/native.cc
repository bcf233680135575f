// Native scaled dot-product attention and its gradient, per (batch, key/value head):
// the scores and the weighted sums are GEMMs on the packed kernel (matmul/native.cc),
// the mask, causality and softmax are row passes in between. Query heads that share a
// key/value head are handled by the same task, so dk and dv accumulate without races.
// Rows with no admissible key (all −∞) give zeros, as kernels/attention/ref.ts.
#include <cmath>
#include <limits>
#include <vector>

#include "eai.h"

namespace eai {

namespace {

struct Dims {
  size_t batch, heads, kvHeads, T, S, D, Dv;
  int64_t ms[4];  // mask strides over [B, Hq, T, S] (0 where broadcast)
  bool hasMask;
  float scale;
  bool causal;
};

// Scores a task holds at once (T·S per head, in scratch memory): 2^28 floats is 1 GiB.
constexpr size_t kMaxScores = size_t{1} << 28;

void requireLength(const Napi::Env& env, const View<float>& v, std::initializer_list<size_t> dims, const char* fn,
                   const char* what) {
  Require(env, v.length == ProductOf(dims, fn), std::string(fn) + ": " + what + " has the wrong number of elements");
}

// dims [B, Hq, Hkv, T, S, D, Dv], mask strides over [B, Hq, T, S], scale, causal; checks q, k, v
// and the mask against them (every offset the mask strides reach must lie inside the mask).
Dims parseDims(const Napi::CallbackInfo& info, size_t dimsArg, const View<float>& q, const View<float>& k,
               const View<float>& v, const View<float>* mask, const char* fn) {
  Napi::Env env = info.Env();
  std::vector<size_t> d = Sizes(info, dimsArg, fn);
  std::vector<int64_t> ms = Ints(info, dimsArg + 1, fn);
  Require(env, d.size() == 7 && ms.size() == 4, std::string(fn) + ": dims are [B, Hq, Hkv, T, S, D, Dv] and mask strides 4 numbers");
  Dims r{d[0], d[1], d[2], d[3], d[4], d[5], d[6], {ms[0], ms[1], ms[2], ms[3]}, mask != nullptr,
         static_cast<float>(Number(info, dimsArg + 2, fn)), Bool(info, dimsArg + 3, fn)};
  Require(env, r.kvHeads > 0 && r.heads % r.kvHeads == 0, std::string(fn) + ": query heads must be a multiple of key/value heads");
  Require(env, !r.causal || r.T <= r.S, std::string(fn) + ": causal attention needs T <= S");
  requireLength(env, q, {r.batch, r.heads, r.T, r.D}, fn, "q");
  requireLength(env, k, {r.batch, r.kvHeads, r.S, r.D}, fn, "k");
  requireLength(env, v, {r.batch, r.kvHeads, r.S, r.Dv}, fn, "v");
  Require(env, r.batch * r.heads == 0 || ProductOf({r.T, r.S}, fn) <= kMaxScores,
          std::string(fn) + ": T·S scores per head exceed 2^28; split the sequence");
  if (mask) RequireView(env, 0, {r.batch, r.heads, r.T, r.S}, {ms[0], ms[1], ms[2], ms[3]}, mask->length, std::string(fn) + " (mask)");
  return r;
}

// Turns raw q·kᵀ scores of row t (of head h in batch b) into weights in place; returns the
// last admissible key, or -1 when none is (the row's weights are then all zero).
int64_t rowWeights(const Dims& L, const float* mask, size_t b, size_t h, size_t t, float* p) {
  const int64_t last = L.causal ? static_cast<int64_t>(t + L.S - L.T) : static_cast<int64_t>(L.S) - 1;
  const int64_t mo = L.hasMask ? static_cast<int64_t>(b) * L.ms[0] + static_cast<int64_t>(h) * L.ms[1] +
                                     static_cast<int64_t>(t) * L.ms[2]
                               : 0;
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j <= last; j++) {
    float s = L.scale * p[j];
    if (L.hasMask) s += mask[mo + j * L.ms[3]];
    p[j] = s;
    // NaN is sticky so it reaches the output instead of being skipped.
    if (s > max || s != s) max = max != max ? max : s;
  }
  for (size_t j = static_cast<size_t>(last + 1); j < L.S; j++) p[j] = 0.0f;
  if (max == -std::numeric_limits<float>::infinity()) {
    for (int64_t j = 0; j <= last; j++) p[j] = 0.0f;
    return -1;
  }
  double total = 0;
  for (int64_t j = 0; j <= last; j++) {
    const double e = std::exp(static_cast<double>(p[j]) - max);
    p[j] = static_cast<float>(e);
    total += e;
  }
  const double inv = 1.0 / total;
  for (int64_t j = 0; j <= last; j++) p[j] = static_cast<float>(p[j] * inv);
  return last;
}

GemmShape gemm(size_t m, size_t n, size_t k, const float* a, bool ta, size_t lda, const float* b, bool tb, size_t ldb,
               float* c, size_t ldc, bool accumulate) {
  GemmShape g{};
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.ars = ta ? 1 : lda;
  g.acs = ta ? lda : 1;
  g.b = b;
  g.brs = tb ? 1 : ldb;
  g.bcs = tb ? ldb : 1;
  g.c = c;
  g.ldc = ldc;
  g.accumulate = accumulate;
  return g;
}

// Weights P [T, S] of query head h (batch b) into p; `valid[t]` says whether row t saw any key.
void weights(const Dims& L, const float* q, const float* k, const float* mask, size_t b, size_t h, float* p,
             std::vector<char>& valid) {
  const size_t kvh = h / (L.heads / L.kvHeads);
  const float* qh = q + (b * L.heads + h) * L.T * L.D;
  const float* kh = k + (b * L.kvHeads + kvh) * L.S * L.D;
  sgemm(gemm(L.T, L.S, L.D, qh, false, L.D, kh, true, L.D, p, L.S, false), false);
  valid.assign(L.T, 0);
  for (size_t t = 0; t < L.T; t++) valid[t] = rowWeights(L, mask, b, h, t, p + t * L.S) >= 0;
}

Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "attention";
  View<float> q = F32(info, 0, fn), k = F32(info, 1, fn), v = F32(info, 2, fn);
  const bool hasMask = !info[3].IsNull();
  View<float> mask;
  if (hasMask) mask = F32(info, 3, fn);
  View<float> y = F32(info, 4, fn);
  Dims L = parseDims(info, 5, q, k, v, hasMask ? &mask : nullptr, fn);
  requireLength(env, y, {L.batch, L.heads, L.T, L.Dv}, fn, "y");
  if (y.length == 0) return env.Undefined();
  const size_t tasks = L.batch * L.heads;
  parallelFor(tasks, [&](size_t task) {
    thread_local Scratch scores;
    thread_local std::vector<char> valid;
    const size_t b = task / L.heads, h = task % L.heads;
    const size_t kvh = h / (L.heads / L.kvHeads);
    float* p = scores.floats(L.T * L.S);
    weights(L, q.data, k.data, mask.data, b, h, p, valid);
    const float* vh = v.data + (b * L.kvHeads + kvh) * L.S * L.Dv;
    float* yh = y.data + (b * L.heads + h) * L.T * L.Dv;
    sgemm(gemm(L.T, L.Dv, L.S, p, false, L.S, vh, false, L.Dv, yh, L.Dv, false), false);
  });
  return env.Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "attentionBackward";
  View<float> q = F32(info, 0, fn), k = F32(info, 1, fn), v = F32(info, 2, fn);
  View<float> o = F32(info, 3, fn), dO = F32(info, 4, fn);
  const bool hasMask = !info[5].IsNull();
  View<float> mask;
  if (hasMask) mask = F32(info, 5, fn);
  View<float> dq = F32(info, 6, fn), dk = F32(info, 7, fn), dv = F32(info, 8, fn);
  Dims L = parseDims(info, 9, q, k, v, hasMask ? &mask : nullptr, fn);
  requireLength(env, o, {L.batch, L.heads, L.T, L.Dv}, fn, "o");
  requireLength(env, dO, {L.batch, L.heads, L.T, L.Dv}, fn, "dO");
  Require(env, dq.length == q.length && dk.length == k.length && dv.length == v.length,
          std::string(fn) + ": dq, dk and dv must match q, k and v");
  // No features: every gradient is empty (and T, S are bounded by no array).
  if (L.D == 0 && L.Dv == 0) return env.Undefined();
  const size_t group = L.heads / L.kvHeads;
  // One task per key/value head: its query heads add into the same dk and dv.
  parallelFor(L.batch * L.kvHeads, [&](size_t task) {
    thread_local Scratch pBuf, dpBuf;
    thread_local std::vector<char> valid;
    const size_t b = task / L.kvHeads, kvh = task % L.kvHeads;
    const float* kh = k.data + (b * L.kvHeads + kvh) * L.S * L.D;
    const float* vh = v.data + (b * L.kvHeads + kvh) * L.S * L.Dv;
    float* dkh = dk.data + (b * L.kvHeads + kvh) * L.S * L.D;
    float* dvh = dv.data + (b * L.kvHeads + kvh) * L.S * L.Dv;
    float* p = pBuf.floats(L.T * L.S);
    float* dp = dpBuf.floats(L.T * L.S);
    for (size_t gi = 0; gi < group; gi++) {
      const size_t h = kvh * group + gi;
      const size_t row0 = (b * L.heads + h) * L.T;
      const float* qh = q.data + row0 * L.D;
      const float* oh = o.data + row0 * L.Dv;
      const float* dOh = dO.data + row0 * L.Dv;
      weights(L, q.data, k.data, mask.data, b, h, p, valid);
      // dv += Pᵀ·dO; dP = dO·vᵀ.
      sgemm(gemm(L.S, L.Dv, L.T, p, true, L.S, dOh, false, L.Dv, dvh, L.Dv, gi > 0), false);
      sgemm(gemm(L.T, L.S, L.Dv, dOh, false, L.Dv, vh, true, L.Dv, dp, L.S, false), false);
      // dS = scale·P∘(dP − rowsum(dO∘o)); rows without keys have P = 0 and stay zero.
      for (size_t t = 0; t < L.T; t++) {
        float* ds = dp + t * L.S;
        const float* pr = p + t * L.S;
        if (!valid[t]) {
          for (size_t j = 0; j < L.S; j++) ds[j] = 0.0f;
          continue;
        }
        double delta = 0;
        for (size_t e = 0; e < L.Dv; e++) delta += static_cast<double>(dOh[t * L.Dv + e]) * oh[t * L.Dv + e];
        for (size_t j = 0; j < L.S; j++) ds[j] = static_cast<float>(L.scale * pr[j] * (ds[j] - delta));
      }
      // dq = dS·k; dk += dSᵀ·q.
      sgemm(gemm(L.T, L.D, L.S, dp, false, L.S, kh, false, L.D, dq.data + row0 * L.D, L.D, false), false);
      sgemm(gemm(L.S, L.D, L.T, dp, true, L.S, qh, false, L.D, dkh, L.D, gi > 0), false);
    }
  });
  return env.Undefined();
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attention", Napi::Function::New(env, Attention, "attention"));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward, "attentionBackward"));
}

}  // namespace eai
