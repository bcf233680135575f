// Native layout kernels: data movement for any element size (gather, pad, strided
// writes for sliceScatter) and the f32 gradient scatters (scatterAdd, padGrad).
// Index validation happens in TypeScript first, so bad indices raise the reference's
// error; the checks here only keep a wrong call from touching memory out of bounds.
#include <cstring>
#include <string>
#include <vector>

#include "eai.h"

namespace eai {

namespace {

void copyElements(uint8_t* dst, const uint8_t* src, size_t count, size_t size) { std::memcpy(dst, src, count * size); }

// gatherRows(x, indices, y, outer, dim, inner): y[o, k, :] = x[o, indices[k], :].
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "gatherRows";
  size_t xs = 0, ys = 0;
  View<uint8_t> x = Bytes(info, 0, fn, &xs);
  View<int32_t> idx = I32(info, 1, fn);
  View<uint8_t> y = Bytes(info, 2, fn, &ys);
  const size_t outer = Size(info, 3, fn), dim = Size(info, 4, fn), inner = Size(info, 5, fn);
  Require(env, xs == ys, "gatherRows: x and y differ in element type");
  Require(env, x.length == ProductOf({outer, dim, inner}, fn), "gatherRows: x does not hold outer·dim·inner elements");
  Require(env, y.length == ProductOf({outer, idx.length, inner}, fn),
          "gatherRows: y does not hold outer·indices·inner elements");
  const int64_t d = static_cast<int64_t>(dim);
  for (size_t k = 0; k < idx.length; k++) {
    Require(env, idx.data[k] >= -d && idx.data[k] < d, "gatherRows: index out of range");
  }
  if (y.length == 0) return env.Undefined();
  const size_t n = idx.length;
  const size_t rows = outer * n;
  parallelRange(rows, (1u << 14) / (inner + 1) + 1, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; t++) {
      const size_t o = t / n, k = t % n;
      int64_t row = idx.data[k];
      if (row < 0) row += d;
      copyElements(y.data + t * inner * xs, x.data + (o * dim + static_cast<size_t>(row)) * inner * xs, inner, xs);
    }
  });
  return env.Undefined();
}

// scatterAddRows(g, indices, y, outer, dim, inner): y[o, indices[k], :] += g[o, k, :], in order.
Napi::Value ScatterAddRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "scatterAddRows";
  View<float> g = F32(info, 0, fn);
  View<int32_t> idx = I32(info, 1, fn);
  View<float> y = F32(info, 2, fn);
  const size_t outer = Size(info, 3, fn), dim = Size(info, 4, fn), inner = Size(info, 5, fn);
  Require(env, y.length == ProductOf({outer, dim, inner}, fn),
          "scatterAddRows: y does not hold outer·dim·inner elements");
  Require(env, g.length == ProductOf({outer, idx.length, inner}, fn),
          "scatterAddRows: g does not hold outer·indices·inner elements");
  const int64_t d = static_cast<int64_t>(dim);
  for (size_t k = 0; k < idx.length; k++) {
    Require(env, idx.data[k] >= -d && idx.data[k] < d, "scatterAddRows: index out of range");
  }
  if (g.length == 0) return env.Undefined();
  const size_t n = idx.length;
  // Each outer slice is independent; within one, repeated indices add in index order.
  parallelRange(outer, (1u << 14) / (n * inner + 1) + 1, [&](size_t o0, size_t o1) {
    for (size_t o = o0; o < o1; o++) {
      for (size_t k = 0; k < n; k++) {
        int64_t row = idx.data[k];
        if (row < 0) row += d;
        float* dst = y.data + (o * dim + static_cast<size_t>(row)) * inner;
        const float* src = g.data + (o * n + k) * inner;
        for (size_t j = 0; j < inner; j++) dst[j] += src[j];
      }
    }
  });
  return env.Undefined();
}

// stridedWrite(src, dst, shape, strides, offset): the strided view of dst ← row-major src.
Napi::Value StridedWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "stridedWrite";
  size_t ss = 0, ds = 0;
  View<uint8_t> src = Bytes(info, 0, fn, &ss);
  View<uint8_t> dst = Bytes(info, 1, fn, &ds);
  std::vector<size_t> shape = Sizes(info, 2, fn);
  std::vector<int64_t> strides = Ints(info, 3, fn);
  const int64_t offset = static_cast<int64_t>(Size(info, 4, fn));
  Require(env, ss == ds, "stridedWrite: source and destination element types differ");
  Require(env, shape.size() == strides.size(), "stridedWrite: shape and strides differ in rank");
  const size_t n = ProductOf(shape, fn);
  Require(env, src.length == n, "stridedWrite: source length does not match the shape");
  if (n == 0) return env.Undefined();
  RequireView(env, offset, shape, strides, dst.length, fn);
  const size_t rank = shape.size();
  const size_t inner = rank ? shape[rank - 1] : 1;
  const int64_t innerStride = rank ? strides[rank - 1] : 1;
  const size_t rows = n / inner;
  std::vector<size_t> index(rank ? rank - 1 : 0, 0);
  for (size_t row = 0; row < rows; row++) {
    int64_t pos = offset;
    for (size_t a = 0; a + 1 < rank; a++) pos += static_cast<int64_t>(index[a]) * strides[a];
    const uint8_t* s = src.data + row * inner * ss;
    if (innerStride == 1) {
      std::memcpy(dst.data + pos * static_cast<int64_t>(ss), s, inner * ss);
    } else {
      for (size_t j = 0; j < inner; j++) {
        std::memcpy(dst.data + (pos + static_cast<int64_t>(j) * innerStride) * static_cast<int64_t>(ss), s + j * ss, ss);
      }
    }
    for (size_t a = rank - 1; a-- > 0;) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
  return env.Undefined();
}

// Source index along one axis for padded position p, or -1 for the constant (layout/ref.ts padSource).
int64_t padSource(int64_t p, int64_t before, int64_t dim, int mode) {
  int64_t i = p - before;
  if (i >= 0 && i < dim) return i;
  if (mode == 0) return -1;
  if (mode == 2) return i < 0 ? 0 : dim - 1;
  if (dim == 1) return 0;
  const int64_t period = 2 * (dim - 1);
  i = ((i % period) + period) % period;
  return i < dim ? i : period - i;
}

int parseMode(const Napi::Env& env, const std::string& mode) {
  if (mode == "constant") return 0;
  if (mode == "reflect") return 1;
  if (mode == "edge") return 2;
  Fail(env, "pad: unknown mode '" + mode + "' (use constant, reflect or edge)");
}

// Per axis, the flat source offset of every output position (-1: constant), so the walk
// below is one table lookup per axis. The tables are built only once the padded shape is known
// to match an output array: they have one entry per output position of each axis.
struct PadPlan {
  std::vector<size_t> outShape;
  std::vector<std::vector<int64_t>> source;
  size_t total = 0;

  PadPlan(const Napi::Env& env, const std::vector<size_t>& shape, const std::vector<int64_t>& pads, int mode,
          size_t outLength, const char* fn) {
    Require(env, pads.size() == 2 * shape.size(), std::string(fn) + ": pads must hold [before, after] for every axis");
    const size_t rank = shape.size();
    outShape.resize(rank);
    for (size_t a = 0; a < rank; a++) {
      const int64_t before = pads[2 * a], after = pads[2 * a + 1];
      Require(env, before >= 0 && after >= 0, std::string(fn) + ": padding must be non-negative");
      const int64_t dim = static_cast<int64_t>(shape[a]);
      Require(env, mode != 1 || ((before < dim && after < dim) || (before == 0 && after == 0)),
              std::string(fn) + ": reflect padding must be smaller than the axis");
      Require(env, mode != 2 || dim > 0 || (before == 0 && after == 0), std::string(fn) + ": edge padding of an empty axis");
      outShape[a] = AddSize(AddSize(shape[a], static_cast<size_t>(before), fn), static_cast<size_t>(after), fn);
    }
    total = ProductOf(outShape, fn);
    Require(env, outLength == total, std::string(fn) + ": the padded array does not match the padded shape");
    if (total == 0) return;
    // Row-major strides of the input; a zero-size input axis is only padded with the constant.
    std::vector<int64_t> stride(rank, 1);
    for (size_t a = rank; a-- > 1;) stride[a - 1] = stride[a] * static_cast<int64_t>(shape[a] ? shape[a] : 1);
    source.resize(rank);
    for (size_t a = 0; a < rank; a++) {
      const int64_t before = pads[2 * a], dim = static_cast<int64_t>(shape[a]);
      source[a].resize(outShape[a]);
      for (size_t p = 0; p < outShape[a]; p++) {
        const int64_t s = padSource(static_cast<int64_t>(p), before, dim, mode);
        source[a][p] = s < 0 ? -1 : s * stride[a];
      }
    }
  }

  size_t size() const { return total; }

  // visit(outIndex, sourceIndex or -1) for every output element in order.
  template <class F>
  void walk(F&& visit) const {
    const size_t rank = outShape.size();
    const size_t n = size();
    if (n == 0) return;
    if (rank == 0) {
      visit(0, 0);
      return;
    }
    std::vector<size_t> index(rank, 0);
    for (size_t o = 0; o < n; o++) {
      int64_t src = 0;
      for (size_t a = 0; a < rank; a++) {
        const int64_t s = source[a][index[a]];
        if (s < 0) {
          src = -1;
          break;
        }
        src += s;
      }
      visit(o, src);
      for (size_t a = rank; a-- > 0;) {
        if (++index[a] < outShape[a]) break;
        index[a] = 0;
      }
    }
  }
};

// pad(x, y, shape, pads[2·rank], mode, fill): fill is a one-element array of x's type.
Napi::Value Pad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "pad";
  size_t xs = 0, ys = 0, fs = 0;
  View<uint8_t> x = Bytes(info, 0, fn, &xs);
  View<uint8_t> y = Bytes(info, 1, fn, &ys);
  std::vector<size_t> shape = Sizes(info, 2, fn);
  std::vector<int64_t> pads = Ints(info, 3, fn);
  const int mode = parseMode(env, String(info, 4, fn));
  View<uint8_t> fill = Bytes(info, 5, fn, &fs);
  Require(env, xs == ys && xs == fs && fill.length == 1, "pad: x, y and fill must share one element type");
  Require(env, x.length == ProductOf(shape, fn), "pad: x does not match its shape");
  PadPlan plan(env, shape, pads, mode, y.length, fn);
  plan.walk([&](size_t o, int64_t src) {
    std::memcpy(y.data + o * xs, src < 0 ? fill.data : x.data + static_cast<size_t>(src) * xs, xs);
  });
  return env.Undefined();
}

// padGrad(g, y, inputShape, pads, mode): y[source] += g for every padded position.
Napi::Value PadGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "padGrad";
  View<float> g = F32(info, 0, fn);
  View<float> y = F32(info, 1, fn);
  std::vector<size_t> shape = Sizes(info, 2, fn);
  std::vector<int64_t> pads = Ints(info, 3, fn);
  const int mode = parseMode(env, String(info, 4, fn));
  Require(env, y.length == ProductOf(shape, fn), "padGrad: y does not match the input shape");
  PadPlan plan(env, shape, pads, mode, g.length, fn);
  plan.walk([&](size_t o, int64_t src) {
    if (src >= 0) y.data[src] += g.data[o];
  });
  return env.Undefined();
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows, "gatherRows"));
  exports.Set("scatterAddRows", Napi::Function::New(env, ScatterAddRows, "scatterAddRows"));
  exports.Set("stridedWrite", Napi::Function::New(env, StridedWrite, "stridedWrite"));
  exports.Set("pad", Napi::Function::New(env, Pad, "pad"));
  exports.Set("padGrad", Napi::Function::New(env, PadGrad, "padGrad"));
}

}  // namespace eai
