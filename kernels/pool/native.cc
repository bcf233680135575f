// Native 2-D pooling (kernels/pool/ref.ts semantics): one window walk per (sample,
// channel) plane serves max and average pooling, their gradients and maxPool2dSelect,
// so the argmax tie rule (first maximum; a NaN beats any number) is shared by all.
// Planes are independent, so they are split across the pool; gradients accumulate in
// double within a plane, as the reference does.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "eai.h"

namespace eai {

namespace {

struct Window {
  size_t N, C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw;
};

enum class Mode { Max, Select, MaxGrad, Avg, AvgGrad };

// Visit each output position of one plane with the flat (in-plane) indices of its real taps.
template <class F>
void forEachWindow(const Window& w, F&& visit) {
  std::vector<size_t> taps;
  taps.reserve(w.kh * w.kw);
  size_t o = 0;
  for (size_t yh = 0; yh < w.OH; yh++) {
    for (size_t yw = 0; yw < w.OW; yw++) {
      taps.clear();
      for (size_t a = 0; a < w.kh; a++) {
        const int64_t ih = static_cast<int64_t>(yh * w.sh + a * w.dh) - static_cast<int64_t>(w.pt);
        if (ih < 0 || ih >= static_cast<int64_t>(w.H)) continue;
        for (size_t e = 0; e < w.kw; e++) {
          const int64_t iw = static_cast<int64_t>(yw * w.sw + e * w.dw) - static_cast<int64_t>(w.pl);
          if (iw < 0 || iw >= static_cast<int64_t>(w.W)) continue;
          taps.push_back(static_cast<size_t>(ih) * w.W + static_cast<size_t>(iw));
        }
      }
      visit(o++, taps);
    }
  }
}

int64_t argmax(const float* x, const std::vector<size_t>& taps) {
  int64_t best = -1;
  for (size_t s : taps) {
    if (best < 0) {
      best = static_cast<int64_t>(s);
      continue;
    }
    const float v = x[s], b = x[best];
    if (b == b && (v > b || v != v)) best = static_cast<int64_t>(s);
  }
  return best;
}

// pool2d(mode, x, other, y, window, countIncludePad):
//   max      x → y (pooled)          select   keys x, values other → y (pooled)
//   maxGrad  keys x, grad other → y  avg      x → y (pooled)     avgGrad  grad x → y (input)
Napi::Value Pool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "pool2d";
  const std::string name = String(info, 0, fn);
  Mode mode;
  if (name == "max") mode = Mode::Max;
  else if (name == "select") mode = Mode::Select;
  else if (name == "maxGrad") mode = Mode::MaxGrad;
  else if (name == "avg") mode = Mode::Avg;
  else if (name == "avgGrad") mode = Mode::AvgGrad;
  else Fail(env, "pool2d: unknown mode '" + name + "'");
  View<float> x = F32(info, 1, fn);
  const bool hasOther = !info[2].IsNull();
  View<float> other;
  if (hasOther) other = F32(info, 2, fn);
  View<float> y = F32(info, 3, fn);
  std::vector<size_t> v = Sizes(info, 4, fn);
  Require(env, v.size() == 14, "pool2d: window is [N, C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw]");
  // Each entry below 2^24 keeps every window index far inside int64 (as conv's geometry).
  for (size_t k = 0; k < 14; k++) Require(env, v[k] < (size_t{1} << 24), "pool2d: a window entry is 2^24 or more");
  const Window w{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]};
  const bool countIncludePad = Bool(info, 5, fn);
  const size_t planes = MulSize(w.N, w.C, fn), in = MulSize(w.H, w.W, fn), out = MulSize(w.OH, w.OW, fn);
  const bool needsOther = mode == Mode::Select || mode == Mode::MaxGrad;
  Require(env, hasOther == needsOther, "pool2d: this mode takes " + std::string(needsOther ? "a second array" : "no second array"));
  // The arrays each mode reads and writes, in elements: input-shaped or pooled.
  const size_t pooled = MulSize(planes, out, fn), full = MulSize(planes, in, fn);
  const size_t xLen = mode == Mode::AvgGrad ? pooled : full;
  const size_t yLen = mode == Mode::MaxGrad || mode == Mode::AvgGrad ? full : pooled;
  const size_t otherLen = mode == Mode::Select ? full : pooled;
  Require(env, x.length == xLen, "pool2d: x does not match the window geometry");
  Require(env, y.length == yLen, "pool2d: y does not match the window geometry");
  Require(env, !hasOther || other.length == otherLen, "pool2d: the second array does not match the window geometry");
  const size_t kernelArea = w.kh * w.kw;
  parallelRange(planes, (1u << 12) / (out * kernelArea + 1) + 1, [&](size_t p0, size_t p1) {
    std::vector<double> acc;
    for (size_t p = p0; p < p1; p++) {
      switch (mode) {
        case Mode::Max:
        case Mode::Select: {
          const float* keys = x.data + p * in;
          const float* vals = mode == Mode::Max ? keys : other.data + p * in;
          float* yp = y.data + p * out;
          const float empty = mode == Mode::Max ? -std::numeric_limits<float>::infinity() : 0.0f;
          forEachWindow(w, [&](size_t o, const std::vector<size_t>& taps) {
            const int64_t best = argmax(keys, taps);
            yp[o] = best < 0 ? empty : vals[best];
          });
          break;
        }
        case Mode::MaxGrad: {
          const float* keys = x.data + p * in;
          const float* g = other.data + p * out;
          acc.assign(in, 0.0);
          forEachWindow(w, [&](size_t o, const std::vector<size_t>& taps) {
            const int64_t best = argmax(keys, taps);
            if (best >= 0) acc[best] += g[o];
          });
          float* yp = y.data + p * in;
          for (size_t i = 0; i < in; i++) yp[i] = static_cast<float>(acc[i]);
          break;
        }
        case Mode::Avg: {
          const float* xp = x.data + p * in;
          float* yp = y.data + p * out;
          forEachWindow(w, [&](size_t o, const std::vector<size_t>& taps) {
            double s = 0;
            for (size_t t : taps) s += xp[t];
            yp[o] = static_cast<float>(s / static_cast<double>(countIncludePad ? kernelArea : taps.size()));
          });
          break;
        }
        case Mode::AvgGrad: {
          const float* g = x.data + p * out;
          acc.assign(in, 0.0);
          forEachWindow(w, [&](size_t o, const std::vector<size_t>& taps) {
            const double share = g[o] / static_cast<double>(countIncludePad ? kernelArea : taps.size());
            for (size_t t : taps) acc[t] += share;
          });
          float* yp = y.data + p * in;
          for (size_t i = 0; i < in; i++) yp[i] = static_cast<float>(acc[i]);
          break;
        }
      }
    }
  });
  return env.Undefined();
}

}  // namespace

void InitPool(Napi::Env env, Napi::Object exports) { exports.Set("pool2d", Napi::Function::New(env, Pool2d, "pool2d")); }

}  // namespace eai
