// Shared declarations of the efficientai-toolkit native addon: argument helpers,
// the thread pool, CPU feature dispatch and the per-family registration hooks.
// Kernels live in kernels/<family>/native.cc; each defines one Init<Family> hook.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace eai {

// ---------------------------------------------------------------- CPU features

// Instruction sets a kernel may be specialised for. Baseline is what the addon was
// compiled for (x86-64-v2 on x86, ARMv8 NEON on arm64); the others are chosen at run time.
enum class Isa { Baseline, Avx2Fma, Avx512, Neon };

struct CpuFeatures {
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, avx512f = false, neon = false;
};

const CpuFeatures& cpu();
// The instruction set kernels use now: the best the CPU supports unless lowered with SetIsa
// (tests compare the paths; EAI_NATIVE_ISA=baseline lowers it at load).
Isa activeIsa();
bool setIsa(const std::string& name);
const char* isaName(Isa isa);

// The calling core's single-precision multiply-add peak with the active ISA, measured for
// about `seconds` by register-only FMA chains (cpu.cc): the ceiling a GEMM is judged against.
struct FmaPeak {
  double gflops;
  int lanes;
};
FmaPeak fmaPeak(double seconds);
inline bool useAvx2() { return activeIsa() == Isa::Avx2Fma || activeIsa() == Isa::Avx512; }
inline bool useAvx512() { return activeIsa() == Isa::Avx512; }

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define EAI_X86 1
#define EAI_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define EAI_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))
#else
#define EAI_X86 0
#define EAI_TARGET_AVX2
#define EAI_TARGET_AVX512
#endif
#if defined(__aarch64__)
#define EAI_NEON 1
#else
#define EAI_NEON 0
#endif
#define EAI_INLINE inline __attribute__((always_inline))

// ---------------------------------------------------------------- thread pool

// Runs task(ctx, i) for i in [0, n) on the pool, the calling thread included, and
// returns when all are done. Nested calls, and calls made while another caller holds
// the pool (an async matmul while a synchronous op runs), run inline on the caller.
void parallelForRaw(size_t n, void (*task)(void*, size_t), void* ctx);
size_t threadCount();
void setThreadCount(size_t n);

template <class F>
void parallelFor(size_t n, F&& f) {
  if (n == 0) return;
  if (n == 1) {
    f(size_t{0});
    return;
  }
  using Fn = std::remove_reference_t<F>;
  parallelForRaw(
      n, [](void* c, size_t i) { (*static_cast<Fn*>(c))(i); }, const_cast<void*>(static_cast<const void*>(&f)));
}

// Splits [0, total) into chunks of at least `grain` items, at most a few per thread.
template <class F>
void parallelRange(size_t total, size_t grain, F&& f) {
  if (total == 0) return;
  size_t threads = threadCount();
  size_t chunks = total / (grain ? grain : 1);
  if (chunks > threads * 4) chunks = threads * 4;
  if (chunks <= 1 || threads <= 1) {
    f(size_t{0}, total);
    return;
  }
  size_t step = (total + chunks - 1) / chunks;
  parallelFor(chunks, [&](size_t c) {
    size_t begin = c * step;
    size_t end = begin + step < total ? begin + step : total;
    if (begin < end) f(begin, end);
  });
}

// ---------------------------------------------------------------- scratch memory

// A growable 64-byte aligned scratch buffer (packed GEMM panels, per-thread rows).
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();
  float* floats(size_t n);
 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// ---------------------------------------------------------------- arguments

// A typed array's memory, borrowed for the duration of a synchronous call (zero-copy).
template <class T>
struct View {
  T* data = nullptr;
  size_t length = 0;
};


View<float> F32(const Napi::CallbackInfo& info, size_t i, const char* what);
View<uint16_t> U16(const Napi::CallbackInfo& info, size_t i, const char* what);
View<int32_t> I32(const Napi::CallbackInfo& info, size_t i, const char* what);
View<uint8_t> U8(const Napi::CallbackInfo& info, size_t i, const char* what);
View<uint32_t> U32(const Napi::CallbackInfo& info, size_t i, const char* what);
// Any typed array as raw bytes, with its element size.
View<uint8_t> Bytes(const Napi::CallbackInfo& info, size_t i, const char* what, size_t* elementSize);
size_t Size(const Napi::CallbackInfo& info, size_t i, const char* what);
double Number(const Napi::CallbackInfo& info, size_t i, const char* what);
bool Bool(const Napi::CallbackInfo& info, size_t i, const char* what);
std::string String(const Napi::CallbackInfo& info, size_t i, const char* what);
// A JS array of non-negative integers (shapes, strides, offsets).
std::vector<size_t> Sizes(const Napi::CallbackInfo& info, size_t i, const char* what);
std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i, const char* what);
// Throws a JS Error (RangeError for sizes) naming the function and the argument.
[[noreturn]] void Fail(const Napi::Env& env, const std::string& message);
void Require(const Napi::Env& env, bool ok, const std::string& message);

// ---------------------------------------------------------------- checked sizes

// Sizes and offsets from JS are at most 2^53 each; their products and sums are not. Every
// size a kernel derives from its arguments goes through these, which throw (std::range_error,
// a JS Error naming `what`) where plain arithmetic would wrap: a wrapped product (2048 × 2^53
// is 0 mod 2^64) passes a length check and then reads far outside the array. They need no
// Napi::Env, so kernels use them for scratch sizes too (the thread pool rethrows on the caller).
size_t MulSize(size_t a, size_t b, const char* what);
size_t AddSize(size_t a, size_t b, const char* what);
// The product of `dims`: 0 when any is 0 (whatever the others), else checked.
size_t ProductOf(const std::vector<size_t>& dims, const char* what);
size_t ProductOf(std::initializer_list<size_t> dims, const char* what);
// Require that every element of the strided view (offset, shape, strides in elements) lies in
// [0, length): its lowest and highest offsets, computed without overflow. An empty view passes.
void RequireView(const Napi::Env& env, int64_t offset, const std::vector<size_t>& shape,
                 const std::vector<int64_t>& strides, size_t length, const std::string& what);

// ---------------------------------------------------------------- f16 and bf16

void f16ToF32(const uint16_t* src, float* dst, size_t n);
void f32ToF16(const float* src, uint16_t* dst, size_t n);
void bf16ToF32(const uint16_t* src, float* dst, size_t n);
void f32ToBf16(const float* src, uint16_t* dst, size_t n);

// ---------------------------------------------------------------- GEMM

// C[M, N] (+)= op(A)[M, K] · op(B)[K, N] with element (i, p) of op(A) at a[i*ars + p*acs]
// and (p, j) of op(B) at b[p*brs + j*bcs]; C is row-major with leading dimension ldc.
// Packs columns [j0, j0 + w) × depth [p0, p0 + kc) of op(B) into an nr-wide panel
// (panel[p·nr + c], columns w..nr zeroed): convolutions gather their im2col here directly.
using PackBFn = void (*)(const void* ctx, size_t p0, size_t kc, size_t j0, size_t w, size_t nr, float* panel);

struct GemmShape {
  size_t m, n, k;
  const float* a;
  size_t ars, acs;
  const float* b;
  size_t brs, bcs;
  float* c;
  size_t ldc;
  bool accumulate;
  // When set, op(B) is never read through b/brs/bcs: packB(packCtx, ...) fills each panel.
  PackBFn packB = nullptr;
  const void* packCtx = nullptr;
};
// parallel: may use the pool (false inside a task that already runs in parallel).
void sgemm(const GemmShape& g, bool parallel = true);
const char* gemmKernelName();

// ---------------------------------------------------------------- async work

// Runs `work` on a libuv worker thread and returns a promise: the event loop keeps running,
// and the first `keep` arguments (the typed arrays the work reads and writes) stay referenced,
// so alive and uncollected, until it settles. Resolves with argument `result` (the output);
// an exception in `work` rejects with "name: message".
template <typename Work>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(const Napi::CallbackInfo& info, const char* name, size_t keep, size_t result, Work work)
      : Napi::AsyncWorker(info.Env(), name),
        name_(name),
        result_(result),
        work_(std::move(work)),
        deferred_(Napi::Promise::Deferred::New(info.Env())) {
    for (size_t i = 0; i < keep && i < info.Length(); i++) {
      keep_.push_back(info[i].IsObject() ? Napi::Persistent(info[i].As<Napi::Object>()) : Napi::ObjectReference());
    }
  }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(name_ + ": " + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(keep_[result_].Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }
  Napi::Promise promise() const { return deferred_.Promise(); }

 private:
  std::string name_;
  size_t result_;
  Work work_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> keep_;
};

// Queue `work` (validated arguments already captured) and return its promise; see PromiseWorker.
template <typename Work>
Napi::Value queueOnWorker(const Napi::CallbackInfo& info, const char* name, size_t keep, size_t result, Work work) {
  auto* worker = new PromiseWorker<Work>(info, name, keep, result, std::move(work));
  Napi::Promise promise = worker->promise();
  worker->Queue();  // libuv owns the worker now and deletes it after OnOK/OnError
  return promise;
}

// ---------------------------------------------------------------- families

void InitCore(Napi::Env env, Napi::Object exports);
// Each kernels/<family>/native.cc defines Init<Family>; families.inc (generated by
// scripts/families.mjs) names them all.
#define EAI_FAMILY(Name) void Init##Name(Napi::Env env, Napi::Object exports);
#include "families.inc"
#undef EAI_FAMILY
#ifdef EAI_APPLE
void InitApple(Napi::Env env, Napi::Object exports);
#endif

}  // namespace eai
