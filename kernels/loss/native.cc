// Native cross-entropy and its gradient: one row of logits per target, log-sum-exp in
// double. Targets were validated in TypeScript (the reference's error names a bad one);
// the range check here only guards memory.
#include <cmath>
#include <limits>

#include "eai.h"

namespace eai {

namespace {

// Math.max semantics: a NaN anywhere makes the maximum NaN.
double rowLogSumExp(const float* x, size_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (size_t c = 0; c < n; c++) {
    const double v = x[c];
    if (v > m || v != v) m = v;
    if (m != m) break;
  }
  double acc = 0;
  for (size_t c = 0; c < n; c++) acc += std::exp(x[c] - m);
  return m + std::log(acc);
}

struct Rows {
  const float* logits;
  const int32_t* targets;
  size_t rows, classes;
  double ignore;  // NaN: no ignored class
  double eps;
};

Rows parse(const Napi::CallbackInfo& info, const char* fn, size_t first) {
  Napi::Env env = info.Env();
  View<float> logits = F32(info, 0, fn);
  View<int32_t> targets = I32(info, 1, fn);
  Rows r{logits.data, targets.data, Size(info, first, fn), Size(info, first + 1, fn), Number(info, first + 2, fn),
         Number(info, first + 3, fn)};
  Require(env, targets.length == r.rows && logits.length == ProductOf({r.rows, r.classes}, fn), std::string(fn) + ": logits must be [rows, classes] and targets [rows]");
  for (size_t i = 0; i < r.rows; i++) {
    const int32_t t = r.targets[i];
    Require(env, static_cast<double>(t) == r.ignore || (t >= 0 && static_cast<size_t>(t) < r.classes),
            std::string(fn) + ": a target is out of range");
  }
  return r;
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropy";
  Rows r = parse(info, fn, 3);
  View<float> y = F32(info, 2, fn);
  Require(info.Env(), y.length == r.rows, "crossEntropy: y must hold one loss per row");
  parallelRange(r.rows, (1u << 13) / (r.classes + 1) + 1, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      const int32_t t = r.targets[i];
      if (static_cast<double>(t) == r.ignore) {
        y.data[i] = 0.0f;
        continue;
      }
      const float* x = r.logits + i * r.classes;
      const double lse = rowLogSumExp(x, r.classes);
      double meanLogit = 0;
      if (r.eps > 0) {
        for (size_t c = 0; c < r.classes; c++) meanLogit += x[c];
        meanLogit /= static_cast<double>(r.classes);
      }
      y.data[i] = static_cast<float>((1 - r.eps) * (lse - x[t]) + (r.eps > 0 ? r.eps * (lse - meanLogit) : 0.0));
    }
  });
  return info.Env().Undefined();
}

Napi::Value CrossEntropyGrad(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyGrad";
  Rows r = parse(info, fn, 4);
  View<float> g = F32(info, 2, fn);
  View<float> y = F32(info, 3, fn);
  Require(info.Env(), g.length == r.rows && y.length == r.rows * r.classes, "crossEntropyGrad: g must be [rows] and y [rows, classes]");
  parallelRange(r.rows, (1u << 13) / (r.classes + 1) + 1, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      float* out = y.data + i * r.classes;
      const int32_t t = r.targets[i];
      if (static_cast<double>(t) == r.ignore) {
        for (size_t c = 0; c < r.classes; c++) out[c] = 0.0f;
        continue;
      }
      const float* x = r.logits + i * r.classes;
      const double lse = rowLogSumExp(x, r.classes);
      const double gi = g.data[i];
      for (size_t c = 0; c < r.classes; c++) {
        const double q = (static_cast<int32_t>(c) == t ? 1 - r.eps : 0.0) + r.eps / static_cast<double>(r.classes);
        out[c] = static_cast<float>(gi * (std::exp(x[c] - lse) - q));
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy, "crossEntropy"));
  exports.Set("crossEntropyGrad", Napi::Function::New(env, CrossEntropyGrad, "crossEntropyGrad"));
}

}  // namespace eai
