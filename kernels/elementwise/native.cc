// Native elementwise kernels (f32): unary maths, broadcasting binary ops and comparisons,
// where, clamp and casts. Each scalar definition mirrors kernels/elementwise/math.ts
// (NaN and signed-zero behaviour included). Loops are written once and instantiated for
// the baseline and for AVX2 (where the compiler vectorises them 8 wide); exp, sigmoid and
// silu also have explicit AVX2 code. Work is split across the pool for large arrays.
#include <cmath>
#include <cstring>
#include <limits>

#include "eai.h"
#include "simd.h"

namespace eai {

namespace {

constexpr size_t kGrain = 1 << 15;

// ---------------------------------------------------------------- unary

enum class U { Neg, Abs, Sign, Exp, Log, Sqrt, Rsqrt, Square, Sin, Cos, Tanh, Sigmoid, Relu, Erf, Gelu, Silu };

bool parseUnary(const std::string& s, U* op) {
  static const struct {
    const char* name;
    U op;
  } table[] = {{"neg", U::Neg},       {"abs", U::Abs},   {"sign", U::Sign},         {"exp", U::Exp},
               {"log", U::Log},       {"sqrt", U::Sqrt}, {"rsqrt", U::Rsqrt},       {"square", U::Square},
               {"sin", U::Sin},       {"cos", U::Cos},   {"tanh", U::Tanh},         {"sigmoid", U::Sigmoid},
               {"relu", U::Relu},     {"erf", U::Erf},   {"gelu", U::Gelu},         {"silu", U::Silu}};
  for (const auto& e : table) {
    if (s == e.name) {
      *op = e.op;
      return true;
    }
  }
  return false;
}

// Transcendentals go through double so results round once, as the reference's do.
EAI_INLINE float sigmoidScalar(float x) {
  double v = x;
  return static_cast<float>(v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v)));
}

template <U op>
EAI_INLINE float unaryScalar(float x) {
  switch (op) {
    case U::Neg: return -x;
    case U::Abs: return std::fabs(x);
    case U::Sign: return x > 0 ? 1.0f : x < 0 ? -1.0f : x;
    case U::Exp: return static_cast<float>(std::exp(static_cast<double>(x)));
    case U::Log: return static_cast<float>(std::log(static_cast<double>(x)));
    case U::Sqrt: return std::sqrt(x);
    case U::Rsqrt: return static_cast<float>(1.0 / std::sqrt(static_cast<double>(x)));
    case U::Square: return static_cast<float>(static_cast<double>(x) * x);
    case U::Sin: return static_cast<float>(std::sin(static_cast<double>(x)));
    case U::Cos: return static_cast<float>(std::cos(static_cast<double>(x)));
    case U::Tanh: return static_cast<float>(std::tanh(static_cast<double>(x)));
    case U::Sigmoid: return sigmoidScalar(x);
    // Math.max(x, 0): NaN stays NaN and -0 becomes +0.
    case U::Relu: return x > 0 ? x : (x != x ? x : 0.0f);
    case U::Erf: return static_cast<float>(std::erf(static_cast<double>(x)));
    case U::Gelu: {
      double v = x;
      return static_cast<float>(0.5 * v * (1.0 + std::erf(v / 1.4142135623730951)));
    }
    case U::Silu: {
      double v = x;
      return static_cast<float>(v >= 0 ? v / (1.0 + std::exp(-v)) : v * std::exp(v) / (1.0 + std::exp(v)));
    }
  }
  return x;
}

template <U op>
EAI_INLINE void unaryLoop(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = unaryScalar<op>(x[i]);
}

#if EAI_X86
// exp-based ops, 8 lanes at a time; the tail and NaN lanes follow the scalar definitions.
template <U op>
EAI_TARGET_AVX2 void unaryAvx2(const float* x, float* y, size_t n) {
  size_t i = 0;
  if (op == U::Exp || op == U::Sigmoid || op == U::Silu) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
      __m256 v = _mm256_loadu_ps(x + i);
      __m256 r;
      if (op == U::Exp) {
        r = exp256(v);
      } else {
        // 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: e^-|x| never overflows.
        __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        __m256 absNeg = _mm256_or_ps(v, _mm256_set1_ps(-0.0f));
        __m256 e = exp256(absNeg);
        __m256 s = _mm256_div_ps(_mm256_blendv_ps(one, e, neg), _mm256_add_ps(one, e));
        r = op == U::Sigmoid ? s : _mm256_mul_ps(v, s);
        // NaN in, NaN out (the comparisons above would otherwise pick a branch).
        r = _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      }
      _mm256_storeu_ps(y + i, r);
    }
  }
  for (; i < n; i++) y[i] = unaryScalar<op>(x[i]);
}
#endif

template <U op>
void unaryRange(const float* x, float* y, size_t n) {
#if EAI_X86
  if (useAvx2()) return unaryAvx2<op>(x, y, n);
#endif
  unaryLoop<op>(x, y, n);
}

using UnaryFn = void (*)(const float*, float*, size_t);

UnaryFn unaryFn(U op) {
  switch (op) {
    case U::Neg: return unaryRange<U::Neg>;
    case U::Abs: return unaryRange<U::Abs>;
    case U::Sign: return unaryRange<U::Sign>;
    case U::Exp: return unaryRange<U::Exp>;
    case U::Log: return unaryRange<U::Log>;
    case U::Sqrt: return unaryRange<U::Sqrt>;
    case U::Rsqrt: return unaryRange<U::Rsqrt>;
    case U::Square: return unaryRange<U::Square>;
    case U::Sin: return unaryRange<U::Sin>;
    case U::Cos: return unaryRange<U::Cos>;
    case U::Tanh: return unaryRange<U::Tanh>;
    case U::Sigmoid: return unaryRange<U::Sigmoid>;
    case U::Relu: return unaryRange<U::Relu>;
    case U::Erf: return unaryRange<U::Erf>;
    case U::Gelu: return unaryRange<U::Gelu>;
    case U::Silu: return unaryRange<U::Silu>;
  }
  return nullptr;
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  const char* fn = "unary";
  std::string name = String(info, 0, fn);
  U op;
  if (!parseUnary(name, &op)) Fail(info.Env(), "unary: unknown op '" + name + "'");
  View<float> x = F32(info, 1, fn);
  View<float> y = F32(info, 2, fn);
  Require(info.Env(), x.length == y.length, "unary: x and y differ in length");
  UnaryFn f = unaryFn(op);
  parallelRange(x.length, kGrain, [&](size_t b, size_t e) { f(x.data + b, y.data + b, e - b); });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- binary and compare

enum class B { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual };

bool parseBinary(const std::string& s, B* op) {
  static const struct {
    const char* name;
    B op;
  } table[] = {{"add", B::Add},         {"sub", B::Sub},           {"mul", B::Mul},
               {"div", B::Div},         {"pow", B::Pow},           {"maximum", B::Maximum},
               {"minimum", B::Minimum}, {"equal", B::Equal},       {"notEqual", B::NotEqual},
               {"less", B::Less},       {"lessEqual", B::LessEqual}, {"greater", B::Greater},
               {"greaterEqual", B::GreaterEqual}};
  for (const auto& e : table) {
    if (s == e.name) {
      *op = e.op;
      return true;
    }
  }
  return false;
}

constexpr bool isCompare(B op) { return op >= B::Equal; }

// JavaScript's a ** b in double, rounded once (C's pow differs on 1 ** NaN and (±1) ** ±Infinity).
inline float jsPow(float a, float b) {
  if (std::isnan(b)) return NAN;
  if (std::isinf(b) && std::fabs(a) == 1.0f) return NAN;
  return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b)));
}

template <B op>
EAI_INLINE float arith(float a, float b) {
  switch (op) {
    case B::Add: return a + b;
    case B::Sub: return a - b;
    case B::Mul: return a * b;
    case B::Div: return a / b;
    case B::Pow: return jsPow(a, b);
    case B::Maximum: return (a > b || a != a) ? a : b;
    case B::Minimum: return (a < b || a != a) ? a : b;
    default: return 0;
  }
}

template <B op>
EAI_INLINE uint8_t cmp(float a, float b) {
  switch (op) {
    case B::Equal: return a == b;
    case B::NotEqual: return a != b;
    case B::Less: return a < b;
    case B::LessEqual: return a <= b;
    case B::Greater: return a > b;
    case B::GreaterEqual: return a >= b;
    default: return 0;
  }
}

// One output row: the common stride patterns get their own loops so they vectorise.
template <B op, class T>
EAI_INLINE void binaryRow(const float* a, int64_t sa, const float* b, int64_t sb, T* y, size_t n) {
  auto f = [](float u, float v) -> T {
    if constexpr (isCompare(op)) return cmp<op>(u, v);
    else return arith<op>(u, v);
  };
  if (sa == 1 && sb == 1) {
    for (size_t i = 0; i < n; i++) y[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (size_t i = 0; i < n; i++) y[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (size_t i = 0; i < n; i++) y[i] = f(av, b[i]);
  } else {
    for (size_t i = 0; i < n; i++) y[i] = f(a[i * sa], b[i * sb]);
  }
}

template <B op, class T>
EAI_INLINE void binaryRows(const BroadcastPlan& p, const float* a, const float* b, T* y, size_t r0, size_t r1) {
  const size_t len = p.rowLength();
  const int64_t sa = p.innerStride(0), sb = p.innerStride(1);
  for (size_t r = r0; r < r1; r++) {
    binaryRow<op, T>(a + p.rowOffset(0, r), sa, b + p.rowOffset(1, r), sb, y + r * len, len);
  }
}

#if EAI_X86
template <B op, class T>
EAI_TARGET_AVX2 void binaryRowsAvx2(const BroadcastPlan& p, const float* a, const float* b, T* y, size_t r0,
                                    size_t r1) {
  binaryRows<op, T>(p, a, b, y, r0, r1);
}
#endif

template <B op, class T>
void binaryRun(const BroadcastPlan& p, const float* a, const float* b, T* y) {
  const size_t rows = p.rows();
  const size_t grain = kGrain / (p.rowLength() ? p.rowLength() : 1) + 1;
  parallelRange(rows, grain, [&](size_t r0, size_t r1) {
#if EAI_X86
    if (useAvx2()) return binaryRowsAvx2<op, T>(p, a, b, y, r0, r1);
#endif
    binaryRows<op, T>(p, a, b, y, r0, r1);
  });
}

std::vector<size_t> checkedShape(const Napi::CallbackInfo& info, size_t i, const char* fn, size_t length) {
  std::vector<size_t> s = Sizes(info, i, fn);
  const size_t n = ProductOf(s, fn);
  Require(info.Env(), n == length, std::string(fn) + ": argument " + std::to_string(i) + " does not match its array's length");
  return s;
}

void checkBroadcast(const Napi::Env& env, const char* fn, const std::vector<std::vector<size_t>>& ins,
                    const std::vector<size_t>& out) {
  for (const auto& s : ins) {
    Require(env, s.size() <= out.size(), std::string(fn) + ": an input has a higher rank than the output");
    for (size_t i = 0; i < s.size(); i++) {
      size_t d = s[s.size() - 1 - i], o = out[out.size() - 1 - i];
      Require(env, d == o || d == 1, std::string(fn) + ": an input does not broadcast to the output shape");
    }
  }
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "binary";
  std::string name = String(info, 0, fn);
  B op;
  if (!parseBinary(name, &op)) Fail(env, "binary: unknown op '" + name + "'");
  View<float> a = F32(info, 1, fn);
  View<float> b = F32(info, 2, fn);
  std::vector<size_t> as = checkedShape(info, 4, fn, a.length);
  std::vector<size_t> bs = checkedShape(info, 5, fn, b.length);
  std::vector<size_t> os = Sizes(info, 6, fn);
  const size_t n = ProductOf(os, fn);
  checkBroadcast(env, fn, {as, bs}, os);
  BroadcastPlan plan({as, bs}, os);
  if (isCompare(op)) {
    View<uint8_t> y = U8(info, 3, "binary (comparison output)");
    Require(env, y.length == n, "binary: y does not match the output shape");
    if (n == 0) return env.Undefined();
    switch (op) {
      case B::Equal: binaryRun<B::Equal>(plan, a.data, b.data, y.data); break;
      case B::NotEqual: binaryRun<B::NotEqual>(plan, a.data, b.data, y.data); break;
      case B::Less: binaryRun<B::Less>(plan, a.data, b.data, y.data); break;
      case B::LessEqual: binaryRun<B::LessEqual>(plan, a.data, b.data, y.data); break;
      case B::Greater: binaryRun<B::Greater>(plan, a.data, b.data, y.data); break;
      default: binaryRun<B::GreaterEqual>(plan, a.data, b.data, y.data); break;
    }
    return env.Undefined();
  }
  View<float> y = F32(info, 3, fn);
  Require(env, y.length == n, "binary: y does not match the output shape");
  if (n == 0) return env.Undefined();
  switch (op) {
    case B::Add: binaryRun<B::Add>(plan, a.data, b.data, y.data); break;
    case B::Sub: binaryRun<B::Sub>(plan, a.data, b.data, y.data); break;
    case B::Mul: binaryRun<B::Mul>(plan, a.data, b.data, y.data); break;
    case B::Div: binaryRun<B::Div>(plan, a.data, b.data, y.data); break;
    case B::Pow: binaryRun<B::Pow>(plan, a.data, b.data, y.data); break;
    case B::Maximum: binaryRun<B::Maximum>(plan, a.data, b.data, y.data); break;
    default: binaryRun<B::Minimum>(plan, a.data, b.data, y.data); break;
  }
  return env.Undefined();
}

// ---------------------------------------------------------------- where

EAI_INLINE void whereRows(const BroadcastPlan& p, const uint8_t* c, const float* a, const float* b, float* y,
                          size_t r0, size_t r1) {
  const size_t len = p.rowLength();
  const int64_t sc = p.innerStride(0), sa = p.innerStride(1), sb = p.innerStride(2);
  for (size_t r = r0; r < r1; r++) {
    const uint8_t* cr = c + p.rowOffset(0, r);
    const float* ar = a + p.rowOffset(1, r);
    const float* br = b + p.rowOffset(2, r);
    float* yr = y + r * len;
    if (sc == 1 && sa == 1 && sb == 1) {
      for (size_t i = 0; i < len; i++) yr[i] = cr[i] ? ar[i] : br[i];
    } else {
      for (size_t i = 0; i < len; i++) yr[i] = cr[i * sc] ? ar[i * sa] : br[i * sb];
    }
  }
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "where";
  View<uint8_t> c = U8(info, 0, fn);
  View<float> a = F32(info, 1, fn);
  View<float> b = F32(info, 2, fn);
  View<float> y = F32(info, 3, fn);
  std::vector<size_t> cs = checkedShape(info, 4, fn, c.length);
  std::vector<size_t> as = checkedShape(info, 5, fn, a.length);
  std::vector<size_t> bs = checkedShape(info, 6, fn, b.length);
  std::vector<size_t> os = checkedShape(info, 7, fn, y.length);
  checkBroadcast(env, fn, {cs, as, bs}, os);
  if (y.length == 0) return env.Undefined();
  BroadcastPlan plan({cs, as, bs}, os);
  const size_t grain = kGrain / (plan.rowLength() ? plan.rowLength() : 1) + 1;
  parallelRange(plan.rows(), grain, [&](size_t r0, size_t r1) { whereRows(plan, c.data, a.data, b.data, y.data, r0, r1); });
  return env.Undefined();
}

// ---------------------------------------------------------------- clamp

EAI_INLINE void clampLoop(const float* x, float* y, size_t n, double lo, double hi) {
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    y[i] = v != v ? x[i] : static_cast<float>(v < lo ? lo : v > hi ? hi : v);
  }
}

#if EAI_X86
EAI_TARGET_AVX2 void clampAvx2(const float* x, float* y, size_t n, double lo, double hi) { clampLoop(x, y, n, lo, hi); }
#endif

Napi::Value Clamp(const Napi::CallbackInfo& info) {
  const char* fn = "clamp";
  View<float> x = F32(info, 0, fn);
  View<float> y = F32(info, 1, fn);
  double lo = Number(info, 2, fn), hi = Number(info, 3, fn);
  Require(info.Env(), x.length == y.length, "clamp: x and y differ in length");
  Require(info.Env(), lo <= hi, "clamp: min must not exceed max");
  parallelRange(x.length, kGrain, [&](size_t b, size_t e) {
#if EAI_X86
    if (useAvx2()) return clampAvx2(x.data + b, y.data + b, e - b, lo, hi);
#endif
    clampLoop(x.data + b, y.data + b, e - b, lo, hi);
  });
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- cast

// Float → integer truncates toward zero and saturates; NaN becomes 0 (as the reference).
template <class To>
EAI_INLINE To toInt(double v, double lo, double hi) {
  if (v != v) return 0;
  v = std::trunc(v);
  return static_cast<To>(v < lo ? lo : v > hi ? hi : v);
}

template <class From, class To>
void castLoop(const From* x, To* y, size_t n) {
  if constexpr (std::is_same_v<To, float>) {
    for (size_t i = 0; i < n; i++) y[i] = static_cast<float>(x[i]);
  } else {
    constexpr double lo = static_cast<double>(std::numeric_limits<To>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<To>::max());
    for (size_t i = 0; i < n; i++) y[i] = toInt<To>(static_cast<double>(x[i]), lo, hi);
  }
}

template <class From>
void castFrom(const Napi::Env& env, const From* x, Napi::TypedArray yArr, size_t n) {
  void* yp = static_cast<uint8_t*>(yArr.ArrayBuffer().Data()) + yArr.ByteOffset();
  auto run = [&](auto* y) {
    parallelRange(n, kGrain, [&](size_t b, size_t e) { castLoop(x + b, y + b, e - b); });
  };
  switch (yArr.TypedArrayType()) {
    case napi_float32_array: run(static_cast<float*>(yp)); break;
    case napi_int32_array: run(static_cast<int32_t*>(yp)); break;
    case napi_uint8_array: run(static_cast<uint8_t*>(yp)); break;
    case napi_int8_array: run(static_cast<int8_t*>(yp)); break;
    case napi_uint32_array: run(static_cast<uint32_t*>(yp)); break;
    default: Fail(env, "cast: y must be a Float32Array, Int32Array, Uint8Array, Int8Array or Uint32Array");
  }
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env, info.Length() >= 2 && info[0].IsTypedArray() && info[1].IsTypedArray(), "cast: x and y must be typed arrays");
  Napi::TypedArray xArr = info[0].As<Napi::TypedArray>();
  Napi::TypedArray yArr = info[1].As<Napi::TypedArray>();
  const size_t n = xArr.ElementLength();
  Require(env, yArr.ElementLength() == n, "cast: x and y differ in length");
  const void* xp = static_cast<const uint8_t*>(xArr.ArrayBuffer().Data()) + xArr.ByteOffset();
  switch (xArr.TypedArrayType()) {
    case napi_float32_array: castFrom(env, static_cast<const float*>(xp), yArr, n); break;
    case napi_int32_array: castFrom(env, static_cast<const int32_t*>(xp), yArr, n); break;
    case napi_uint8_array: castFrom(env, static_cast<const uint8_t*>(xp), yArr, n); break;
    case napi_int8_array: castFrom(env, static_cast<const int8_t*>(xp), yArr, n); break;
    case napi_uint32_array: castFrom(env, static_cast<const uint32_t*>(xp), yArr, n); break;
    default: Fail(env, "cast: x must be a Float32Array, Int32Array, Uint8Array, Int8Array or Uint32Array");
  }
  return env.Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("where", Napi::Function::New(env, Where, "where"));
  exports.Set("clamp", Napi::Function::New(env, Clamp, "clamp"));
  exports.Set("cast", Napi::Function::New(env, Cast, "cast"));
}

}  // namespace eai
