// CPU feature detection and the run-time choice of instruction set.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "eai.h"
#if EAI_X86
#include <cpuid.h>
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

}  // namespace eai
