// Native reductions (f32 in, f32 out, accumulated in double as the reference does).
// The TypeScript side views the input as [outer, r, inner] with the reduced axes in the
// middle (permuting first when they are not adjacent), so two loop shapes cover every
// case: contiguous runs (inner = 1) and row-wise accumulation across r (inner > 1).
#include <cmath>
#include <limits>
#include <vector>

#include "eai.h"

namespace eai {

namespace {

enum class R { Sum, Mean, Prod, Max, Min, LogSumExp, Variance };

bool parseReduce(const std::string& s, R* op) {
  if (s == "sum") *op = R::Sum;
  else if (s == "mean") *op = R::Mean;
  else if (s == "prod") *op = R::Prod;
  else if (s == "max") *op = R::Max;
  else if (s == "min") *op = R::Min;
  else if (s == "logsumexp") *op = R::LogSumExp;
  else if (s == "variance") *op = R::Variance;
  else return false;
  return true;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Four partial sums so the adds pipeline; the order differs from the reference's, in double.
EAI_INLINE double sumRun(const float* x, size_t n, size_t stride) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  if (stride == 1) {
    for (; i + 4 <= n; i += 4) {
      s0 += x[i];
      s1 += x[i + 1];
      s2 += x[i + 2];
      s3 += x[i + 3];
    }
  }
  for (; i < n; i++) s0 += x[i * stride];
  return (s0 + s1) + (s2 + s3);
}

// The reference's fold: a later element replaces the accumulator when better or NaN.
template <bool isMax>
EAI_INLINE float extremeRun(const float* x, size_t n, size_t stride) {
  float acc = x[0];
  for (size_t i = 1; i < n; i++) {
    const float v = x[i * stride];
    if ((isMax ? v > acc : v < acc) || v != v) acc = v;
  }
  return acc;
}

double foldRun(R op, const float* x, size_t n, size_t stride, double correction) {
  switch (op) {
    case R::Sum: return sumRun(x, n, stride);
    case R::Mean: return sumRun(x, n, stride) / static_cast<double>(n);
    case R::Prod: {
      double acc = 1;
      for (size_t i = 0; i < n; i++) acc *= x[i * stride];
      return acc;
    }
    case R::Max: return extremeRun<true>(x, n, stride);
    case R::Min: return extremeRun<false>(x, n, stride);
    case R::LogSumExp: {
      if (n == 0) return -kInf;
      const double m = extremeRun<true>(x, n, stride);
      if (!std::isfinite(m)) return m;
      double acc = 0;
      for (size_t i = 0; i < n; i++) acc += std::exp(x[i * stride] - m);
      return m + std::log(acc);
    }
    case R::Variance: {
      const double mean = sumRun(x, n, stride) / static_cast<double>(n);
      double acc = 0;
      for (size_t i = 0; i < n; i++) {
        const double d = x[i * stride] - mean;
        acc += d * d;
      }
      const double denom = static_cast<double>(n) - correction;
      return acc / (denom > 0 ? denom : 0.0);
    }
  }
  return kNaN;
}

// inner > 1: accumulate whole rows of `inner` values, so the loads stay contiguous.
void foldRows(R op, const float* x, float* y, size_t r, size_t inner, double correction, std::vector<double>& acc,
              std::vector<double>& aux) {
  if (op == R::Max || op == R::Min || op == R::LogSumExp) {
    // Row-wise extremes with the reference's NaN rule, then (logsumexp) a second pass.
    std::vector<float> best(x, x + inner);
    for (size_t k = 1; k < r; k++) {
      const float* row = x + k * inner;
      for (size_t j = 0; j < inner; j++) {
        const float v = row[j];
        const bool better = op == R::Min ? v < best[j] : v > best[j];
        if (better || v != v) best[j] = v;
      }
    }
    if (op != R::LogSumExp) {
      for (size_t j = 0; j < inner; j++) y[j] = best[j];
      return;
    }
    acc.assign(inner, 0.0);
    for (size_t k = 0; k < r; k++) {
      const float* row = x + k * inner;
      for (size_t j = 0; j < inner; j++) {
        if (std::isfinite(best[j])) acc[j] += std::exp(static_cast<double>(row[j]) - best[j]);
      }
    }
    for (size_t j = 0; j < inner; j++) {
      y[j] = std::isfinite(best[j]) ? static_cast<float>(best[j] + std::log(acc[j])) : best[j];
    }
    return;
  }
  acc.assign(inner, op == R::Prod ? 1.0 : 0.0);
  for (size_t k = 0; k < r; k++) {
    const float* row = x + k * inner;
    if (op == R::Prod) {
      for (size_t j = 0; j < inner; j++) acc[j] *= row[j];
    } else {
      for (size_t j = 0; j < inner; j++) acc[j] += row[j];
    }
  }
  const double n = static_cast<double>(r);
  if (op == R::Sum || op == R::Prod) {
    for (size_t j = 0; j < inner; j++) y[j] = static_cast<float>(acc[j]);
    return;
  }
  if (op == R::Mean) {
    for (size_t j = 0; j < inner; j++) y[j] = static_cast<float>(acc[j] / n);
    return;
  }
  // Variance: second pass over squared deviations from the mean.
  aux.assign(inner, 0.0);
  for (size_t k = 0; k < r; k++) {
    const float* row = x + k * inner;
    for (size_t j = 0; j < inner; j++) {
      const double d = row[j] - acc[j] / n;
      aux[j] += d * d;
    }
  }
  const double denom = n - correction;
  for (size_t j = 0; j < inner; j++) y[j] = static_cast<float>(aux[j] / (denom > 0 ? denom : 0.0));
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "reduce";
  std::string name = String(info, 0, fn);
  R op;
  if (!parseReduce(name, &op)) Fail(env, "reduce: unknown op '" + name + "'");
  View<float> x = F32(info, 1, fn);
  View<float> y = F32(info, 2, fn);
  const size_t outer = Size(info, 3, fn), r = Size(info, 4, fn), inner = Size(info, 5, fn);
  const double correction = Number(info, 6, fn);
  Require(env, x.length == ProductOf({outer, r, inner}, fn), "reduce: x does not hold outer·r·inner elements");
  Require(env, y.length == ProductOf({outer, inner}, fn), "reduce: y does not hold outer·inner elements");
  Require(env, r > 0 || (op != R::Max && op != R::Min), "reduce: max/min of an empty axis");
  if (y.length == 0) return env.Undefined();
  if (r == 0) {
    const double v = op == R::Sum ? 0.0 : op == R::Prod ? 1.0 : op == R::LogSumExp ? -kInf : kNaN;
    for (size_t i = 0; i < y.length; i++) y.data[i] = static_cast<float>(v);
    return env.Undefined();
  }
  if (inner == 1) {
    // A whole-tensor sum or mean splits the run itself across threads.
    if (outer == 1 && (op == R::Sum || op == R::Mean) && r >= (1u << 18) && threadCount() > 1) {
      const size_t chunks = threadCount() * 4;
      const size_t step = (r + chunks - 1) / chunks;
      std::vector<double> partial(chunks, 0.0);
      parallelFor(chunks, [&](size_t c) {
        const size_t b = c * step;
        if (b < r) partial[c] = sumRun(x.data + b, std::min(step, r - b), 1);
      });
      double total = 0;
      for (double p : partial) total += p;
      y.data[0] = static_cast<float>(op == R::Mean ? total / static_cast<double>(r) : total);
      return env.Undefined();
    }
    const size_t grain = (1u << 14) / r + 1;
    parallelRange(outer, grain, [&](size_t o0, size_t o1) {
      for (size_t o = o0; o < o1; o++) y.data[o] = static_cast<float>(foldRun(op, x.data + o * r, r, 1, correction));
    });
    return env.Undefined();
  }
  const size_t grain = (1u << 14) / (r * inner) + 1;
  parallelRange(outer, grain, [&](size_t o0, size_t o1) {
    std::vector<double> acc, aux;
    for (size_t o = o0; o < o1; o++) foldRows(op, x.data + o * r * inner, y.data + o * inner, r, inner, correction, acc, aux);
  });
  return env.Undefined();
}

// The first best index; a NaN wins over every number and the first NaN stays.
template <bool isMax>
int32_t argRun(const float* x, size_t n, size_t stride) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    const float v = x[i * stride];
    const float b = x[best * stride];
    if (b == b && (v != v || (isMax ? v > b : v < b))) best = i;
  }
  return static_cast<int32_t>(best);
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "argReduce";
  std::string name = String(info, 0, fn);
  Require(env, name == "argmax" || name == "argmin", "argReduce: op must be argmax or argmin");
  const bool isMax = name == "argmax";
  View<float> x = F32(info, 1, fn);
  View<int32_t> y = I32(info, 2, fn);
  const size_t outer = Size(info, 3, fn), r = Size(info, 4, fn), inner = Size(info, 5, fn);
  Require(env, r > 0, "argReduce: the axis is empty");
  Require(env, r <= 2147483647u, "argReduce: the axis is longer than an i32 index");
  Require(env, x.length == ProductOf({outer, r, inner}, fn), "argReduce: x does not hold outer·r·inner elements");
  Require(env, y.length == ProductOf({outer, inner}, fn), "argReduce: y does not hold outer·inner elements");
  const size_t grain = (1u << 14) / r + 1;
  parallelRange(outer * inner, grain, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; t++) {
      const size_t o = t / inner, j = t % inner;
      const float* base = x.data + o * r * inner + j;
      y.data[t] = isMax ? argRun<true>(base, r, inner) : argRun<false>(base, r, inner);
    }
  });
  return env.Undefined();
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce, "argReduce"));
}

}  // namespace eai
