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

}  // namespace

const char* gemmKernelName() { return pickKernel().name; }

void sgemm(const GemmShape& g, bool parallel) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) {
    if (!g.accumulate)
      for (size_t i = 0; i < g.m; i++) std::memset(g.c + i * g.ldc, 0, g.n * sizeof(float));
    return;
  }
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

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("matmulAsync", Napi::Function::New(env, MatmulAsync, "matmulAsync"));
}

}  // namespace eai
