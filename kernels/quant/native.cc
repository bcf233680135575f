// Native MLX affine quantization (kernels/quant/ref.ts is the definition):
// - quantize: MLX's CPU algorithm in plain f32 scalar code (no FMA contraction: the baseline
//   build has no FMA and -std=c++17 turns contraction off), rint ties to even;
// - quantizedMatmul with the transpose and few rows of x (decode): a matrix-vector product that
//   streams the packed words once, decodes 8 codes at a time (AVX2: a broadcast, a variable shift
//   and a mask) and folds each group's bias in through Σx over the group, so the weight is read
//   at its packed size; with more rows (prefill) or without the transpose: the packed SGEMM of
//   kernels/matmul/native.cc, whose B panels are dequantized straight from the packed words;
// - dequantize and quantizedEmbedding: rows decoded in place.
// Codes of row r start at bit 0 of its first word; 8 consecutive codes from an index divisible
// by 8 occupy exactly `bits` bytes (LSB first), which is how every decoder here reads them.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "eai.h"
#if EAI_X86
#include <immintrin.h>
#endif

namespace eai {

namespace {

// A packed weight as rows × cols codes with per-group scales and biases (f32).
struct Packed {
  const uint32_t* words;
  const float* scales;
  const float* biases;
  size_t rows, cols;
  int bits;
  size_t groupSize;
  size_t wordsPerRow() const { return cols * static_cast<size_t>(bits) / 32; }
  size_t groupsPerRow() const { return cols / groupSize; }
  const uint8_t* rowBytes(size_t r) const { return reinterpret_cast<const uint8_t*>(words + r * wordsPerRow()); }
};

// Code j of a row (any j): the bits may straddle two words.
EAI_INLINE uint32_t codeAt(const uint32_t* row, size_t j, int bits) {
  const size_t bit = j * static_cast<size_t>(bits);
  const unsigned shift = bit & 31;
  uint64_t v = row[bit >> 5] >> shift;
  if (shift + bits > 32) v |= static_cast<uint64_t>(row[(bit >> 5) + 1]) << (32 - shift);
  return static_cast<uint32_t>(v) & ((1u << bits) - 1);
}

// The BITS bytes of a block of 8 codes starting at p, little-endian. Built from whole loads
// into registers: a partial memcpy into a stack word would stall on store forwarding.
template <int BITS>
EAI_INLINE uint64_t loadBlock(const uint8_t* p) {
  uint32_t a = 0;
  uint16_t b = 0;
  if constexpr (BITS == 2) {
    std::memcpy(&b, p, 2);
    return b;
  } else if constexpr (BITS == 3) {
    std::memcpy(&b, p, 2);
    return b | static_cast<uint64_t>(p[2]) << 16;
  } else if constexpr (BITS == 4) {
    std::memcpy(&a, p, 4);
    return a;
  } else if constexpr (BITS == 5) {
    std::memcpy(&a, p, 4);
    return a | static_cast<uint64_t>(p[4]) << 32;
  } else if constexpr (BITS == 6) {
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + 4, 2);
    return a | static_cast<uint64_t>(b) << 32;
  } else {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
}

// The 8 codes of a block starting at `p` (exactly BITS bytes, little-endian bitstream).
template <int BITS>
EAI_INLINE void decode8(const uint8_t* p, float* out) {
  const uint64_t v = loadBlock<BITS>(p);
  for (int i = 0; i < 8; i++) out[i] = static_cast<float>((v >> (i * BITS)) & ((1u << BITS) - 1));
}

// Elements [j0, j0 + len) of row r, dequantized (ŵ = q·scale + bias) into out.
template <int BITS>
void dequantRangeT(const Packed& P, size_t r, size_t j0, size_t len, float* out) {
  const uint32_t* row = P.words + r * P.wordsPerRow();
  const uint8_t* bytes = P.rowBytes(r);
  const float* s = P.scales + r * P.groupsPerRow();
  const float* b = P.biases + r * P.groupsPerRow();
  const size_t end = j0 + len;
  size_t j = j0;
  for (; j < end && (j & 7); j++) out[j - j0] = static_cast<float>(codeAt(row, j, BITS)) * s[j / P.groupSize] + b[j / P.groupSize];
  float q[8];
  for (; j + 8 <= end; j += 8) {
    decode8<BITS>(bytes + j / 8 * BITS, q);
    const float sc = s[j / P.groupSize], bi = b[j / P.groupSize];
    for (int i = 0; i < 8; i++) out[j - j0 + i] = q[i] * sc + bi;
  }
  for (; j < end; j++) out[j - j0] = static_cast<float>(codeAt(row, j, BITS)) * s[j / P.groupSize] + b[j / P.groupSize];
}

template <class F>
void withBits(int bits, F&& f) {
  switch (bits) {
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    default: return f(std::integral_constant<int, 8>{});
  }
}

void dequantRange(const Packed& P, size_t r, size_t j0, size_t len, float* out) {
  withBits(P.bits, [&](auto B) { dequantRangeT<decltype(B)::value>(P, r, j0, len, out); });
}

// ---------------------------------------------------------------- quantize

EAI_INLINE float rintF(float v) { return std::rint(v); }

// One group, exactly as MLX's CPU quantize (mlx/backend/cpu/quantized.cpp); codes OR-ed into
// words starting at bit 0 of `out` (zeroed by the caller). Returns false on a non-finite value.
bool quantizeGroup(const float* w, size_t g, int bits, uint32_t* out, float* scaleOut, float* biasOut, size_t* bad) {
  float wMin = std::numeric_limits<float>::infinity();
  float wMax = -wMin;
  for (size_t j = 0; j < g; j++) {
    if (!std::isfinite(w[j])) {
      *bad = j;
      return false;
    }
    wMax = std::max(wMax, w[j]);
    wMin = std::min(wMin, w[j]);
  }
  const float nBins = static_cast<float>((1 << bits) - 1);
  const float eps = 1e-7f;
  const bool side = std::fabs(wMin) > std::fabs(wMax);
  float scale = std::max((wMax - wMin) / nBins, eps);
  scale = side ? scale : -scale;
  const float edge = side ? wMin : wMax;
  const float q0 = rintF(edge / scale);
  float bias = 0;
  if (q0 != 0) {
    scale = edge / q0;
    bias = edge;
  }
  for (size_t j = 0; j < g; j++) {
    const float q = std::min(std::max(rintF((w[j] - bias) / scale), 0.0f), nBins);
    const uint32_t code = static_cast<uint32_t>(q);
    const size_t bit = j * static_cast<size_t>(bits);
    const unsigned shift = bit & 31;
    out[bit >> 5] |= code << shift;
    if (shift + bits > 32) out[(bit >> 5) + 1] |= code >> (32 - shift);
  }
  *scaleOut = scale;
  *biasOut = bias;
  return true;
}

// ---------------------------------------------------------------- matrix-vector (decode)

constexpr size_t kMaxGemvRows = 4;

// Σ of x over each group, per row of x: the bias term of a group is bias·Σx.
void groupSums(const float* x, size_t m, size_t k, size_t groupSize, float* sums) {
  const size_t groups = k / groupSize;
  for (size_t i = 0; i < m; i++)
    for (size_t gi = 0; gi < groups; gi++) {
      double acc = 0;
      for (size_t j = 0; j < groupSize; j++) acc += x[i * k + gi * groupSize + j];
      sums[i * groups + gi] = static_cast<float>(acc);
    }
}

// y[i, r] for weight rows [r0, r1): Σ_groups scale·(q·x) + bias·Σx, M rows of x at once.
template <int BITS, int M>
void gemvRowsScalar(const Packed& P, const float* x, const float* sums, float* y, size_t n, size_t r0, size_t r1) {
  const size_t k = P.cols, groups = P.groupsPerRow(), g = P.groupSize;
  float q[8];
  for (size_t r = r0; r < r1; r++) {
    const uint8_t* bytes = P.rowBytes(r);
    const float* s = P.scales + r * groups;
    const float* b = P.biases + r * groups;
    float total[M] = {};
    for (size_t gi = 0; gi < groups; gi++) {
      float dot[M] = {};
      for (size_t j = gi * g; j < (gi + 1) * g; j += 8) {
        decode8<BITS>(bytes + j / 8 * BITS, q);
        for (int i = 0; i < M; i++)
          for (int t = 0; t < 8; t++) dot[i] += q[t] * x[i * k + j + t];
      }
      for (int i = 0; i < M; i++) total[i] += s[gi] * dot[i] + b[gi] * sums[i * groups + gi];
    }
    for (int i = 0; i < M; i++) y[i * n + r] = total[i];
  }
}

// Codes decoded per step of the AVX2 loop, and where code i of a step lands among the step's
// lanes: the 4- and 2-bit decoders split bytes into nibbles / bit pairs without variable shifts,
// which leaves codes interleaved, so x is permuted the same way once per call instead.
template <int BITS>
constexpr size_t kStep = (BITS == 4 || BITS == 2) ? 32 : 16;

template <int BITS>
size_t laneOf(size_t i) {
  if constexpr (BITS == 4) return (i & 16) + (i & 1) * 8 + (i & 15) / 2;  // evens, then odds, per 16
  if constexpr (BITS == 2) return (i & 3) * 8 + i / 4;                    // bit pair k of 8 bytes
  return i;
}

// x rows permuted into the decoders' lane order (see laneOf).
template <int BITS>
void permuteX(const float* x, size_t m, size_t k, float* xp) {
  constexpr size_t S = kStep<BITS>;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < k; j++) xp[i * k + j / S * S + laneOf<BITS>(j % S)] = x[i * k + j];
}

#if EAI_X86
// The 8 codes of a block of BITS bytes as floats: the block's low and high halves broadcast to
// four lanes each, shifted per lane and masked (8 codes span at most 48 bits).
template <int BITS>
EAI_TARGET_AVX2 EAI_INLINE __m256 codes8Avx2(const uint8_t* p) {
  const uint64_t v = loadBlock<BITS>(p);
  const __m128i lo = _mm_set1_epi32(static_cast<int>(static_cast<uint32_t>(v)));
  const __m128i hi = _mm_set1_epi32(static_cast<int>(static_cast<uint32_t>(v >> (4 * BITS))));
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
  const __m256i shifts = _mm256_setr_epi32(0, BITS, 2 * BITS, 3 * BITS, 0, BITS, 2 * BITS, 3 * BITS);
  const __m256i mask = _mm256_set1_epi32((1 << BITS) - 1);
  return _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srlv_epi32(both, shifts), mask));
}

EAI_TARGET_AVX2 EAI_INLINE __m256 bytesToFloats(__m128i bytes) {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
}

// One step (kStep codes, kStep/8 vectors in laneOf order) of the packed row at p.
template <int BITS>
EAI_TARGET_AVX2 EAI_INLINE void decodeStepAvx2(const uint8_t* p, __m256* q) {
  if constexpr (BITS == 8) {
    q[0] = bytesToFloats(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    q[1] = bytesToFloats(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8)));
  } else if constexpr (BITS == 4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i nib = _mm_set1_epi8(0x0f);
    const __m128i lo = _mm_and_si128(v, nib);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), nib);
    q[0] = bytesToFloats(lo);
    q[1] = bytesToFloats(hi);
    q[2] = bytesToFloats(_mm_srli_si128(lo, 8));
    q[3] = bytesToFloats(_mm_srli_si128(hi, 8));
  } else if constexpr (BITS == 2) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i pair = _mm_set1_epi8(0x03);
    q[0] = bytesToFloats(_mm_and_si128(v, pair));
    q[1] = bytesToFloats(_mm_and_si128(_mm_srli_epi16(v, 2), pair));
    q[2] = bytesToFloats(_mm_and_si128(_mm_srli_epi16(v, 4), pair));
    q[3] = bytesToFloats(_mm_and_si128(_mm_srli_epi16(v, 6), pair));
  } else {
    q[0] = codes8Avx2<BITS>(p);
    q[1] = codes8Avx2<BITS>(p + BITS);
  }
}

EAI_TARGET_AVX2 EAI_INLINE float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// xp: x in laneOf order (permuteX).
template <int BITS, int M>
EAI_TARGET_AVX2 void gemvRowsAvx2(const Packed& P, const float* xp, const float* sums, float* y, size_t n, size_t r0,
                                  size_t r1) {
  constexpr size_t S = kStep<BITS>;
  constexpr int V = static_cast<int>(S / 8);
  const size_t k = P.cols, groups = P.groupsPerRow(), g = P.groupSize;
  for (size_t r = r0; r < r1; r++) {
    const uint8_t* bytes = P.rowBytes(r);
    const float* s = P.scales + r * groups;
    const float* b = P.biases + r * groups;
    __m256 total[M];
    float biasTerm[M];
    for (int i = 0; i < M; i++) {
      total[i] = _mm256_setzero_ps();
      biasTerm[i] = 0;
    }
    for (size_t gi = 0; gi < groups; gi++) {
      // Two accumulators per row of x: independent FMA chains (a single chain would be
      // bound by FMA latency, not throughput).
      __m256 dotA[M], dotB[M];
      for (int i = 0; i < M; i++) dotA[i] = dotB[i] = _mm256_setzero_ps();
      for (size_t j = gi * g; j < (gi + 1) * g; j += S) {
        __m256 q[V];
        decodeStepAvx2<BITS>(bytes + j / 8 * BITS, q);
        for (int i = 0; i < M; i++) {
          const float* xs = xp + i * k + j;
          for (int v = 0; v < V; v += 2) {
            dotA[i] = _mm256_fmadd_ps(q[v], _mm256_loadu_ps(xs + 8 * v), dotA[i]);
            dotB[i] = _mm256_fmadd_ps(q[v + 1], _mm256_loadu_ps(xs + 8 * v + 8), dotB[i]);
          }
        }
      }
      const __m256 sc = _mm256_set1_ps(s[gi]);
      for (int i = 0; i < M; i++) {
        total[i] = _mm256_fmadd_ps(sc, _mm256_add_ps(dotA[i], dotB[i]), total[i]);
        biasTerm[i] += b[gi] * sums[i * groups + gi];
      }
    }
    for (int i = 0; i < M; i++) y[i * n + r] = hsum(total[i]) + biasTerm[i];
  }
}
#endif

// y [m, n] = x [m, k] · Wᵀ with W [n, k] packed, m ≤ kMaxGemvRows.
void gemv(const Packed& P, const float* x, size_t m, float* y) {
  const size_t n = P.rows, k = P.cols;
  thread_local Scratch sumBuf, permBuf;
  float* sums = sumBuf.floats(m * P.groupsPerRow());
  groupSums(x, m, k, P.groupSize, sums);
  // ~k·bits/8 bytes per row: a grain of ~64 KiB of packed words per task.
  const size_t grain = std::max<size_t>(1, (size_t(1) << 16) / std::max<size_t>(1, k * P.bits / 8));
  withBits(P.bits, [&](auto B) {
    constexpr int BITS = decltype(B)::value;
#if EAI_X86
    if (useAvx2()) {
      float* xp = permBuf.floats(m * k);
      permuteX<BITS>(x, m, k, xp);
      parallelRange(n, grain, [&](size_t r0, size_t r1) {
        switch (m) {
          case 1: return gemvRowsAvx2<BITS, 1>(P, xp, sums, y, n, r0, r1);
          case 2: return gemvRowsAvx2<BITS, 2>(P, xp, sums, y, n, r0, r1);
          case 3: return gemvRowsAvx2<BITS, 3>(P, xp, sums, y, n, r0, r1);
          default: return gemvRowsAvx2<BITS, 4>(P, xp, sums, y, n, r0, r1);
        }
      });
      return;
    }
#endif
    parallelRange(n, grain, [&](size_t r0, size_t r1) {
      switch (m) {
        case 1: return gemvRowsScalar<BITS, 1>(P, x, sums, y, n, r0, r1);
        case 2: return gemvRowsScalar<BITS, 2>(P, x, sums, y, n, r0, r1);
        case 3: return gemvRowsScalar<BITS, 3>(P, x, sums, y, n, r0, r1);
        default: return gemvRowsScalar<BITS, 4>(P, x, sums, y, n, r0, r1);
      }
    });
  });
}

// ---------------------------------------------------------------- matrix-matrix (prefill)

struct PackCtx {
  const Packed* P;
  bool transpose;
};

// Panel of op(B) over depth [p0, p0 + kc) × columns [j0, j0 + w), zero-padded to nr columns.
// transpose: op(B)[p, j] = W[j, p] (rows of W are columns of the panel); else op(B) = W.
void packQuantPanel(const void* ctx, size_t p0, size_t kc, size_t j0, size_t w, size_t nr, float* panel) {
  const PackCtx& c = *static_cast<const PackCtx*>(ctx);
  if (c.transpose) {
    thread_local Scratch rowBuf;
    float* row = rowBuf.floats(kc);
    for (size_t col = 0; col < w; col++) {
      dequantRange(*c.P, j0 + col, p0, kc, row);
      for (size_t p = 0; p < kc; p++) panel[p * nr + col] = row[p];
    }
    for (size_t col = w; col < nr; col++)
      for (size_t p = 0; p < kc; p++) panel[p * nr + col] = 0.0f;
  } else {
    for (size_t p = 0; p < kc; p++) {
      float* dst = panel + p * nr;
      dequantRange(*c.P, p0 + p, j0, w, dst);
      for (size_t col = w; col < nr; col++) dst[col] = 0.0f;
    }
  }
}

void qgemm(const Packed& P, const float* x, size_t m, size_t k, size_t n, bool transpose, float* y) {
  if (transpose && m <= kMaxGemvRows) return gemv(P, x, m, y);
  PackCtx ctx{&P, transpose};
  GemmShape g{};
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = x;
  g.ars = k;
  g.acs = 1;
  g.b = nullptr;
  g.c = y;
  g.ldc = n;
  g.accumulate = false;
  g.packB = packQuantPanel;
  g.packCtx = &ctx;
  sgemm(g);
}

// ---------------------------------------------------------------- bindings

int Bits(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const size_t bits = Size(info, i, fn);
  Require(info.Env(), bits == 2 || bits == 3 || bits == 4 || bits == 5 || bits == 6 || bits == 8,
          std::string(fn) + ": bits must be 2, 3, 4, 5, 6 or 8");
  return static_cast<int>(bits);
}

size_t GroupSize(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const size_t g = Size(info, i, fn);
  Require(info.Env(), g == 32 || g == 64 || g == 128, std::string(fn) + ": groupSize must be 32, 64 or 128");
  return g;
}

// words, scales, biases (arguments a, a+1, a+2) checked against rows × cols.
Packed PackedArgs(const Napi::CallbackInfo& info, size_t a, size_t cols, int bits, size_t groupSize, const char* fn) {
  Napi::Env env = info.Env();
  View<uint32_t> words = U32(info, a, fn);
  View<float> scales = F32(info, a + 1, fn);
  View<float> biases = F32(info, a + 2, fn);
  Require(env, cols > 0 && cols % groupSize == 0, std::string(fn) + ": the row length must be a multiple of groupSize");
  const size_t wordsPerRow = cols * bits / 32;
  Require(env, words.length % wordsPerRow == 0, std::string(fn) + ": words do not hold whole rows");
  const size_t rows = words.length / wordsPerRow;
  Require(env, scales.length == rows * (cols / groupSize) && biases.length == scales.length,
          std::string(fn) + ": scales and biases must hold one value per group");
  return Packed{words.data, scales.data, biases.data, rows, cols, bits, groupSize};
}

// affineQuantize(w, words, scales, biases, groupSize, bits) → index of a non-finite weight, or -1.
Napi::Value AffineQuantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "affineQuantize";
  View<float> w = F32(info, 0, fn);
  View<uint32_t> words = U32(info, 1, fn);
  View<float> scales = F32(info, 2, fn);
  View<float> biases = F32(info, 3, fn);
  const size_t g = GroupSize(info, 4, fn);
  const int bits = Bits(info, 5, fn);
  const size_t groups = w.length / g;
  Require(env, w.length % g == 0, "affineQuantize: w must hold whole groups");
  Require(env, words.length == w.length * bits / 32, "affineQuantize: words must hold w.length·bits/32 words");
  Require(env, scales.length == groups && biases.length == groups, "affineQuantize: one scale and bias per group");
  std::fill(words.data, words.data + words.length, 0u);
  const size_t wordsPerGroup = g * bits / 32;
  std::atomic<size_t> firstBad{std::numeric_limits<size_t>::max()};
  parallelRange(groups, 256, [&](size_t g0, size_t g1) {
    for (size_t gi = g0; gi < g1; gi++) {
      size_t bad = 0;
      if (!quantizeGroup(w.data + gi * g, g, bits, words.data + gi * wordsPerGroup, scales.data + gi, biases.data + gi,
                         &bad)) {
        size_t at = gi * g + bad, seen = firstBad.load();
        while (at < seen && !firstBad.compare_exchange_weak(seen, at)) {
        }
        return;
      }
    }
  });
  const size_t bad = firstBad.load();
  return Napi::Number::New(env, bad == std::numeric_limits<size_t>::max() ? -1.0 : static_cast<double>(bad));
}

// affineDequantize(words, scales, biases, y, cols, groupSize, bits)
Napi::Value AffineDequantize(const Napi::CallbackInfo& info) {
  const char* fn = "affineDequantize";
  View<float> y = F32(info, 3, fn);
  const size_t cols = Size(info, 4, fn);
  const size_t g = GroupSize(info, 5, fn);
  const int bits = Bits(info, 6, fn);
  const Packed P = PackedArgs(info, 0, cols, bits, g, fn);
  Require(info.Env(), y.length == P.rows * cols, "affineDequantize: y must hold rows·cols elements");
  parallelRange(P.rows, std::max<size_t>(1, 16384 / cols), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) dequantRange(P, r, 0, cols, y.data + r * cols);
  });
  return info.Env().Undefined();
}

// quantizedMatmul(x, words, scales, biases, y, m, n, k, groupSize, bits, transpose): y [m, n] =
// x [m, k] · Wᵀ (W [n, k]) with the transpose, else x · W (W [k, n]).
Napi::Value QuantizedMatmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "quantizedMatmul";
  View<float> x = F32(info, 0, fn);
  View<float> y = F32(info, 4, fn);
  const size_t m = Size(info, 5, fn), n = Size(info, 6, fn), k = Size(info, 7, fn);
  const size_t g = GroupSize(info, 8, fn);
  const int bits = Bits(info, 9, fn);
  const bool transpose = Bool(info, 10, fn);
  const Packed P = PackedArgs(info, 1, transpose ? k : n, bits, g, fn);
  Require(env, P.rows == (transpose ? n : k), "quantizedMatmul: the packed weight must be [n, k] (transpose) or [k, n]");
  Require(env, x.length == m * k && y.length == m * n, "quantizedMatmul: x must be [m, k] and y [m, n]");
  qgemm(P, x.data, m, k, n, transpose, y.data);
  return env.Undefined();
}

// quantizedEmbedding(words, scales, biases, ids, y, dims, groupSize, bits) → index of an id out
// of range (nothing written past it is meaningful), or -1. Negative ids count from the end.
Napi::Value QuantizedEmbedding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "quantizedEmbedding";
  View<int32_t> ids = I32(info, 3, fn);
  View<float> y = F32(info, 4, fn);
  const size_t dims = Size(info, 5, fn);
  const size_t g = GroupSize(info, 6, fn);
  const int bits = Bits(info, 7, fn);
  const Packed P = PackedArgs(info, 0, dims, bits, g, fn);
  Require(env, y.length == ids.length * dims, "quantizedEmbedding: y must hold ids·dims elements");
  const int64_t vocab = static_cast<int64_t>(P.rows);
  for (size_t t = 0; t < ids.length; t++) {
    if (ids.data[t] < -vocab || ids.data[t] >= vocab) return Napi::Number::New(env, static_cast<double>(t));
  }
  parallelRange(ids.length, std::max<size_t>(1, 16384 / dims), [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) {
      const int64_t id = ids.data[t] < 0 ? ids.data[t] + vocab : ids.data[t];
      dequantRange(P, static_cast<size_t>(id), 0, dims, y.data + t * dims);
    }
  });
  return Napi::Number::New(env, -1.0);
}

}  // namespace

void InitQuant(Napi::Env env, Napi::Object exports) {
  exports.Set("affineQuantize", Napi::Function::New(env, AffineQuantize, "affineQuantize"));
  exports.Set("affineDequantize", Napi::Function::New(env, AffineDequantize, "affineDequantize"));
  exports.Set("quantizedMatmul", Napi::Function::New(env, QuantizedMatmul, "quantizedMatmul"));
  exports.Set("quantizedEmbedding", Napi::Function::New(env, QuantizedEmbedding, "quantizedEmbedding"));
}

}  // namespace eai
