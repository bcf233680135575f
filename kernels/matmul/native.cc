// Native matmul: a packed, cache-blocked SGEMM (BLIS loop order) with register-blocked
// micro-kernels chosen at run time: AVX-512 14x32 or AVX2/FMA 6x16 on x86 (the addon's
// baseline build is x86-64-v2, so these live in target-attributed functions), NEON 8x8 on
// arm64, and a portable 4x8 kernel the compiler vectorises for the baseline.
//
// Loops: for each NC-wide column block and KC-deep slice, B is packed once into NR-wide
// panels shared by all threads; the M×N tile grid is split into tasks, each of which packs
// its own MC×KC block of A into MR-tall panels and runs the micro-kernel over it. The
// micro-kernel keeps an MR×NR tile of C in registers across the whole KC slice.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "eai.h"
#if EAI_X86
#include <immintrin.h>
#endif
#if EAI_NEON
#include <arm_neon.h>
#endif

namespace eai {

namespace {

using MicroKernel = void (*)(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool accumulate);

struct Kernel {
  size_t mr, nr, kc, mc;
  MicroKernel run;
  const char* name;
};

constexpr size_t NC = 4096;
// Floats of packed B computed per fork-join (4 MiB: a shared L3 holds it with room to spare).
constexpr size_t kPackedBFloats = size_t(1) << 20;

// ---------------------------------------------------------------- micro-kernels

template <int MR, int NR>
void microGeneric(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool accumulate) {
  float t[MR][NR] = {};
  for (size_t p = 0; p < kc; p++) {
    for (int r = 0; r < MR; r++) {
      const float ar = a[r];
      for (int j = 0; j < NR; j++) t[r][j] += ar * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int r = 0; r < MR; r++) {
    float* row = c + r * ldc;
    if (accumulate) {
      for (int j = 0; j < NR; j++) row[j] += t[r][j];
    } else {
      for (int j = 0; j < NR; j++) row[j] = t[r][j];
    }
  }
}

#if EAI_X86
EAI_TARGET_AVX2 void microAvx2(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#define EAI_STEP(ROW, C0, C1)                          \
  {                                                   \
    const __m256 ar = _mm256_broadcast_ss(a + (ROW)); \
    C0 = _mm256_fmadd_ps(ar, b0, C0);                 \
    C1 = _mm256_fmadd_ps(ar, b1, C1);                 \
  }
#pragma GCC unroll 4
  for (size_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
    EAI_STEP(0, c00, c01)
    EAI_STEP(1, c10, c11)
    EAI_STEP(2, c20, c21)
    EAI_STEP(3, c30, c31)
    EAI_STEP(4, c40, c41)
    EAI_STEP(5, c50, c51)
    a += 6;
    b += 16;
  }
#undef EAI_STEP
#define EAI_STORE(ROW, C0, C1)                                                 \
  {                                                                           \
    float* row = c + (ROW) * ldc;                                             \
    if (accumulate) {                                                         \
      C0 = _mm256_add_ps(C0, _mm256_loadu_ps(row));                           \
      C1 = _mm256_add_ps(C1, _mm256_loadu_ps(row + 8));                       \
    }                                                                         \
    _mm256_storeu_ps(row, C0);                                                \
    _mm256_storeu_ps(row + 8, C1);                                            \
  }
  EAI_STORE(0, c00, c01)
  EAI_STORE(1, c10, c11)
  EAI_STORE(2, c20, c21)
  EAI_STORE(3, c30, c31)
  EAI_STORE(4, c40, c41)
  EAI_STORE(5, c50, c51)
#undef EAI_STORE
}

// MR rows × 16·NV columns. 14×32 is the square-ish default (28 of the 32 zmm registers hold
// C, two hold B, one broadcasts A); 8×48 fits M a multiple of 8 (conv channel counts) without
// the 14-row kernel's padding, 4×64 and 3×64 keep tiny M (an RGB output conv) FMA-bound.
template <int MR, int NV>
EAI_TARGET_AVX512 void microAvx512(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool accumulate) {
  __m512 acc[MR][NV];
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (size_t p = 0; p < kc; p++) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 14
    for (int r = 0; r < MR; r++) {
      const __m512 ar = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
    }
    a += MR;
    b += 16 * NV;
  }
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++) {
    float* row = c + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      if (accumulate) acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_loadu_ps(row + 16 * v));
      _mm512_storeu_ps(row + 16 * v, acc[r][v]);
    }
  }
}
#endif

#if EAI_NEON
// 8 rows × 8 columns: 16 q-registers hold C; A and B come in as two q-registers each.
void microNeon(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool accumulate) {
  float32x4_t acc[8][2];
  for (int r = 0; r < 8; r++) acc[r][0] = acc[r][1] = vdupq_n_f32(0.0f);
  for (size_t p = 0; p < kc; p++) {
    const float32x4_t b0 = vld1q_f32(b);
    const float32x4_t b1 = vld1q_f32(b + 4);
    const float32x4_t a0 = vld1q_f32(a);
    const float32x4_t a1 = vld1q_f32(a + 4);
    acc[0][0] = vfmaq_laneq_f32(acc[0][0], b0, a0, 0);
    acc[0][1] = vfmaq_laneq_f32(acc[0][1], b1, a0, 0);
    acc[1][0] = vfmaq_laneq_f32(acc[1][0], b0, a0, 1);
    acc[1][1] = vfmaq_laneq_f32(acc[1][1], b1, a0, 1);
    acc[2][0] = vfmaq_laneq_f32(acc[2][0], b0, a0, 2);
    acc[2][1] = vfmaq_laneq_f32(acc[2][1], b1, a0, 2);
    acc[3][0] = vfmaq_laneq_f32(acc[3][0], b0, a0, 3);
    acc[3][1] = vfmaq_laneq_f32(acc[3][1], b1, a0, 3);
    acc[4][0] = vfmaq_laneq_f32(acc[4][0], b0, a1, 0);
    acc[4][1] = vfmaq_laneq_f32(acc[4][1], b1, a1, 0);
    acc[5][0] = vfmaq_laneq_f32(acc[5][0], b0, a1, 1);
    acc[5][1] = vfmaq_laneq_f32(acc[5][1], b1, a1, 1);
    acc[6][0] = vfmaq_laneq_f32(acc[6][0], b0, a1, 2);
    acc[6][1] = vfmaq_laneq_f32(acc[6][1], b1, a1, 2);
    acc[7][0] = vfmaq_laneq_f32(acc[7][0], b0, a1, 3);
    acc[7][1] = vfmaq_laneq_f32(acc[7][1], b1, a1, 3);
    a += 8;
    b += 8;
  }
  for (int r = 0; r < 8; r++) {
    float* row = c + r * ldc;
    if (accumulate) {
      acc[r][0] = vaddq_f32(acc[r][0], vld1q_f32(row));
      acc[r][1] = vaddq_f32(acc[r][1], vld1q_f32(row + 4));
    }
    vst1q_f32(row, acc[r][0]);
    vst1q_f32(row + 4, acc[r][1]);
  }
}
#endif

// Rows of C computed for M rows with MR-tall tiles (the waste of the last tile).
size_t paddedRows(size_t m, size_t mr) { return (m + mr - 1) / mr * mr; }

// The default kernel for this CPU; with m given, an AVX-512 shape that pads M less
// (the 14-row kernel wins ties: it does the most work per B load).
const Kernel& pickKernel(size_t m = 0) {
#if EAI_X86
  static const Kernel avx512{14, 32, 256, 14 * 12, microAvx512<14, 2>, "avx512 14x32"};
  static const Kernel avx512x8{8, 48, 256, 8 * 16, microAvx512<8, 3>, "avx512 8x48"};
  static const Kernel avx512x4{4, 64, 256, 4 * 32, microAvx512<4, 4>, "avx512 4x64"};
  static const Kernel avx512x3{3, 64, 256, 3 * 32, microAvx512<3, 4>, "avx512 3x64"};
  static const Kernel avx2{6, 16, 256, 6 * 24, microAvx2, "avx2+fma 6x16"};
  if (useAvx512()) {
    if (m == 0) return avx512;
    const Kernel* best = &avx512;
    for (const Kernel* k : {&avx512x8, &avx512x4, &avx512x3}) {
      // Only for a clear saving (over 1/16 fewer rows computed): large M keeps 14x32.
      if (paddedRows(m, k->mr) * 16 < paddedRows(m, best->mr) * 15) best = k;
    }
    return *best;
  }
  if (useAvx2()) return avx2;
#endif
#if EAI_NEON
  static const Kernel neon{8, 8, 256, 8 * 16, microNeon, "neon 8x8"};
  if (activeIsa() == Isa::Neon) return neon;
#endif
  static const Kernel generic{4, 8, 256, 4 * 32, microGeneric<4, 8>, "portable 4x8"};
  return generic;
}

// ---------------------------------------------------------------- packing

// MR-tall panels of rows [i0, i0 + rows) × depth [p0, p0 + kc) of op(A), zero-padded.
void packA(const GemmShape& g, size_t i0, size_t rows, size_t p0, size_t kc, size_t mr, float* out) {
  for (size_t ir = 0; ir < rows; ir += mr) {
    const size_t h = std::min(mr, rows - ir);
    float* panel = out + ir * kc;
    if (g.ars == 1) {
      // op(A) stored transposed: for each depth the panel's rows are adjacent in memory.
      for (size_t p = 0; p < kc; p++) {
        const float* src = g.a + (i0 + ir) + (p0 + p) * g.acs;
        float* dst = panel + p * mr;
        size_t r = 0;
        for (; r < h; r++) dst[r] = src[r];
        for (; r < mr; r++) dst[r] = 0.0f;
      }
    } else {
      for (size_t r = 0; r < h; r++) {
        const float* src = g.a + (i0 + ir + r) * g.ars + p0 * g.acs;
        if (g.acs == 1) {
          for (size_t p = 0; p < kc; p++) panel[p * mr + r] = src[p];
        } else {
          for (size_t p = 0; p < kc; p++) panel[p * mr + r] = src[p * g.acs];
        }
      }
      for (size_t r = h; r < mr; r++)
        for (size_t p = 0; p < kc; p++) panel[p * mr + r] = 0.0f;
    }
  }
}

// Panel `jp` (NR columns from j0 + jp·NR) of op(B) over depth [p0, p0 + kc), zero-padded.
void packBPanel(const GemmShape& g, size_t j0, size_t cols, size_t jp, size_t p0, size_t kc, size_t nr,
                float* out) {
  const size_t jr = jp * nr;
  const size_t w = std::min(nr, cols - jr);
  float* panel = out + jr * kc;
  if (g.packB) {
    g.packB(g.packCtx, p0, kc, j0 + jr, w, nr, panel);
    return;
  }
  if (g.bcs == 1) {
    for (size_t p = 0; p < kc; p++) {
      const float* src = g.b + (p0 + p) * g.brs + j0 + jr;
      float* dst = panel + p * nr;
      std::memcpy(dst, src, w * sizeof(float));
      for (size_t c = w; c < nr; c++) dst[c] = 0.0f;
    }
  } else {
    for (size_t c = 0; c < w; c++) {
      const float* src = g.b + p0 * g.brs + (j0 + jr + c) * g.bcs;
      if (g.brs == 1) {
        for (size_t p = 0; p < kc; p++) panel[p * nr + c] = src[p];
      } else {
        for (size_t p = 0; p < kc; p++) panel[p * nr + c] = src[p * g.brs];
      }
    }
    for (size_t c = w; c < nr; c++)
      for (size_t p = 0; p < kc; p++) panel[p * nr + c] = 0.0f;
  }
}

thread_local Scratch packedA;
thread_local Scratch edgeTile;

// The micro-kernel over an mc×nc block of C from packed A (mc rows) and packed B panels.
void macroKernel(const Kernel& K, size_t kc, const float* ap, size_t rows, const float* bp, size_t jFirst,
                 size_t jEnd, size_t cols, float* c, size_t ldc, bool accumulate) {
  const size_t mr = K.mr, nr = K.nr;
  float* tile = edgeTile.floats(mr * nr);
  for (size_t jp = jFirst; jp < jEnd; jp++) {
    const size_t jr = jp * nr;
    const size_t w = std::min(nr, cols - jr);
    const float* bpanel = bp + jr * kc;
    for (size_t ir = 0; ir < rows; ir += mr) {
      const size_t h = std::min(mr, rows - ir);
      float* cij = c + ir * ldc + jr;
      if (h == mr && w == nr) {
        K.run(kc, ap + ir * kc, bpanel, cij, ldc, accumulate);
      } else {
        K.run(kc, ap + ir * kc, bpanel, tile, nr, false);
        for (size_t r = 0; r < h; r++) {
          float* row = cij + r * ldc;
          const float* t = tile + r * nr;
          if (accumulate) {
            for (size_t j = 0; j < w; j++) row[j] += t[j];
          } else {
            for (size_t j = 0; j < w; j++) row[j] = t[j];
          }
        }
      }
    }
  }
}


// ---------------------------------------------------------------- matrix-vector products

// Up to kGemvRows rows of op(A) (a decoding step's activations): the product reads each element
// of B once and does m multiply-adds with it, so it is bound by streaming B from memory. The
// GEMM path would first copy B into packed panels (for a 1×64·64×512 product that copy was 90%
// of the call); these kernels read B where it lies, in one of its two layouts:
// - "dot": op(B)'s columns are contiguous (a weight [N, K] used transposed, brs == 1): each
//   output is a dot product of an A row with a B row, four B rows at a time;
// - "axpy": op(B)'s rows are contiguous (bcs == 1): output rows accumulate a[r][p]·B[p, :]
//   over p, a register block of columns at a time.
constexpr size_t kGemvRows = 4;
// B elements below which one thread streams B faster than a fork-join costs (256 KiB).
constexpr size_t kGemvParallelFloats = size_t(1) << 16;

struct Gemv {
  const float* a[kGemvRows];  // contiguous A rows
  float* c[kGemvRows];        // C rows
  size_t m, k;
  const float* b;
  size_t ldb;  // dot: distance between B's contiguous columns; axpy: between its rows
  bool accumulate;
};

EAI_INLINE void put(const Gemv& g, size_t r, size_t j, float v) {
  g.c[r][j] = g.accumulate ? g.c[r][j] + v : v;
}

void gemvDotGeneric(const Gemv& g, size_t j0, size_t j1) {
  for (size_t j = j0; j < j1; j++) {
    const float* bj = g.b + j * g.ldb;
    for (size_t r = 0; r < g.m; r++) {
      float s = 0.0f;
      for (size_t p = 0; p < g.k; p++) s += g.a[r][p] * bj[p];
      put(g, r, j, s);
    }
  }
}

void gemvAxpyGeneric(const Gemv& g, size_t j0, size_t j1) {
  constexpr size_t W = 32;
  for (size_t jb = j0; jb < j1; jb += W) {
    const size_t w = std::min(W, j1 - jb);
    for (size_t r = 0; r < g.m; r++) {
      float t[W] = {};
      for (size_t p = 0; p < g.k; p++) {
        const float ar = g.a[r][p];
        const float* row = g.b + p * g.ldb + jb;
        for (size_t j = 0; j < w; j++) t[j] += ar * row[j];
      }
      for (size_t j = 0; j < w; j++) put(g, r, jb + j, t[j]);
    }
  }
}

#if EAI_X86
EAI_TARGET_AVX2 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// R rows × 4 columns of dot products (R ≤ 2 keeps 8 accumulators in the 16 ymm registers).
template <int R>
EAI_TARGET_AVX2 void gemvDotAvx2Rows(const Gemv& g, size_t r0, size_t j0, size_t j1) {
  const size_t k = g.k, k8 = k & ~size_t(7);
  size_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    const float* b0 = g.b + j * g.ldb;
    const float* b1 = b0 + g.ldb;
    const float* b2 = b1 + g.ldb;
    const float* b3 = b2 + g.ldb;
    __m256 s[R][4];
    for (int r = 0; r < R; r++)
      for (int q = 0; q < 4; q++) s[r][q] = _mm256_setzero_ps();
    for (size_t p = 0; p < k8; p += 8) {
      const __m256 v0 = _mm256_loadu_ps(b0 + p), v1 = _mm256_loadu_ps(b1 + p);
      const __m256 v2 = _mm256_loadu_ps(b2 + p), v3 = _mm256_loadu_ps(b3 + p);
      for (int r = 0; r < R; r++) {
        const __m256 x = _mm256_loadu_ps(g.a[r0 + r] + p);
        s[r][0] = _mm256_fmadd_ps(x, v0, s[r][0]);
        s[r][1] = _mm256_fmadd_ps(x, v1, s[r][1]);
        s[r][2] = _mm256_fmadd_ps(x, v2, s[r][2]);
        s[r][3] = _mm256_fmadd_ps(x, v3, s[r][3]);
      }
    }
    for (int r = 0; r < R; r++) {
      const float* ar = g.a[r0 + r];
      float t[4] = {hsum256(s[r][0]), hsum256(s[r][1]), hsum256(s[r][2]), hsum256(s[r][3])};
      for (size_t p = k8; p < k; p++) {
        t[0] += ar[p] * b0[p];
        t[1] += ar[p] * b1[p];
        t[2] += ar[p] * b2[p];
        t[3] += ar[p] * b3[p];
      }
      for (int q = 0; q < 4; q++) put(g, r0 + r, j + q, t[q]);
    }
  }
  for (; j < j1; j++) {
    const float* bj = g.b + j * g.ldb;
    for (int r = 0; r < R; r++) {
      const float* ar = g.a[r0 + r];
      __m256 s = _mm256_setzero_ps();
      for (size_t p = 0; p < k8; p += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(ar + p), _mm256_loadu_ps(bj + p), s);
      float t = hsum256(s);
      for (size_t p = k8; p < k; p++) t += ar[p] * bj[p];
      put(g, r0 + r, j, t);
    }
  }
}

EAI_TARGET_AVX2 void gemvDotAvx2(const Gemv& g, size_t j0, size_t j1) {
  size_t r = 0;
  for (; r + 2 <= g.m; r += 2) gemvDotAvx2Rows<2>(g, r, j0, j1);
  if (r < g.m) gemvDotAvx2Rows<1>(g, r, j0, j1);
}

// R rows × 32 columns per register block (R ≤ 2: 8 accumulators).
template <int R>
EAI_TARGET_AVX2 void gemvAxpyAvx2Rows(const Gemv& g, size_t r0, size_t j0, size_t j1) {
  size_t j = j0;
  for (; j + 32 <= j1; j += 32) {
    __m256 s[R][4];
    for (int r = 0; r < R; r++)
      for (int q = 0; q < 4; q++) s[r][q] = _mm256_setzero_ps();
    const float* row = g.b + j;
    for (size_t p = 0; p < g.k; p++, row += g.ldb) {
      const __m256 v0 = _mm256_loadu_ps(row), v1 = _mm256_loadu_ps(row + 8);
      const __m256 v2 = _mm256_loadu_ps(row + 16), v3 = _mm256_loadu_ps(row + 24);
      for (int r = 0; r < R; r++) {
        const __m256 x = _mm256_broadcast_ss(g.a[r0 + r] + p);
        s[r][0] = _mm256_fmadd_ps(x, v0, s[r][0]);
        s[r][1] = _mm256_fmadd_ps(x, v1, s[r][1]);
        s[r][2] = _mm256_fmadd_ps(x, v2, s[r][2]);
        s[r][3] = _mm256_fmadd_ps(x, v3, s[r][3]);
      }
    }
    for (int r = 0; r < R; r++) {
      float* c = g.c[r0 + r] + j;
      for (int q = 0; q < 4; q++) {
        __m256 v = s[r][q];
        if (g.accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(c + 8 * q));
        _mm256_storeu_ps(c + 8 * q, v);
      }
    }
  }
  for (; j + 8 <= j1; j += 8) {
    __m256 s[R];
    for (int r = 0; r < R; r++) s[r] = _mm256_setzero_ps();
    const float* row = g.b + j;
    for (size_t p = 0; p < g.k; p++, row += g.ldb) {
      const __m256 v = _mm256_loadu_ps(row);
      for (int r = 0; r < R; r++) s[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(g.a[r0 + r] + p), v, s[r]);
    }
    for (int r = 0; r < R; r++) {
      float* c = g.c[r0 + r] + j;
      __m256 v = s[r];
      if (g.accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(c));
      _mm256_storeu_ps(c, v);
    }
  }
  for (; j < j1; j++) {
    for (int r = 0; r < R; r++) {
      float t = 0.0f;
      for (size_t p = 0; p < g.k; p++) t += g.a[r0 + r][p] * g.b[p * g.ldb + j];
      put(g, r0 + r, j, t);
    }
  }
}

EAI_TARGET_AVX2 void gemvAxpyAvx2(const Gemv& g, size_t j0, size_t j1) {
  size_t r = 0;
  for (; r + 2 <= g.m; r += 2) gemvAxpyAvx2Rows<2>(g, r, j0, j1);
  if (r < g.m) gemvAxpyAvx2Rows<1>(g, r, j0, j1);
}

// AVX-512: R ≤ 4 rows (16 accumulators of the 32 zmm registers), masked tails.
template <int R>
EAI_TARGET_AVX512 void gemvDotAvx512Rows(const Gemv& g, size_t r0, size_t j0, size_t j1) {
  const size_t k = g.k, k16 = k & ~size_t(15);
  const __mmask16 tail = static_cast<__mmask16>((1u << (k - k16)) - 1);
  size_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    const float* b0 = g.b + j * g.ldb;
    const float* b1 = b0 + g.ldb;
    const float* b2 = b1 + g.ldb;
    const float* b3 = b2 + g.ldb;
    __m512 s[R][4];
    for (int r = 0; r < R; r++)
      for (int q = 0; q < 4; q++) s[r][q] = _mm512_setzero_ps();
    for (size_t p = 0; p < k16; p += 16) {
      const __m512 v0 = _mm512_loadu_ps(b0 + p), v1 = _mm512_loadu_ps(b1 + p);
      const __m512 v2 = _mm512_loadu_ps(b2 + p), v3 = _mm512_loadu_ps(b3 + p);
      for (int r = 0; r < R; r++) {
        const __m512 x = _mm512_loadu_ps(g.a[r0 + r] + p);
        s[r][0] = _mm512_fmadd_ps(x, v0, s[r][0]);
        s[r][1] = _mm512_fmadd_ps(x, v1, s[r][1]);
        s[r][2] = _mm512_fmadd_ps(x, v2, s[r][2]);
        s[r][3] = _mm512_fmadd_ps(x, v3, s[r][3]);
      }
    }
    if (tail) {
      const __m512 v0 = _mm512_maskz_loadu_ps(tail, b0 + k16), v1 = _mm512_maskz_loadu_ps(tail, b1 + k16);
      const __m512 v2 = _mm512_maskz_loadu_ps(tail, b2 + k16), v3 = _mm512_maskz_loadu_ps(tail, b3 + k16);
      for (int r = 0; r < R; r++) {
        const __m512 x = _mm512_maskz_loadu_ps(tail, g.a[r0 + r] + k16);
        s[r][0] = _mm512_fmadd_ps(x, v0, s[r][0]);
        s[r][1] = _mm512_fmadd_ps(x, v1, s[r][1]);
        s[r][2] = _mm512_fmadd_ps(x, v2, s[r][2]);
        s[r][3] = _mm512_fmadd_ps(x, v3, s[r][3]);
      }
    }
    for (int r = 0; r < R; r++)
      for (int q = 0; q < 4; q++) put(g, r0 + r, j + q, _mm512_reduce_add_ps(s[r][q]));
  }
  for (; j < j1; j++) {
    const float* bj = g.b + j * g.ldb;
    for (int r = 0; r < R; r++) {
      const float* ar = g.a[r0 + r];
      __m512 s = _mm512_setzero_ps();
      for (size_t p = 0; p < k16; p += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(ar + p), _mm512_loadu_ps(bj + p), s);
      if (tail) s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, ar + k16), _mm512_maskz_loadu_ps(tail, bj + k16), s);
      put(g, r0 + r, j, _mm512_reduce_add_ps(s));
    }
  }
}

EAI_TARGET_AVX512 void gemvDotAvx512(const Gemv& g, size_t j0, size_t j1) {
  switch (g.m) {
    case 1: return gemvDotAvx512Rows<1>(g, 0, j0, j1);
    case 2: return gemvDotAvx512Rows<2>(g, 0, j0, j1);
    case 3: return gemvDotAvx512Rows<3>(g, 0, j0, j1);
    default: return gemvDotAvx512Rows<4>(g, 0, j0, j1);
  }
}

template <int R>
EAI_TARGET_AVX512 void gemvAxpyAvx512Rows(const Gemv& g, size_t r0, size_t j0, size_t j1) {
  size_t j = j0;
  for (; j + 64 <= j1; j += 64) {
    __m512 s[R][4];
    for (int r = 0; r < R; r++)
      for (int q = 0; q < 4; q++) s[r][q] = _mm512_setzero_ps();
    const float* row = g.b + j;
    for (size_t p = 0; p < g.k; p++, row += g.ldb) {
      const __m512 v0 = _mm512_loadu_ps(row), v1 = _mm512_loadu_ps(row + 16);
      const __m512 v2 = _mm512_loadu_ps(row + 32), v3 = _mm512_loadu_ps(row + 48);
      for (int r = 0; r < R; r++) {
        const __m512 x = _mm512_set1_ps(g.a[r0 + r][p]);
        s[r][0] = _mm512_fmadd_ps(x, v0, s[r][0]);
        s[r][1] = _mm512_fmadd_ps(x, v1, s[r][1]);
        s[r][2] = _mm512_fmadd_ps(x, v2, s[r][2]);
        s[r][3] = _mm512_fmadd_ps(x, v3, s[r][3]);
      }
    }
    for (int r = 0; r < R; r++) {
      float* c = g.c[r0 + r] + j;
      for (int q = 0; q < 4; q++) {
        __m512 v = s[r][q];
        if (g.accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(c + 16 * q));
        _mm512_storeu_ps(c + 16 * q, v);
      }
    }
  }
  for (; j < j1; j += 16) {
    const size_t w = std::min<size_t>(16, j1 - j);
    const __mmask16 mask = static_cast<__mmask16>(w == 16 ? 0xffff : (1u << w) - 1);
    __m512 s[R];
    for (int r = 0; r < R; r++) s[r] = _mm512_setzero_ps();
    const float* row = g.b + j;
    for (size_t p = 0; p < g.k; p++, row += g.ldb) {
      const __m512 v = _mm512_maskz_loadu_ps(mask, row);
      for (int r = 0; r < R; r++) s[r] = _mm512_fmadd_ps(_mm512_set1_ps(g.a[r0 + r][p]), v, s[r]);
    }
    for (int r = 0; r < R; r++) {
      float* c = g.c[r0 + r] + j;
      __m512 v = s[r];
      if (g.accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, c));
      _mm512_mask_storeu_ps(c, mask, v);
    }
  }
}

EAI_TARGET_AVX512 void gemvAxpyAvx512(const Gemv& g, size_t j0, size_t j1) {
  switch (g.m) {
    case 1: return gemvAxpyAvx512Rows<1>(g, 0, j0, j1);
    case 2: return gemvAxpyAvx512Rows<2>(g, 0, j0, j1);
    case 3: return gemvAxpyAvx512Rows<3>(g, 0, j0, j1);
    default: return gemvAxpyAvx512Rows<4>(g, 0, j0, j1);
  }
}
#endif

thread_local Scratch gemvRows;

// C = op(A)·op(B) for m ≤ kGemvRows with B read in place; false when B's layout is neither form.
bool gemv(const GemmShape& sh, bool parallel) {
  const bool dot = sh.brs == 1;
  if (!dot && sh.bcs != 1) return false;
  Gemv g{};
  g.m = sh.m;
  g.k = sh.k;
  g.b = sh.b;
  g.ldb = dot ? sh.bcs : sh.brs;
  g.accumulate = sh.accumulate;
  // A rows must be contiguous: a transposed A (a few columns of a matrix) is gathered first.
  float* rows = sh.acs == 1 ? nullptr : gemvRows.floats(sh.m * sh.k);
  for (size_t r = 0; r < sh.m; r++) {
    if (rows) {
      for (size_t p = 0; p < sh.k; p++) rows[r * sh.k + p] = sh.a[r * sh.ars + p * sh.acs];
      g.a[r] = rows + r * sh.k;
    } else {
      g.a[r] = sh.a + r * sh.ars;
    }
    g.c[r] = sh.c + r * sh.ldc;
  }
  void (*run)(const Gemv&, size_t, size_t) = dot ? gemvDotGeneric : gemvAxpyGeneric;
#if EAI_X86
  if (useAvx512()) run = dot ? gemvDotAvx512 : gemvAxpyAvx512;
  else if (useAvx2()) run = dot ? gemvDotAvx2 : gemvAxpyAvx2;
#endif
  const size_t n = sh.n;
  const size_t threads = parallel && sh.k * n >= kGemvParallelFloats ? threadCount() : 1;
  if (threads <= 1) {
    run(g, 0, n);
    return true;
  }
  // Column chunks of whole 64-wide blocks, a few per thread so uneven progress still balances.
  const size_t chunks = std::min((n + 63) / 64, threads * 2);
  const size_t step = ((n + chunks - 1) / chunks + 63) / 64 * 64;
  parallelFor(chunks, [&](size_t t) {
    const size_t j0 = t * step, j1 = std::min(n, j0 + step);
    if (j0 < j1) run(g, j0, j1);
  });
  return true;
}
}  // namespace

const char* gemmKernelName() { return pickKernel().name; }

void sgemm(const GemmShape& g, bool parallel) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) {
    if (!g.accumulate)
      for (size_t i = 0; i < g.m; i++) std::memset(g.c + i * g.ldc, 0, g.n * sizeof(float));
    return;
  }
  if (g.m <= kGemvRows && !g.packB && gemv(g, parallel)) return;
  const Kernel& K = pickKernel(g.m);
  const size_t mr = K.mr, nr = K.nr;
  const double flops = 2.0 * g.m * g.n * g.k;
  const size_t threads = parallel && flops > 2e6 ? threadCount() : 1;
  const size_t mc = K.mc;
  // Column blocks hold whole panels (nr need not divide NC: 48 does not).
  const size_t ncBlock = NC / nr * nr;
  const size_t ncMax = std::min(ncBlock, (g.n + nr - 1) / nr * nr);
  const size_t slices = (g.k + K.kc - 1) / K.kc;
  // Depth slices are packed and computed in groups whose packed B stays within an L3-sized
  // budget: a task runs every slice of its group, so a group costs two fork-joins (pack,
  // compute) instead of two per slice — on small products those dominate — while a large B
  // is still streamed one cache-sized slice at a time. Slice s of a group sits at s·kc·ncMax.
  const size_t group = std::max<size_t>(1, std::min(slices, kPackedBFloats / (K.kc * ncMax)));
  // The last call's buffer is reused.
  static thread_local Scratch packedB;
  float* bp = packedB.floats(group * K.kc * ncMax);
  const size_t mBlocks = (g.m + mc - 1) / mc;

  for (size_t jc = 0; jc < g.n; jc += ncBlock) {
    const size_t nc = std::min(ncBlock, g.n - jc);
    const size_t panels = (nc + nr - 1) / nr;
    // At least four tasks per thread, so uneven blocks still balance: split the columns
    // too when M has few blocks (each column chunk repacks its A block, a small cost).
    size_t nChunks = 1;
    if (threads > 1 && mBlocks < 4 * threads) {
      nChunks = std::min(panels, (4 * threads + mBlocks - 1) / mBlocks);
    }
    const size_t perChunk = (panels + nChunks - 1) / nChunks;
    for (size_t s0 = 0; s0 < slices; s0 += group) {
      const size_t s1 = std::min(slices, s0 + group);
      auto pack = [&](size_t t) {
        const size_t s = s0 + t / panels;
        const size_t pc = s * K.kc;
        packBPanel(g, jc, nc, t % panels, pc, std::min(K.kc, g.k - pc), nr, bp + (s - s0) * K.kc * ncMax);
      };
      const size_t packs = (s1 - s0) * panels;
      if (threads > 1) {
        parallelFor(packs, pack);
      } else {
        for (size_t t = 0; t < packs; t++) pack(t);
      }
      auto task = [&](size_t t) {
        const size_t ib = t / nChunks;
        const size_t jchunk = t % nChunks;
        const size_t i0 = ib * mc;
        const size_t rows = std::min(mc, g.m - i0);
        const size_t jFirst = jchunk * perChunk;
        const size_t jEnd = std::min(panels, jFirst + perChunk);
        if (jFirst >= jEnd) return;
        // The task owns its C block for the whole group: no other task adds into it meanwhile.
        for (size_t s = s0; s < s1; s++) {
          const size_t pc = s * K.kc;
          const size_t kc = std::min(K.kc, g.k - pc);
          float* ap = packedA.floats(((rows + mr - 1) / mr * mr) * kc);
          packA(g, i0, rows, pc, kc, mr, ap);
          macroKernel(K, kc, ap, rows, bp + (s - s0) * K.kc * ncMax, jFirst, jEnd, nc, g.c + i0 * g.ldc + jc, g.ldc,
                      g.accumulate || s > 0);
        }
      };
      const size_t tasks = mBlocks * nChunks;
      if (threads > 1) {
        parallelFor(tasks, task);
      } else {
        for (size_t t = 0; t < tasks; t++) task(t);
      }
    }
  }
}

namespace {

// A batched product: C[t] = op(A)[aOff[t]] · op(B)[bOff[t]] for each batch t.
struct Batched {
  const float* a;
  const float* b;
  float* c;
  size_t m, k, n;
  bool transA, transB;
  std::vector<size_t> aOff, bOff;

  void run() const {
    // An empty product: nothing to write (k alone bounds no array and must not drive a loop).
    if (m == 0 || n == 0) return;
    const size_t batches = aOff.size();
    auto one = [&](size_t t, bool parallel) {
      GemmShape g{};
      g.m = m;
      g.n = n;
      g.k = k;
      g.a = a + aOff[t];
      g.ars = transA ? 1 : k;
      g.acs = transA ? m : 1;
      g.b = b + bOff[t];
      g.brs = transB ? 1 : n;
      g.bcs = transB ? k : 1;
      g.c = c + t * m * n;
      g.ldc = n;
      g.accumulate = false;
      sgemm(g, parallel);
    };
    const double flops = 2.0 * m * n * k;
    // Many small products (attention heads): one product per task beats splitting each.
    if (batches > 1 && flops < 8e6) {
      parallelFor(batches, [&](size_t t) { one(t, false); });
    } else {
      for (size_t t = 0; t < batches; t++) one(t, true);
    }
  }
};

// matmul(a, b, c, m, k, n, transA, transB, aOffsets, bOffsets): validated here so the
// async variant can run without touching JS values.
Batched parse(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  View<float> a = F32(info, 0, fn);
  View<float> b = F32(info, 1, fn);
  View<float> c = F32(info, 2, fn);
  Batched job;
  job.a = a.data;
  job.b = b.data;
  job.c = c.data;
  job.m = Size(info, 3, fn);
  job.k = Size(info, 4, fn);
  job.n = Size(info, 5, fn);
  job.transA = Bool(info, 6, fn);
  job.transB = Bool(info, 7, fn);
  job.aOff = Sizes(info, 8, fn);
  job.bOff = Sizes(info, 9, fn);
  const size_t batches = job.aOff.size();
  Require(env, job.bOff.size() == batches, std::string(fn) + ": aOffsets and bOffsets differ in length");
  Require(env, c.length == ProductOf({batches, job.m, job.n}, fn), std::string(fn) + ": c must hold batches·m·n elements");
  const size_t aSize = ProductOf({job.m, job.k}, fn), bSize = ProductOf({job.k, job.n}, fn);
  for (size_t t = 0; t < batches; t++) {
    Require(env, AddSize(job.aOff[t], aSize, fn) <= a.length, std::string(fn) + ": a batch offset reaches past a");
    Require(env, AddSize(job.bOff[t], bSize, fn) <= b.length, std::string(fn) + ": a batch offset reaches past b");
  }
  return job;
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Batched job = parse(info, "matmul");
  job.run();
  return info.Env().Undefined();
}

// The same product on a libuv worker thread; a, b and c stay alive until it settles with c.
Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
  Batched job = parse(info, "matmulAsync");
  return queueOnWorker(info, "matmulAsync", 3, 2, [job = std::move(job)] { job.run(); });
}

// swiglu(x, wg, wu, y, rows, k, hidden): y = silu(x·wgᵀ) ⊙ (x·wuᵀ). The two products go through
// sgemm (the matrix-vector path for a decoding step), the gate into y and up into scratch, then
// one pass combines them while they are in cache.
Napi::Value Swiglu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "swiglu";
  View<float> x = F32(info, 0, fn), wg = F32(info, 1, fn), wu = F32(info, 2, fn), y = F32(info, 3, fn);
  const size_t rows = Size(info, 4, fn), k = Size(info, 5, fn), hidden = Size(info, 6, fn);
  Require(env, x.length == rows * k, "swiglu: x must hold rows·k elements");
  Require(env, wg.length == hidden * k && wu.length == hidden * k, "swiglu: the weights must be [hidden, k]");
  Require(env, y.length == rows * hidden, "swiglu: y must hold rows·hidden elements");
  if (y.length == 0) return env.Undefined();
  static thread_local Scratch upScratch;
  float* up = upScratch.floats(rows * hidden);
  auto product = [&](const float* w, float* c) {
    GemmShape g{};
    g.m = rows;
    g.n = hidden;
    g.k = k;
    g.a = x.data;
    g.ars = k;
    g.acs = 1;
    g.b = w;
    g.brs = 1;
    g.bcs = k;
    g.c = c;
    g.ldc = hidden;
    g.accumulate = false;
    sgemm(g);
  };
  product(wg.data, y.data);
  product(wu.data, up);
  const size_t n = rows * hidden;
  parallelRange(n, size_t(1) << 15, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      // silu as the elementwise kernel defines it (e^-|a| never overflows), times up.
      const double a = y.data[i];
      const double silu = a >= 0 ? a / (1.0 + std::exp(-a)) : a * std::exp(a) / (1.0 + std::exp(a));
      y.data[i] = static_cast<float>(static_cast<float>(silu) * up[i]);
    }
  });
  return env.Undefined();
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("swiglu", Napi::Function::New(env, Swiglu, "swiglu"));
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("matmulAsync", Napi::Function::New(env, MatmulAsync, "matmulAsync"));
}

}  // namespace eai
