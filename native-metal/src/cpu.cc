// CPU feature detection and the run-time choice of instruction set.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "eai.h"
#if EAI_X86
#include <cpuid.h>
#include <immintrin.h>
#endif
#if EAI_NEON
#include <arm_neon.h>
#endif

namespace eai {

static CpuFeatures detect() {
  CpuFeatures f;
#if EAI_X86
  __builtin_cpu_init();
  // libgcc/compiler-rt check the OS saves the AVX (and AVX-512) register state too.
  f.sse42 = __builtin_cpu_supports("sse4.2");
  f.avx = __builtin_cpu_supports("avx");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  // Not every compiler's __builtin_cpu_supports knows F16C: CPUID leaf 1, ECX bit 29. It is
  // VEX-encoded, so it also needs the OS support for AVX state that the avx check includes.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  f.f16c = f.avx && __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
#endif
#if EAI_NEON
  f.neon = true;  // Advanced SIMD is mandatory on AArch64
#endif
  return f;
}

const CpuFeatures& cpu() {
  static const CpuFeatures features = detect();
  return features;
}

static Isa best() {
  const CpuFeatures& f = cpu();
  if (f.neon) return Isa::Neon;
  if (f.avx512f && f.avx2 && f.fma && f.f16c) return Isa::Avx512;
  if (f.avx2 && f.fma && f.f16c) return Isa::Avx2Fma;
  return Isa::Baseline;
}

static std::atomic<int> current{-1};

static Isa initial() {
  Isa isa = best();
  const char* env = std::getenv("EAI_NATIVE_ISA");
  if (env && *env) {
    if (!std::strcmp(env, "baseline")) isa = Isa::Baseline;
    else if (!std::strcmp(env, "avx2") && (isa == Isa::Avx512 || isa == Isa::Avx2Fma)) isa = Isa::Avx2Fma;
  }
  return isa;
}

Isa activeIsa() {
  int v = current.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(initial());
    current.store(v, std::memory_order_relaxed);
  }
  return static_cast<Isa>(v);
}

// Lowers (or restores) the instruction set; never raises it above what the CPU has.
bool setIsa(const std::string& name) {
  Isa top = best();
  Isa want;
  if (name == "baseline") want = Isa::Baseline;
  else if (name == "auto") want = top;
  else if (name == "avx2" && (top == Isa::Avx2Fma || top == Isa::Avx512)) want = Isa::Avx2Fma;
  else if (name == "avx512" && top == Isa::Avx512) want = Isa::Avx512;
  else if (name == "neon" && top == Isa::Neon) want = Isa::Neon;
  else return false;
  current.store(static_cast<int>(want), std::memory_order_relaxed);
  return true;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx2Fma: return "avx2+fma";
    case Isa::Avx512: return "avx512f";
    case Isa::Neon: return "neon";
    default:
#if EAI_X86
      return "x86-64-v2 (sse4.2)";
#else
      return "baseline";
#endif
  }
}

// ---------------------------------------------------------------- FMA peak
// Independent multiply-add chains held in registers, no memory traffic: enough chains to
// cover the FMA latency on every pipe (and few enough not to spill), so the loop runs at the
// core's arithmetic peak. Benchmarks state a GEMM's share of this number; no kernel uses it.

namespace {

constexpr int kChains = 12;        // 16 ymm / xmm registers: 12 chains, the constants, spare
constexpr int kChainsZmm = 24;     // 32 zmm registers
constexpr long kBlock = 1 << 16;  // iterations between clock reads

#if EAI_X86
EAI_TARGET_AVX512 float chainsAvx512(long iters) {
  __m512 acc[kChainsZmm];
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < kChainsZmm; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (long k = 0; k < iters; k++) {
#pragma GCC unroll 24
    for (int i = 0; i < kChainsZmm; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  alignas(64) float out[16];
  float sum = 0;
  for (int i = 0; i < kChainsZmm; i++) {
    _mm512_store_ps(out, acc[i]);
    for (float v : out) sum += v;
  }
  return sum;
}

EAI_TARGET_AVX2 float chainsAvx2(long iters) {
  __m256 acc[kChains];
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < kChains; i++) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (long k = 0; k < iters; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  }
  float out[8], sum = 0;
  for (int i = 0; i < kChains; i++) {
    _mm256_storeu_ps(out, acc[i]);
    for (float v : out) sum += v;
  }
  return sum;
}
#endif

// Baseline and NEON: four lanes per chain (SSE has no FMA: a multiply and an add, 2 flops).
float chains4(long iters) {
#if EAI_NEON
  float32x4_t acc[kChains];
  const float32x4_t m = vdupq_n_f32(0.999999f), a = vdupq_n_f32(1e-7f);
  for (int i = 0; i < kChains; i++) acc[i] = vdupq_n_f32(static_cast<float>(i));
  for (long k = 0; k < iters; k++) {
    for (int i = 0; i < kChains; i++) acc[i] = vfmaq_f32(a, acc[i], m);
  }
  float sum = 0;
  for (int i = 0; i < kChains; i++) sum += vaddvq_f32(acc[i]);
  return sum;
#else
  float acc[kChains][4];
  for (int i = 0; i < kChains; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = static_cast<float>(i + j);
  for (long k = 0; k < iters; k++)
    for (int i = 0; i < kChains; i++)
      for (int j = 0; j < 4; j++) acc[i][j] = acc[i][j] * 0.999999f + 1e-7f;
  float sum = 0;
  for (int i = 0; i < kChains; i++)
    for (int j = 0; j < 4; j++) sum += acc[i][j];
  return sum;
#endif
}

}  // namespace

FmaPeak fmaPeak(double seconds) {
  int lanes = 4, chains = kChains;
  float (*run)(long) = chains4;
#if EAI_X86
  if (useAvx512()) {
    lanes = 16;
    chains = kChainsZmm;
    run = chainsAvx512;
  } else if (useAvx2()) {
    lanes = 8;
    run = chainsAvx2;
  }
#endif
  volatile float sink = run(kBlock);  // warm-up: wakes the vector unit to full speed
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  long blocks = 0;
  double elapsed = 0;
  do {
    sink = sink + run(kBlock);
    blocks++;
    elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  } while (elapsed < seconds);
  const double flops = 2.0 * lanes * chains * static_cast<double>(kBlock) * blocks;
  return {flops / elapsed / 1e9, lanes};
}

}  // namespace eai
