// Native 2-D convolution (NCHW, PyTorch semantics as kernels/conv/ref.ts) as GEMMs on
// the packed kernel of matmul/native.cc:
//   conv2d            y[n,g]  = W[g] · im2col(x[n,g])            (1x1/stride 1: x itself)
//   convTranspose2d   y[n,g] += col2im(W[g]ᵀ · x[n,g])
//   conv2dWeightGrad  dW[g]  += g[n,g] · im2col(x[n,g])ᵀ         summed over the batch
// im2col buffers cover a slab of output rows at a time, so memory stays bounded for
// large images. Many small (sample, group) problems run one per task; large ones run
// one after another with the GEMM itself split across the pool.
#include <algorithm>
#include <cstring>
#include <vector>

#include "eai.h"

namespace eai {

namespace {

struct Geometry {
  size_t N, C, H, W, O, kh, kw, OH, OW, sh, sw, pt, pl, dh, dw, groups;
  size_t Cg() const { return C / groups; }
  size_t Og() const { return O / groups; }
  size_t K() const { return Cg() * kh * kw; }
};

Geometry parseGeometry(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  std::vector<size_t> g = Sizes(info, i, fn);
  Require(info.Env(), g.size() == 16,
          std::string(fn) + ": geometry is [N, C, H, W, O, kH, kW, OH, OW, sh, sw, pt, pl, dh, dw, groups]");
  Geometry r{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]};
  Require(info.Env(), r.groups >= 1 && r.C % r.groups == 0 && r.O % r.groups == 0,
          std::string(fn) + ": groups must divide the input and output channels");
  Require(info.Env(), r.sh >= 1 && r.sw >= 1 && r.dh >= 1 && r.dw >= 1, std::string(fn) + ": stride and dilation must be >= 1");
  return r;
}

// cols[(c, ki, kj), (oy − oy0)·OW + ox] = x[c, oy·sh − pt + ki·dh, ox·sw − pl + kj·dw] (0 outside).
void im2colRange(const Geometry& G, const float* x, size_t c0, size_t c1, size_t oy0, size_t oy1, size_t OW,
                 float* cols) {
  const size_t width = (oy1 - oy0) * OW;
  for (size_t c = c0; c < c1; c++) {
    const float* plane = x + c * G.H * G.W;
    for (size_t ki = 0; ki < G.kh; ki++) {
      for (size_t kj = 0; kj < G.kw; kj++) {
        float* row = cols + ((c * G.kh + ki) * G.kw + kj) * width;
        const int64_t xoff = static_cast<int64_t>(kj * G.dw) - static_cast<int64_t>(G.pl);
        for (size_t oy = oy0; oy < oy1; oy++) {
          float* out = row + (oy - oy0) * OW;
          const int64_t iy = static_cast<int64_t>(oy * G.sh + ki * G.dh) - static_cast<int64_t>(G.pt);
          if (iy < 0 || iy >= static_cast<int64_t>(G.H)) {
            std::memset(out, 0, OW * sizeof(float));
            continue;
          }
          const float* src = plane + static_cast<size_t>(iy) * G.W;
          if (G.sw == 1) {
            // ix = ox + xoff: zeros, one contiguous run, zeros.
            const int64_t lo = std::max<int64_t>(0, -xoff);
            const int64_t hi = std::min<int64_t>(static_cast<int64_t>(OW), static_cast<int64_t>(G.W) - xoff);
            if (hi <= lo) {
              std::memset(out, 0, OW * sizeof(float));
              continue;
            }
            std::memset(out, 0, static_cast<size_t>(lo) * sizeof(float));
            std::memcpy(out + lo, src + lo + xoff, static_cast<size_t>(hi - lo) * sizeof(float));
            std::memset(out + hi, 0, (OW - static_cast<size_t>(hi)) * sizeof(float));
          } else {
            for (size_t ox = 0; ox < OW; ox++) {
              const int64_t ix = static_cast<int64_t>(ox * G.sw) + xoff;
              out[ox] = ix >= 0 && ix < static_cast<int64_t>(G.W) ? src[ix] : 0.0f;
            }
          }
        }
      }
    }
  }
}

// Reads every window position inside x (out-of-range taps become zeros), so any geometry is safe.
void im2col(const Geometry& G, const float* x, size_t channels, size_t oy0, size_t oy1, size_t OW, float* cols,
            bool parallel) {
  if (parallel && channels > 1) {
    parallelRange(channels, 1, [&](size_t c0, size_t c1) { im2colRange(G, x, c0, c1, oy0, oy1, OW, cols); });
  } else {
    im2colRange(G, x, 0, channels, oy0, oy1, OW, cols);
  }
}

// Output rows per im2col slab: about 2 MB of columns, at least one row.
size_t slabRows(size_t K, size_t OW, size_t OH) {
  const size_t perRow = std::max<size_t>(1, K * OW);
  return std::max<size_t>(1, std::min(OH, (size_t{1} << 19) / perRow));
}

GemmShape gemm(size_t m, size_t n, size_t k, const float* a, size_t ars, size_t acs, const float* b, size_t brs, size_t bcs,
               float* c, size_t ldc, bool accumulate) {
  GemmShape g{};
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.ars = ars;
  g.acs = acs;
  g.b = b;
  g.brs = brs;
  g.bcs = bcs;
  g.c = c;
  g.ldc = ldc;
  g.accumulate = accumulate;
  return g;
}

// Runs body(task, parallelInside) for every (sample, group): many small problems one per
// task, a few large ones in turn with parallel GEMMs.
template <class F>
void forEachProblem(size_t problems, double flopsEach, F&& body) {
  if (problems > 1 && (flopsEach < 4e6 || problems >= 4 * threadCount())) {
    parallelFor(problems, [&](size_t t) { body(t, false); });
  } else {
    for (size_t t = 0; t < problems; t++) body(t, true);
  }
}

void addBias(const Geometry& G, const float* bias, float* y, size_t planes, size_t planeSize) {
  if (!bias) return;
  parallelRange(planes, (1u << 15) / (planeSize + 1) + 1, [&](size_t b, size_t e) {
    for (size_t p = b; p < e; p++) {
      const float v = bias[p % G.O];
      float* out = y + p * planeSize;
      for (size_t i = 0; i < planeSize; i++) out[i] += v;
    }
  });
}

void conv2dRun(const Geometry& G, const float* x, const float* w, const float* bias, float* y) {
  const size_t Cg = G.Cg(), Og = G.Og(), K = G.K(), P = G.OH * G.OW;
  const bool direct = G.kh == 1 && G.kw == 1 && G.sh == 1 && G.sw == 1 && G.pt == 0 && G.pl == 0 && G.OH == G.H &&
                      G.OW == G.W;
  forEachProblem(G.N * G.groups, 2.0 * Og * K * P, [&](size_t t, bool parallel) {
    const size_t n = t / G.groups, g = t % G.groups;
    const float* xg = x + (n * G.C + g * Cg) * G.H * G.W;
    const float* wg = w + g * Og * K;
    float* yg = y + (n * G.O + g * Og) * P;
    if (direct) {
      sgemm(gemm(Og, P, K, wg, K, 1, xg, P, 1, yg, P, false), parallel);
      return;
    }
    thread_local Scratch colsBuf;
    const size_t rows = slabRows(K, G.OW, G.OH);
    float* cols = colsBuf.floats(K * rows * G.OW);
    for (size_t oy0 = 0; oy0 < G.OH; oy0 += rows) {
      const size_t oy1 = std::min(G.OH, oy0 + rows);
      const size_t width = (oy1 - oy0) * G.OW;
      im2col(G, xg, Cg, oy0, oy1, G.OW, cols, parallel);
      sgemm(gemm(Og, width, K, wg, K, 1, cols, width, 1, yg + oy0 * G.OW, P, false), parallel);
    }
  });
  addBias(G, bias, y, G.N * G.O, P);
}

void convTransposeRun(const Geometry& G, const float* x, const float* w, const float* bias, float* y) {
  // Here C is the input's channels and O the output's; w is [C, O/groups, kh, kw].
  const size_t Cg = G.Cg(), Og = G.Og(), HW = G.H * G.W, P = G.OH * G.OW;
  const size_t M = Og * G.kh * G.kw;
  std::memset(y, 0, G.N * G.O * P * sizeof(float));
  forEachProblem(G.N * G.groups, 2.0 * M * Cg * HW, [&](size_t t, bool parallel) {
    const size_t n = t / G.groups, g = t % G.groups;
    const float* xg = x + (n * G.C + g * Cg) * HW;
    const float* wg = w + g * Cg * M;
    float* yg = y + (n * G.O + g * Og) * P;
    thread_local Scratch colsBuf;
    const size_t rows = slabRows(M, G.W, G.H);
    float* cols = colsBuf.floats(M * rows * G.W);
    for (size_t iy0 = 0; iy0 < G.H; iy0 += rows) {
      const size_t iy1 = std::min(G.H, iy0 + rows);
      const size_t width = (iy1 - iy0) * G.W;
      // cols [M, width] = wgᵀ [M, Cg] · x columns [Cg, width] (row stride HW).
      sgemm(gemm(M, width, Cg, wg, 1, M, xg + iy0 * G.W, HW, 1, cols, width, false), parallel);
      // col2im: each output channel's plane is written by its own rows of cols only.
      auto scatter = [&](size_t o) {
        float* plane = yg + o * P;
        for (size_t ki = 0; ki < G.kh; ki++) {
          for (size_t kj = 0; kj < G.kw; kj++) {
            const float* src = cols + ((o * G.kh + ki) * G.kw + kj) * width;
            for (size_t iy = iy0; iy < iy1; iy++) {
              const int64_t oy = static_cast<int64_t>(iy * G.sh + ki * G.dh) - static_cast<int64_t>(G.pt);
              if (oy < 0 || oy >= static_cast<int64_t>(G.OH)) continue;
              float* out = plane + static_cast<size_t>(oy) * G.OW;
              const float* in = src + (iy - iy0) * G.W;
              for (size_t ix = 0; ix < G.W; ix++) {
                const int64_t ox = static_cast<int64_t>(ix * G.sw + kj * G.dw) - static_cast<int64_t>(G.pl);
                if (ox >= 0 && ox < static_cast<int64_t>(G.OW)) out[ox] += in[ix];
              }
            }
          }
        }
      };
      if (parallel) parallelFor(Og, scatter);
      else
        for (size_t o = 0; o < Og; o++) scatter(o);
    }
  });
  addBias(G, bias, y, G.N * G.O, P);
}

// dW [O, Cg, kh, kw]; G.OH/G.OW are the gradient's extent (it may stop short of conv2d's).
void weightGradRun(const Geometry& G, const float* x, const float* gr, float* dw) {
  const size_t Cg = G.Cg(), Og = G.Og(), K = G.K(), P = G.OH * G.OW;
  std::memset(dw, 0, G.O * K * sizeof(float));
  if (P == 0) return;
  forEachProblem(G.groups, 2.0 * Og * K * P * G.N, [&](size_t g, bool parallel) {
    thread_local Scratch colsBuf;
    const size_t rows = slabRows(K, G.OW, G.OH);
    float* cols = colsBuf.floats(K * rows * G.OW);
    float* dwg = dw + g * Og * K;
    for (size_t n = 0; n < G.N; n++) {
      const float* xg = x + (n * G.C + g * Cg) * G.H * G.W;
      const float* gg = gr + (n * G.O + g * Og) * P;
      for (size_t oy0 = 0; oy0 < G.OH; oy0 += rows) {
        const size_t oy1 = std::min(G.OH, oy0 + rows);
        const size_t width = (oy1 - oy0) * G.OW;
        im2col(G, xg, Cg, oy0, oy1, G.OW, cols, parallel);
        // dW_g [Og, K] += g columns [Og, width] · colsᵀ [width, K].
        sgemm(gemm(Og, K, width, gg + oy0 * G.OW, P, 1, cols, 1, width, dwg, K, true), parallel);
      }
    }
  });
}

struct ConvArgs {
  Geometry G;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
};

ConvArgs parseConv(const Napi::CallbackInfo& info, const char* fn, bool transpose) {
  Napi::Env env = info.Env();
  View<float> x = F32(info, 0, fn), w = F32(info, 1, fn);
  const bool hasBias = !info[2].IsNull();
  View<float> bias;
  if (hasBias) bias = F32(info, 2, fn);
  View<float> y = F32(info, 3, fn);
  Geometry G = parseGeometry(info, 4, fn);
  Require(env, x.length == G.N * G.C * G.H * G.W, std::string(fn) + ": x does not match the geometry");
  const size_t wLen = transpose ? G.C * G.Og() * G.kh * G.kw : G.O * G.Cg() * G.kh * G.kw;
  Require(env, w.length == wLen, std::string(fn) + ": w does not match the geometry");
  Require(env, !hasBias || bias.length == G.O, std::string(fn) + ": bias must hold one value per output channel");
  Require(env, y.length == G.N * G.O * G.OH * G.OW, std::string(fn) + ": y does not match the geometry");
  return ConvArgs{G, x.data, w.data, hasBias ? bias.data : nullptr, y.data};
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  ConvArgs a = parseConv(info, "conv2d", false);
  conv2dRun(a.G, a.x, a.w, a.bias, a.y);
  return info.Env().Undefined();
}

Napi::Value ConvTranspose2d(const Napi::CallbackInfo& info) {
  ConvArgs a = parseConv(info, "convTranspose2d", true);
  convTransposeRun(a.G, a.x, a.w, a.bias, a.y);
  return info.Env().Undefined();
}

Napi::Value Conv2dWeightGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "conv2dWeightGrad";
  View<float> x = F32(info, 0, fn), g = F32(info, 1, fn), y = F32(info, 2, fn);
  Geometry G = parseGeometry(info, 3, fn);
  Require(env, x.length == G.N * G.C * G.H * G.W, "conv2dWeightGrad: x does not match the geometry");
  Require(env, g.length == G.N * G.O * G.OH * G.OW, "conv2dWeightGrad: g does not match the geometry");
  Require(env, y.length == G.O * G.Cg() * G.kh * G.kw, "conv2dWeightGrad: y does not match the geometry");
  weightGradRun(G, x.data, g.data, y.data);
  return env.Undefined();
}

// conv2d on a libuv worker: x, w, bias and y stay referenced until the promise settles.
class ConvWorker : public Napi::AsyncWorker {
 public:
  ConvWorker(Napi::Env env, ConvArgs args, const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(env, "eai.conv2dAsync"), args_(args), deferred_(Napi::Promise::Deferred::New(env)) {
    for (size_t i = 0; i < 4; i++) {
      if (info[i].IsObject()) keep_[i] = Napi::Persistent(info[i].As<Napi::Object>());
    }
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      conv2dRun(args_.G, args_.x, args_.w, args_.bias, args_.y);
    } catch (const std::exception& e) {
      SetError(std::string("conv2dAsync: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(keep_[3].Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  ConvArgs args_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_[4];
};

Napi::Value Conv2dAsync(const Napi::CallbackInfo& info) {
  ConvArgs a = parseConv(info, "conv2dAsync", false);
  auto* worker = new ConvWorker(info.Env(), a, info);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d, "conv2d"));
  exports.Set("convTranspose2d", Napi::Function::New(env, ConvTranspose2d, "convTranspose2d"));
  exports.Set("conv2dWeightGrad", Napi::Function::New(env, Conv2dWeightGrad, "conv2dWeightGrad"));
  exports.Set("conv2dAsync", Napi::Function::New(env, Conv2dAsync, "conv2dAsync"));
}

}  // namespace eai
