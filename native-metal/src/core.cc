// Argument helpers, f16 conversion, strided copies (the backend's `contiguous`) and
// the addon's self-description (`info`), shared by every kernel family.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "eai.h"
#if EAI_X86
#include <immintrin.h>
#endif

namespace eai {

// ---------------------------------------------------------------- scratch memory

Scratch::~Scratch() { std::free(p_); }

float* Scratch::floats(size_t n) {
  size_t bytes = AddSize(MulSize(n, sizeof(float), "scratch memory"), 63, "scratch memory") / 64 * 64;
  if (bytes > bytes_) {
    std::free(p_);
    p_ = nullptr;
    bytes_ = 0;
    if (posix_memalign(&p_, 64, bytes ? bytes : 64) != 0) throw std::bad_alloc();
    bytes_ = bytes;
  }
  return static_cast<float*>(p_);
}

// ---------------------------------------------------------------- arguments

[[noreturn]] void Fail(const Napi::Env& env, const std::string& message) {
  throw Napi::Error::New(env, message);
}

void Require(const Napi::Env& env, bool ok, const std::string& message) {
  if (!ok) Fail(env, message);
}

// ---------------------------------------------------------------- checked sizes

[[noreturn]] static void tooLarge(const std::string& what) {
  throw std::range_error(what + ": the sizes multiply or add past 2^64 (a wrong or hostile size)");
}

size_t MulSize(size_t a, size_t b, const char* what) {
  size_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) tooLarge(what);
  return r;
}

size_t AddSize(size_t a, size_t b, const char* what) {
  size_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) tooLarge(what);
  return r;
}

size_t ProductOf(const std::vector<size_t>& dims, const char* what) {
  for (size_t d : dims) {
    if (d == 0) return 0;
  }
  size_t n = 1;
  for (size_t d : dims) n = MulSize(n, d, what);
  return n;
}

size_t ProductOf(std::initializer_list<size_t> dims, const char* what) {
  return ProductOf(std::vector<size_t>(dims), what);
}

void RequireView(const Napi::Env& env, int64_t offset, const std::vector<size_t>& shape,
                 const std::vector<int64_t>& strides, size_t length, const std::string& what) {
  Require(env, shape.size() == strides.size(), what + ": shape and strides differ in rank");
  for (size_t d : shape) {
    if (d == 0) return;
  }
  int64_t lo = offset, hi = offset;
  for (size_t a = 0; a < shape.size(); a++) {
    int64_t span = 0;
    if (shape[a] - 1 > static_cast<size_t>(INT64_MAX) ||
        __builtin_mul_overflow(static_cast<int64_t>(shape[a] - 1), strides[a], &span) ||
        __builtin_add_overflow(span < 0 ? lo : hi, span, span < 0 ? &lo : &hi)) {
      tooLarge(what);
    }
  }
  Require(env, lo >= 0 && static_cast<uint64_t>(hi) < length, what + ": the view reaches outside its storage");
}

template <class T>
static View<T> typed(const Napi::CallbackInfo& info, size_t i, const char* what, napi_typedarray_type want,
                     const char* wantName) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsTypedArray()) {
    Fail(env, std::string(what) + ": argument " + std::to_string(i) + " must be a " + wantName);
  }
  Napi::TypedArray arr = info[i].As<Napi::TypedArray>();
  if (arr.TypedArrayType() != want) {
    Fail(env, std::string(what) + ": argument " + std::to_string(i) + " must be a " + wantName);
  }
  View<T> v;
  v.length = arr.ElementLength();
  Napi::ArrayBuffer buf = arr.ArrayBuffer();
  v.data = reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + arr.ByteOffset());
  return v;
}

View<float> F32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return typed<float>(info, i, what, napi_float32_array, "Float32Array");
}
View<uint16_t> U16(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return typed<uint16_t>(info, i, what, napi_uint16_array, "Uint16Array");
}
View<int32_t> I32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return typed<int32_t>(info, i, what, napi_int32_array, "Int32Array");
}
View<uint8_t> U8(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return typed<uint8_t>(info, i, what, napi_uint8_array, "Uint8Array");
}
View<uint32_t> U32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return typed<uint32_t>(info, i, what, napi_uint32_array, "Uint32Array");
}

View<uint8_t> Bytes(const Napi::CallbackInfo& info, size_t i, const char* what, size_t* elementSize) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsTypedArray()) {
    Fail(env, std::string(what) + ": argument " + std::to_string(i) + " must be a typed array");
  }
  Napi::TypedArray arr = info[i].As<Napi::TypedArray>();
  size_t size = arr.ElementSize();
  View<uint8_t> v;
  v.length = arr.ElementLength();
  v.data = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  *elementSize = size;
  return v;
}

double Number(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    Fail(info.Env(), std::string(what) + ": argument " + std::to_string(i) + " must be a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

size_t Size(const Napi::CallbackInfo& info, size_t i, const char* what) {
  double v = Number(info, i, what);
  if (!(v >= 0) || v != std::floor(v) || v > 9007199254740991.0) {
    Fail(info.Env(), std::string(what) + ": argument " + std::to_string(i) + " must be a non-negative integer");
  }
  return static_cast<size_t>(v);
}

bool Bool(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsBoolean()) {
    Fail(info.Env(), std::string(what) + ": argument " + std::to_string(i) + " must be a boolean");
  }
  return info[i].As<Napi::Boolean>().Value();
}

std::string String(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString()) {
    Fail(info.Env(), std::string(what) + ": argument " + std::to_string(i) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsArray()) {
    Fail(env, std::string(what) + ": argument " + std::to_string(i) + " must be an array of integers");
  }
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!(d == std::floor(d)) || std::fabs(d) > 9007199254740991.0) {
      Fail(env, std::string(what) + ": argument " + std::to_string(i) + " must be an array of integers");
    }
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

std::vector<size_t> Sizes(const Napi::CallbackInfo& info, size_t i, const char* what) {
  std::vector<int64_t> v = Ints(info, i, what);
  std::vector<size_t> out(v.size());
  for (size_t k = 0; k < v.size(); k++) {
    if (v[k] < 0) Fail(info.Env(), std::string(what) + ": argument " + std::to_string(i) + " must not be negative");
    out[k] = static_cast<size_t>(v[k]);
  }
  return out;
}

// ---------------------------------------------------------------- f16

// Round to nearest even, as core/dtype.ts's f32ToF16Bits (NaN keeps its sign and becomes quiet).
static inline uint16_t toHalf(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t exp = (x >> 23) & 0xff;
  uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 : 0));
  int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    int shift = 14 - e;
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half += 1;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half += 1;
  return static_cast<uint16_t>(sign | half);
}

static inline float fromHalf(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      // Subnormal: normalise the mantissa.
      int e = -1;
      do {
        e++;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000 | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

#if EAI_X86
EAI_TARGET_AVX2 static void f16ToF32Avx(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; i++) dst[i] = fromHalf(src[i]);
}
EAI_TARGET_AVX2 static void f32ToF16Avx(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; i++) dst[i] = toHalf(src[i]);
}
#endif

void f16ToF32(const uint16_t* src, float* dst, size_t n) {
  parallelRange(n, 1 << 16, [&](size_t b, size_t e) {
#if EAI_X86
    if (useAvx2()) return f16ToF32Avx(src + b, dst + b, e - b);
#endif
    for (size_t i = b; i < e; i++) dst[i] = fromHalf(src[i]);
  });
}

void f32ToF16(const float* src, uint16_t* dst, size_t n) {
  parallelRange(n, 1 << 16, [&](size_t b, size_t e) {
#if EAI_X86
    if (useAvx2()) return f32ToF16Avx(src + b, dst + b, e - b);
#endif
    for (size_t i = b; i < e; i++) dst[i] = toHalf(src[i]);
  });
}

// ---------------------------------------------------------------- bf16

// bf16 is the upper half of an f32: widening is a shift; narrowing rounds to nearest even
// (as core/dtype.ts's f32ToBf16Bits), and a NaN stays a quiet NaN.
static inline uint16_t toBf16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu)) return static_cast<uint16_t>((x >> 16) | 0x40);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void bf16ToF32(const uint16_t* src, float* dst, size_t n) {
  parallelRange(n, 1 << 16, [&](size_t b, size_t e) {
    uint32_t* out = reinterpret_cast<uint32_t*>(dst);
    for (size_t i = b; i < e; i++) out[i] = static_cast<uint32_t>(src[i]) << 16;
  });
}

void f32ToBf16(const float* src, uint16_t* dst, size_t n) {
  parallelRange(n, 1 << 16, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) dst[i] = toBf16(src[i]);
  });
}

// ---------------------------------------------------------------- strided copy

template <class T>
static void copyRows(const uint8_t* src, uint8_t* dst, const std::vector<size_t>& shape,
                     const std::vector<int64_t>& strides, int64_t offset, size_t rowBegin, size_t rowEnd) {
  const size_t rank = shape.size();
  const size_t inner = shape[rank - 1];
  const int64_t innerStride = strides[rank - 1];
  const T* s = reinterpret_cast<const T*>(src);
  T* d = reinterpret_cast<T*>(dst);
  std::vector<size_t> index(rank - 1, 0);
  // Position of row `rowBegin` (rows enumerate the outer rank-1 axes).
  size_t r = rowBegin;
  for (size_t a = rank - 1; a-- > 0;) {
    index[a] = r % shape[a];
    r /= shape[a];
  }
  for (size_t row = rowBegin; row < rowEnd; row++) {
    int64_t pos = offset;
    for (size_t a = 0; a + 1 < rank; a++) pos += static_cast<int64_t>(index[a]) * strides[a];
    T* out = d + row * inner;
    if (innerStride == 1) {
      std::memcpy(out, s + pos, inner * sizeof(T));
    } else if (innerStride == 0) {
      T v = s[pos];
      for (size_t j = 0; j < inner; j++) out[j] = v;
    } else {
      for (size_t j = 0; j < inner; j++) out[j] = s[pos + static_cast<int64_t>(j) * innerStride];
    }
    for (size_t a = rank - 1; a-- > 0;) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
}

// stridedCopy(src, dst, shape, strides, offset): dst (same element type, row-major) gets the view.
static Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "stridedCopy";
  size_t srcSize = 0, dstSize = 0;
  View<uint8_t> src = Bytes(info, 0, fn, &srcSize);
  View<uint8_t> dst = Bytes(info, 1, fn, &dstSize);
  std::vector<size_t> shape = Sizes(info, 2, fn);
  std::vector<int64_t> strides = Ints(info, 3, fn);
  int64_t offset = static_cast<int64_t>(Size(info, 4, fn));
  Require(env, srcSize == dstSize, "stridedCopy: source and destination element types differ");
  Require(env, shape.size() == strides.size(), "stridedCopy: shape and strides differ in rank");
  const size_t n = ProductOf(shape, fn);
  Require(env, dst.length == n, "stridedCopy: destination length does not match the shape");
  if (n == 0) return env.Undefined();
  RequireView(env, offset, shape, strides, src.length, fn);
  // Merge axes that are contiguous with each other, so the inner loop is as long as possible.
  std::vector<size_t> s2;
  std::vector<int64_t> t2;
  for (size_t a = 0; a < shape.size(); a++) {
    if (shape[a] == 1) continue;
    if (!s2.empty() && t2.back() == strides[a] * static_cast<int64_t>(shape[a])) {
      s2.back() *= shape[a];
      t2.back() = strides[a];
    } else {
      s2.push_back(shape[a]);
      t2.push_back(strides[a]);
    }
  }
  if (s2.empty()) {
    s2.push_back(1);
    t2.push_back(1);
  }
  size_t rows = n / s2.back();
  size_t grain = (1 << 15) / (s2.back() ? s2.back() : 1) + 1;
  parallelRange(rows, grain, [&](size_t b, size_t e) {
    switch (srcSize) {
      case 1: copyRows<uint8_t>(src.data, dst.data, s2, t2, offset, b, e); break;
      case 2: copyRows<uint16_t>(src.data, dst.data, s2, t2, offset, b, e); break;
      case 4: copyRows<uint32_t>(src.data, dst.data, s2, t2, offset, b, e); break;
      default: copyRows<uint64_t>(src.data, dst.data, s2, t2, offset, b, e); break;
    }
  });
  return env.Undefined();
}

// widen(src: Uint16Array, dst: Float32Array) and narrow(src: Float32Array, dst: Uint16Array) for a
// half-precision format (f16, bf16): one binding shape for both formats.
using WidenFn = void (*)(const uint16_t*, float*, size_t);
using NarrowFn = void (*)(const float*, uint16_t*, size_t);

static Napi::Value Widen(const Napi::CallbackInfo& info, const char* fn, WidenFn widen) {
  View<uint16_t> src = U16(info, 0, fn);
  View<float> dst = F32(info, 1, fn);
  Require(info.Env(), src.length == dst.length, std::string(fn) + ": lengths differ");
  widen(src.data, dst.data, src.length);
  return info.Env().Undefined();
}

static Napi::Value Narrow(const Napi::CallbackInfo& info, const char* fn, NarrowFn narrow) {
  View<float> src = F32(info, 0, fn);
  View<uint16_t> dst = U16(info, 1, fn);
  Require(info.Env(), src.length == dst.length, std::string(fn) + ": lengths differ");
  narrow(src.data, dst.data, src.length);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- configuration

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const CpuFeatures& f = cpu();
  std::string features;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!features.empty()) features += ' ';
    features += name;
  };
  add(f.sse42, "sse4.2");
  add(f.avx, "avx");
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.neon, "neon");
  o.Set("cpuFeatures", features);
  o.Set("isa", isaName(activeIsa()));
  o.Set("gemmKernel", gemmKernelName());
  o.Set("threads", static_cast<double>(threadCount()));
#if defined(__aarch64__)
  o.Set("arch", "arm64");
#elif defined(__x86_64__)
  o.Set("arch", "x64");
#else
  o.Set("arch", "other");
#endif
#if defined(__clang__)
  o.Set("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  o.Set("compiler", std::string("gcc ") + __VERSION__);
#endif
  return o;
}

static Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  std::string name = String(info, 0, "setIsa");
  if (!setIsa(name)) {
    Fail(info.Env(), "setIsa: '" + name + "' is not available on this CPU (use auto, baseline, avx2, avx512 or neon)");
  }
  return Napi::String::New(info.Env(), isaName(activeIsa()));
}

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  size_t n = Size(info, 0, "setThreads");
  Require(info.Env(), n >= 1 && n <= 1024, "setThreads: give 1 to 1024 threads");
  setThreadCount(n);
  return Napi::Number::New(info.Env(), static_cast<double>(threadCount()));
}

static Napi::Value FmaPeakJs(const Napi::CallbackInfo& info) {
  double ms = Number(info, 0, "fmaPeak");
  Require(info.Env(), ms > 0 && ms <= 10000, "fmaPeak: give 0 < ms <= 10000");
  FmaPeak p = fmaPeak(ms / 1000);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gflops", p.gflops);
  o.Set("lanes", p.lanes);
  o.Set("isa", isaName(activeIsa()));
  return o;
}

void InitCore(Napi::Env env, Napi::Object exports) {
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeakJs, "fmaPeak"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy, "stridedCopy"));
  exports.Set("f16ToF32", Napi::Function::New(
                              env, [](const Napi::CallbackInfo& i) { return Widen(i, "f16ToF32", f16ToF32); }, "f16ToF32"));
  exports.Set("f32ToF16", Napi::Function::New(
                              env, [](const Napi::CallbackInfo& i) { return Narrow(i, "f32ToF16", f32ToF16); }, "f32ToF16"));
  exports.Set("bf16ToF32",
              Napi::Function::New(
                  env, [](const Napi::CallbackInfo& i) { return Widen(i, "bf16ToF32", bf16ToF32); }, "bf16ToF32"));
  exports.Set("f32ToBf16",
              Napi::Function::New(
                  env, [](const Napi::CallbackInfo& i) { return Narrow(i, "f32ToBf16", f32ToBf16); }, "f32ToBf16"));
}

}  // namespace eai
