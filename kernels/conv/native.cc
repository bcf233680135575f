// Native 2-D convolution (NCHW, PyTorch semantics as kernels/conv/ref.ts). conv2d picks
// one of three paths by layer shape, all reading reflect/replicate borders without a padded
// copy of the whole input:
//   Winograd F(4×4, 3×3)  3×3 stride-1 layers with ≥ 16 channels each way (AVX-512)
//   direct                few output channels or strided (AVX-512): taps read straight from
//                         cache-sized bands of padded rows, no im2col packing
//   implicit GEMM         everything else: the packed GEMM of matmul/native.cc with its
//                         B panels gathered from x (im2col never materialised)
// convTranspose2d (col2im(Wᵀ · x)) and conv2dWeightGrad (g · im2col(x)ᵀ) use im2col/col2im
// buffers over a slab of rows at a time. Many small (sample, group) problems run one per
// task; large ones run one after another with the work inside split across the pool.
#include <algorithm>
#include <cstring>
#include <vector>

#include "eai.h"
#if EAI_X86
#include <immintrin.h>
#endif

namespace eai {

namespace {

// How conv2d's padding reads x: zeros, mirrored without the edge, or the edge repeated.
enum PadMode : size_t { kZeros = 0, kReflect = 1, kReplicate = 2 };

struct Geometry {
  size_t N, C, H, W, O, kh, kw, OH, OW, sh, sw, pt, pl, dh, dw, groups;
  PadMode mode = kZeros;
  size_t Cg() const { return C / groups; }
  size_t Og() const { return O / groups; }
  size_t K() const { return Cg() * kh * kw; }
};

constexpr size_t kMaxExtent = size_t{1} << 24;

// Geometry [N, C, H, W, O, kH, kW, OH, OW, sh, sw, pt, pl, dh, dw, groups] and, where
// withMode, an optional 17th entry: the pad mode (0 zeros, 1 reflect, 2 replicate).
Geometry parseGeometry(const Napi::CallbackInfo& info, size_t i, const char* fn, bool withMode = false) {
  Napi::Env env = info.Env();
  std::vector<size_t> g = Sizes(info, i, fn);
  Require(env, g.size() == 16 || (withMode && g.size() == 17),
          std::string(fn) + ": geometry is [N, C, H, W, O, kH, kW, OH, OW, sh, sw, pt, pl, dh, dw, groups" +
              (withMode ? ", padMode?]" : "]"));
  // Each extent, stride, dilation and padding below 2^24 keeps every index the kernels form
  // (products of two of them, and sums of those) far inside int64.
  for (size_t k = 0; k < 16; k++) Require(env, g[k] < kMaxExtent, std::string(fn) + ": a geometry entry is 2^24 or more");
  Geometry r{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]};
  Require(env, r.groups >= 1 && r.C % r.groups == 0 && r.O % r.groups == 0,
          std::string(fn) + ": groups must divide the input and output channels");
  Require(env, r.sh >= 1 && r.sw >= 1 && r.dh >= 1 && r.dw >= 1, std::string(fn) + ": stride and dilation must be >= 1");
  if (g.size() == 17) {
    Require(env, g[16] <= 2, std::string(fn) + ": padMode must be 0 (zeros), 1 (reflect) or 2 (replicate)");
    r.mode = static_cast<PadMode>(g[16]);
    if (r.mode != kZeros && r.N * r.C > 0 && r.OH * r.OW > 0) {
      // Every tap lies in [−pt, last] on each axis; a mirror must land inside x, an edge needs one.
      const size_t lastY = (r.OH - 1) * r.sh + (r.kh - 1) * r.dh, lastX = (r.OW - 1) * r.sw + (r.kw - 1) * r.dw;
      Require(env, r.H >= 1 && r.W >= 1, std::string(fn) + ": reflect/replicate padding needs a non-empty input");
      if (r.mode == kReflect) {
        Require(env, r.pt < r.H && r.pl < r.W && lastY <= r.pt + 2 * (r.H - 1) && lastX <= r.pl + 2 * (r.W - 1),
                std::string(fn) + ": reflect padding must be smaller than the input's height and width");
      }
    }
  }
  return r;
}

// The row/column of x that padded coordinate i (may be negative) reads; −1 for a zero.
inline int64_t borderIndex(int64_t i, int64_t size, PadMode mode) {
  if (i >= 0 && i < size) return i;
  if (mode == kReflect) return i < 0 ? -i : 2 * (size - 1) - i;
  if (mode == kReplicate) return i < 0 ? 0 : size - 1;
  return -1;
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

// Implicit im2col: the GEMM's B panels are gathered straight from one (sample, group) of x,
// rows p = (c, ki, kj), columns j = output pixel (oy, ox), borders read as G.mode says.
// No column matrix is ever written, and reflect padding needs no padded copy of x.
struct Im2colB {
  const Geometry* G;
  const float* x;
};

// out[t] = src[t·sw] for t < count: a strided gather of one im2col run's interior.
void gatherRun(float* out, const float* src, size_t count, size_t sw) {
  if (sw == 1) {
    std::memcpy(out, src, count * sizeof(float));
  } else {
    for (size_t t = 0; t < count; t++) out[t] = src[t * sw];
  }
}

#if EAI_X86
// The same with AVX-512: plain copies, and stride 2 as an even-lane permute of two loads.
EAI_TARGET_AVX512 void gatherRunAvx512(float* out, const float* src, size_t count, size_t sw) {
  size_t t = 0;
  if (sw == 1) {
    for (; t + 16 <= count; t += 16) _mm512_storeu_ps(out + t, _mm512_loadu_ps(src + t));
    if (t < count) {
      const __mmask16 m = static_cast<__mmask16>((1u << (count - t)) - 1);
      _mm512_mask_storeu_ps(out + t, m, _mm512_maskz_loadu_ps(m, src + t));
    }
    return;
  }
  if (sw == 2) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (; t < count; t += 16) {
      // Taps t .. t + n − 1 read s[0], s[2], …, s[2n − 2]: masked loads never read past the last.
      const float* s = src + 2 * t;
      const size_t n = std::min<size_t>(16, count - t), span = 2 * n - 1;
      const __mmask16 m0 = static_cast<__mmask16>(span >= 16 ? 0xFFFF : (1u << span) - 1);
      const __mmask16 m1 = static_cast<__mmask16>(span <= 16 ? 0 : (1u << (span - 16)) - 1);
      const __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0, s), even, _mm512_maskz_loadu_ps(m1, s + 16));
      _mm512_mask_storeu_ps(out + t, static_cast<__mmask16>(n == 16 ? 0xFFFF : (1u << n) - 1), v);
    }
    return;
  }
  for (; t < count; t++) out[t] = src[t * sw];
}
#endif

void packIm2colPanel(const void* ctx, size_t p0, size_t kc, size_t j0, size_t w, size_t nr, float* panel) {
  const Im2colB& B = *static_cast<const Im2colB*>(ctx);
  const Geometry& G = *B.G;
  const int64_t H = static_cast<int64_t>(G.H), W = static_cast<int64_t>(G.W);
  const int64_t sw = static_cast<int64_t>(G.sw);
#if EAI_X86
  void (*gather)(float*, const float*, size_t, size_t) = useAvx512() ? gatherRunAvx512 : gatherRun;
#else
  void (*gather)(float*, const float*, size_t, size_t) = gatherRun;
#endif
  // The panel's pixels fall into runs within one output row each (one run when OW ≥ nr divides well).
  struct Run {
    size_t off, count;
    int64_t oyBase, oxBase;  // oy·sh − pt and ox0·sw − pl
  };
  Run runs[64];  // nr ≤ 64 for every micro-kernel, and each run holds at least one pixel
  size_t nRuns = 0;
  for (size_t j = j0; j < j0 + w;) {
    const size_t oy = j / G.OW, ox = j % G.OW;
    const size_t count = std::min(G.OW - ox, j0 + w - j);
    runs[nRuns++] = Run{j - j0, count, static_cast<int64_t>(oy * G.sh) - static_cast<int64_t>(G.pt),
                        static_cast<int64_t>(ox * G.sw) - static_cast<int64_t>(G.pl)};
    j += count;
  }
  const size_t khw = G.kh * G.kw;
  size_t c = p0 / khw, ki = (p0 % khw) / G.kw, kj = p0 % G.kw;
  for (size_t p = 0; p < kc; p++) {
    float* dst = panel + p * nr;
    const float* plane = B.x + c * G.H * G.W;
    const int64_t dy = static_cast<int64_t>(ki * G.dh), dx = static_cast<int64_t>(kj * G.dw);
    for (size_t r = 0; r < nRuns; r++) {
      const Run& run = runs[r];
      float* out = dst + run.off;
      const int64_t iy = borderIndex(run.oyBase + dy, H, G.mode);
      if (iy < 0) {
        std::memset(out, 0, run.count * sizeof(float));
        continue;
      }
      const float* src = plane + iy * W;
      const int64_t ix0 = run.oxBase + dx;
      const int64_t count = static_cast<int64_t>(run.count);
      // Taps t in [lo, hi) read inside the row; the rest are border reads.
      const int64_t lo = ix0 >= 0 ? 0 : std::min(count, (-ix0 + sw - 1) / sw);
      const int64_t hi = ix0 >= W ? lo : std::max(lo, std::min(count, (W - ix0 + sw - 1) / sw));
      for (int64_t t = 0; t < lo; t++) {
        const int64_t ix = borderIndex(ix0 + t * sw, W, G.mode);
        out[t] = ix < 0 ? 0.0f : src[ix];
      }
      if (hi > lo) gather(out + lo, src + ix0 + lo * sw, static_cast<size_t>(hi - lo), G.sw);
      for (int64_t t = hi; t < count; t++) {
        const int64_t ix = borderIndex(ix0 + t * sw, W, G.mode);
        out[t] = ix < 0 ? 0.0f : src[ix];
      }
    }
    if (w < nr) std::memset(dst + w, 0, (nr - w) * sizeof(float));
    if (++kj == G.kw) {
      kj = 0;
      if (++ki == G.kh) {
        ki = 0;
        c++;
      }
    }
  }
}

// y planes ← bias (the GEMM then accumulates onto them): one write pass instead of a
// separate read-add-write pass after the product.
void fillBias(const float* bias, size_t O, float* y, size_t planes, size_t planeSize) {
  parallelRange(planes, (1u << 15) / (planeSize + 1) + 1, [&](size_t b, size_t e) {
    for (size_t p = b; p < e; p++) std::fill(y + p * planeSize, y + (p + 1) * planeSize, bias[p % O]);
  });
}

// xp [Cg][Hp][Wp] ← padded rows row0 .. row0 + Hp − 1 of x [Cg][H][W] (shifted by the top/left
// padding), borders read as G.mode says; rows from reachH and columns from reachW on (beyond
// every window) are zeros.
void padInput(const Geometry& G, const float* xg, size_t Cg, size_t Hp, size_t Wp, size_t reachH, size_t reachW,
              float* xp, size_t row0 = 0) {
  const int64_t H = static_cast<int64_t>(G.H), W = static_cast<int64_t>(G.W);
  const size_t cols = std::min(Wp, reachW);
  parallelRange(Cg * Hp, 16, [&](size_t r0, size_t r1) {
    for (size_t rr = r0; rr < r1; rr++) {
      const size_t c = rr / Hp, r = rr % Hp + row0;
      float* dst = xp + (c * Hp + r - row0) * Wp;
      const int64_t iy = r < reachH ? borderIndex(static_cast<int64_t>(r) - static_cast<int64_t>(G.pt), H, G.mode) : -1;
      if (iy < 0) {
        std::memset(dst, 0, Wp * sizeof(float));
        continue;
      }
      const float* src = xg + c * G.H * G.W + iy * W;
      for (size_t col = 0; col < cols; col++) {
        const int64_t ix = static_cast<int64_t>(col) - static_cast<int64_t>(G.pl);
        if (ix >= 0 && ix < W) {
          // The interior in one copy, then the right border.
          const size_t run = static_cast<size_t>(std::min<int64_t>(W - ix, static_cast<int64_t>(cols - col)));
          std::memcpy(dst + col, src + ix, run * sizeof(float));
          col += run - 1;
          continue;
        }
        const int64_t m = borderIndex(ix, W, G.mode);
        dst[col] = m < 0 ? 0.0f : src[m];
      }
      if (cols < Wp) std::memset(dst + cols, 0, (Wp - cols) * sizeof(float));
    }
  });
}

// Column-phased padding for strided direct convolution: row r of channel c holds sw phases
// of Wq values each, xp[c][r][q][j] = padded x[c][row0 + r][j·sw + q], so the taps of a
// strided row become contiguous runs. Rows from reachH and columns from reachW are zeros.
void padInputPhased(const Geometry& G, const float* xg, size_t Cg, size_t Hb, size_t Wq, size_t reachH,
                    size_t reachW, float* xp, size_t row0) {
  const int64_t H = static_cast<int64_t>(G.H), W = static_cast<int64_t>(G.W);
  const size_t sw = G.sw, rowStride = sw * Wq;
#if EAI_X86
  void (*gather)(float*, const float*, size_t, size_t) = useAvx512() ? gatherRunAvx512 : gatherRun;
#else
  void (*gather)(float*, const float*, size_t, size_t) = gatherRun;
#endif
  parallelRange(Cg * Hb, 16, [&](size_t r0, size_t r1) {
    for (size_t rr = r0; rr < r1; rr++) {
      const size_t c = rr / Hb, r = rr % Hb + row0;
      float* dst = xp + (c * Hb + r - row0) * rowStride;
      const int64_t iy = r < reachH ? borderIndex(static_cast<int64_t>(r) - static_cast<int64_t>(G.pt), H, G.mode) : -1;
      if (iy < 0) {
        std::memset(dst, 0, rowStride * sizeof(float));
        continue;
      }
      const float* src = xg + c * G.H * G.W + iy * W;
      for (size_t q = 0; q < sw; q++) {
        float* out = dst + q * Wq;
        // Column j·sw + q reads x column j·sw + q − pl: inside x for j in [lo, hi).
        const int64_t first = static_cast<int64_t>(q) - static_cast<int64_t>(G.pl);
        const int64_t isw = static_cast<int64_t>(sw);
        const int64_t count = static_cast<int64_t>(Wq);
        const int64_t lo = first >= 0 ? 0 : std::min(count, (-first + isw - 1) / isw);
        const int64_t hi = first >= W ? lo : std::max(lo, std::min(count, (W - first + isw - 1) / isw));
        for (int64_t j = 0; j < count; j++) {
          if (j == lo && hi > lo) {
            gather(out + lo, src + first + lo * isw, static_cast<size_t>(hi - lo), sw);
            j = hi - 1;
            continue;
          }
          const size_t col = static_cast<size_t>(j) * sw + q;
          const int64_t ix = col < reachW ? borderIndex(first + j * isw, W, G.mode) : -1;
          out[j] = ix < 0 ? 0.0f : src[ix];
        }
      }
    }
  });
}

#if EAI_X86
// ---------------------------------------------------------------- direct (few output channels)
//
// With few output channels each im2col element feeds only a few multiply-adds, so packing
// it costs more than the product. For stride-1 columns the im2col row of tap (c, ki, kj)
// over output pixels ox.. is a contiguous run of the padded input, so the micro-kernel
// reads B straight from a padded copy of x through a table of per-tap offsets: no packing.

// MR output channels × up to 16·NV output pixels of one row; `lanes` pixels are valid,
// `rows` channels are stored. a: packed weights [K][MR]; bias: MR values or null.
template <int MR, int NV>
EAI_TARGET_AVX512 void directTile(size_t K, const float* a, const float* xrow, const int64_t* off, size_t lanes,
                                  const float* bias, size_t rows, float* y, size_t ldy) {
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; v++) {
    const int64_t rem = static_cast<int64_t>(lanes) - 16 * v;
    mask[v] = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : rem <= 0 ? 0 : static_cast<__mmask16>((1u << rem) - 1);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++) {
    const __m512 init = _mm512_set1_ps(bias && static_cast<size_t>(r) < rows ? bias[r] : 0.0f);
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[r][v] = init;
  }
  if (lanes == 16 * NV) {
    // Full tiles (all but a row's last) load unmasked.
#pragma GCC unroll 2
    for (size_t p = 0; p < K; p++) {
      const float* b = xrow + off[p];
      __m512 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 14
      for (int r = 0; r < MR; r++) {
        const __m512 ar = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
      }
      a += MR;
    }
  } else {
#pragma GCC unroll 2
    for (size_t p = 0; p < K; p++) {
      const float* b = xrow + off[p];
      __m512 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_ps(mask[v], b + 16 * v);
#pragma GCC unroll 14
      for (int r = 0; r < MR; r++) {
        const __m512 ar = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
      }
      a += MR;
    }
  }
  for (size_t r = 0; r < rows; r++) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(y + r * ldy + 16 * v, mask[v], acc[r][v]);
  }
}

using DirectTileFn = void (*)(size_t, const float*, const float*, const int64_t*, size_t, const float*, size_t, float*,
                              size_t);

struct DirectShape {
  size_t mr, lanes;
  DirectTileFn run;
};

// The tile shape that pads the output channels least (14 rows wins ties).
DirectShape pickDirect(size_t og) {
  static const DirectShape shapes[] = {{14, 32, directTile<14, 2>},
                                       {8, 48, directTile<8, 3>},
                                       {4, 64, directTile<4, 4>},
                                       {3, 64, directTile<3, 4>}};
  const DirectShape* best = &shapes[0];
  for (const DirectShape& s : shapes) {
    if ((og + s.mr - 1) / s.mr * s.mr < (og + best->mr - 1) / best->mr * best->mr) best = &s;
  }
  return *best;
}

// Whether conv2d takes the direct path (AVX-512, rows of at least 8 outputs): layers with at
// most 32 output channels (an RGB head, the 9×9 stem) and strided layers, where im2col packing
// costs most. Layers Winograd takes are decided before this.
bool useDirect(const Geometry& G) { return useAvx512() && (G.Og() <= 32 || G.sw > 1) && G.OW >= 8; }

void directConvRun(const Geometry& G, const float* x, const float* w, const float* bias, float* y) {
  const size_t Cg = G.Cg(), Og = G.Og(), K = G.K(), P = G.OH * G.OW;
  const DirectShape S = pickDirect(Og);
  // Rows of the padded input the windows reach; columns per phase (stride 1: one phase of
  // OW + kw span; stride s: s phases, tap column kj·dw in phase (kj·dw) mod s at shift ⌊kj·dw / s⌋).
  const size_t span = (G.kh - 1) * G.dh + 1;
  const size_t Hp = (G.OH - 1) * G.sh + span;
  const size_t Wq = G.OW + (G.kw - 1) * G.dw / G.sw;
  // Strides and dilations near 2^24 make these spans large enough to overflow: checked.
  const size_t rowStride = MulSize(G.sw, Wq, "conv2d");
  const size_t reachW = (G.OW - 1) * G.sw + (G.kw - 1) * G.dw + 1;
  // Output rows in bands whose padded input rows (about 2 MB) stay in cache between the
  // copy and the taps that read them.
  const size_t fit = (size_t{1} << 19) / MulSize(Cg, rowStride, "conv2d");
  const size_t band = std::min(G.OH, fit > span ? (fit - span) / G.sh + 1 : 1);
  const size_t Hb = (band - 1) * G.sh + span;
  const size_t planeB = MulSize(Hb, rowStride, "conv2d");
  std::vector<int64_t> off(K);
  for (size_t c = 0, p = 0; c < Cg; c++)
    for (size_t ki = 0; ki < G.kh; ki++)
      for (size_t kj = 0; kj < G.kw; kj++) {
        const size_t col = kj * G.dw;
        off[p++] = static_cast<int64_t>(c * planeB + ki * G.dh * rowStride + (col % G.sw) * Wq + col / G.sw);
      }
  const size_t mBlocks = (Og + S.mr - 1) / S.mr;
  thread_local Scratch padBuf, packBuf;
  float* xp = padBuf.floats(MulSize(Cg, planeB, "conv2d"));
  float* ap = packBuf.floats(mBlocks * K * S.mr);
  for (size_t t = 0; t < G.N * G.groups; t++) {
    const size_t n = t / G.groups, g = t % G.groups;
    const float* xg = x + (n * G.C + g * Cg) * G.H * G.W;
    const float* wg = w + g * Og * K;
    float* yg = y + (n * G.O + g * Og) * P;
    const float* bg = bias ? bias + g * Og : nullptr;
    // Weights as MR-row panels [block][p][MR], zero rows past Og.
    for (size_t mb = 0; mb < mBlocks; mb++) {
      float* panel = ap + mb * K * S.mr;
      for (size_t p = 0; p < K; p++)
        for (size_t r = 0; r < S.mr; r++) {
          const size_t o = mb * S.mr + r;
          panel[p * S.mr + r] = o < Og ? wg[o * K + p] : 0.0f;
        }
    }
    for (size_t b0 = 0; b0 < G.OH; b0 += band) {
      const size_t b1 = std::min(G.OH, b0 + band);
      // Padded rows b0·sh .. b0·sh + Hb − 1 (those past the windows' reach are zeros).
      if (G.sw == 1) padInput(G, xg, Cg, Hb, Wq, Hp, Wq, xp, b0 * G.sh);
      else padInputPhased(G, xg, Cg, Hb, Wq, Hp, reachW, xp, b0 * G.sh);
      parallelRange(b1 - b0, 1, [&](size_t r0, size_t r1) {
        for (size_t oy = b0 + r0; oy < b0 + r1; oy++) {
          const float* xrow = xp + (oy - b0) * G.sh * rowStride;
          for (size_t mb = 0; mb < mBlocks; mb++) {
            const size_t o0 = mb * S.mr;
            const size_t rows = std::min(S.mr, Og - o0);
            float* yrow = yg + o0 * P + oy * G.OW;
            for (size_t ox = 0; ox < G.OW; ox += S.lanes) {
              const size_t lanes = std::min(S.lanes, G.OW - ox);
              S.run(K, ap + mb * K * S.mr, xrow + ox, off.data(), lanes, bg ? bg + o0 : nullptr, rows, yrow + ox, P);
            }
          }
        }
      });
    }
  }
}

// ---------------------------------------------------------------- Winograd F(4×4, 3×3)
//
// 3×3 stride-1 convolutions with many channels: per 4×4 output tile, Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A
// with d the 6×6 input patch (Lavin's points 0, ±1, ±2). The ⊙ summed over input channels is
// 36 GEMMs (one per transform position ξ) of U[ξ] [O, C] · V[ξ] [C, tiles]: 2.25 multiply-adds
// per output per channel pair instead of 9, at f32 errors a few times the direct sum's on
// unit-scale data. Tiles run in bands of tile rows (V and M ~4 MB each, the band's padded rows
// in cache); the transforms are AVX-512 over 16 tiles at a time.

// y = Bᵀx along one axis, Bᵀ = [[4,0,−5,0,1,0],[0,−4,−4,1,1,0],[0,4,−4,−1,1,0],
// [0,−2,−1,2,1,0],[0,2,−1,−2,1,0],[0,4,0,−5,0,1]].
EAI_TARGET_AVX512 static inline void bt6(const __m512* x, __m512* y) {
  const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
  const __m512 x4mx2 = _mm512_sub_ps(x[4], x[2]);
  const __m512 x3mx1 = _mm512_sub_ps(x[3], x[1]);
  y[0] = _mm512_fnmadd_ps(five, x[2], _mm512_fmadd_ps(four, x[0], x[4]));
  y[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(x[1], x[2]), _mm512_add_ps(x[3], x[4]));
  y[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(x[1], x[2]), _mm512_sub_ps(x[4], x[3]));
  y[3] = _mm512_fmadd_ps(two, x3mx1, x4mx2);
  y[4] = _mm512_fnmadd_ps(two, x3mx1, x4mx2);
  y[5] = _mm512_fnmadd_ps(five, x[3], _mm512_fmadd_ps(four, x[1], x[5]));
}

// y = Aᵀm, Aᵀ = [[1,1,1,1,1,0],[0,1,−1,2,−2,0],[0,1,1,4,4,0],[0,1,−1,8,−8,1]].
EAI_TARGET_AVX512 static inline void at6(const __m512* m, __m512* y) {
  const __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
  const __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
  y[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
  y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d, b);
  y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c, a);
  y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d, b), m[5]);
}

// G = [[¼,0,0],[−⅙,−⅙,−⅙],[−⅙,⅙,−⅙],[1/24,1/12,⅙],[1/24,−1/12,⅙],[0,0,1]] applied to 3 values.
template <class V, class Mul, class Add>
EAI_INLINE void g6(const V* g, V* u, Mul mul, Add add) {
  const V s02 = add(g[0], g[2]);
  u[0] = mul(g[0], 0.25f);
  u[1] = mul(add(s02, g[1]), -1.0f / 6);
  u[2] = mul(add(s02, mul(g[1], -1.0f)), -1.0f / 6);
  u[3] = add(add(mul(g[0], 1.0f / 24), mul(g[1], 1.0f / 12)), mul(g[2], 1.0f / 6));
  u[4] = add(add(mul(g[0], 1.0f / 24), mul(g[1], -1.0f / 12)), mul(g[2], 1.0f / 6));
  u[5] = g[2];
}

// U[ξ][o][c] = (G g Gᵀ)[ξ] for the weight g = w[o][c] (3×3).
void winograd43WeightsScalar(const float* w, size_t O, size_t C, size_t o, size_t c, float* U) {
  auto mul = [](float a, float k) { return a * k; };
  auto add = [](float a, float b) { return a + b; };
  const float* g = w + (o * C + c) * 9;
  float t[6][3];
  for (int j = 0; j < 3; j++) {
    const float col[3] = {g[j], g[3 + j], g[6 + j]};
    float u[6];
    g6(col, u, mul, add);
    for (int i = 0; i < 6; i++) t[i][j] = u[i];
  }
  for (int i = 0; i < 6; i++) {
    float u[6];
    g6(t[i], u, mul, add);
    for (int j = 0; j < 6; j++) U[((i * 6 + j) * O + o) * C + c] = u[j];
  }
}

// The same for 16 input channels c0 .. c0 + 15 of one output channel at once.
EAI_TARGET_AVX512 void winograd43Weights16(const float* w, size_t O, size_t C, size_t o, size_t c0, float* U) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi32(9));
  const float* base = w + (o * C + c0) * 9;
  __m512 g[9];
  for (int k = 0; k < 9; k++) g[k] = _mm512_i32gather_ps(idx, base + k, 4);
  __m512 t[6][3];
  for (int j = 0; j < 3; j++) {
    const __m512 s02 = _mm512_add_ps(g[j], g[6 + j]);
    t[0][j] = _mm512_mul_ps(g[j], _mm512_set1_ps(0.25f));
    t[1][j] = _mm512_mul_ps(_mm512_add_ps(s02, g[3 + j]), _mm512_set1_ps(-1.0f / 6));
    t[2][j] = _mm512_mul_ps(_mm512_sub_ps(s02, g[3 + j]), _mm512_set1_ps(-1.0f / 6));
    t[3][j] = _mm512_fmadd_ps(g[j], _mm512_set1_ps(1.0f / 24),
                              _mm512_fmadd_ps(g[3 + j], _mm512_set1_ps(1.0f / 12),
                                              _mm512_mul_ps(g[6 + j], _mm512_set1_ps(1.0f / 6))));
    t[4][j] = _mm512_fmadd_ps(g[j], _mm512_set1_ps(1.0f / 24),
                              _mm512_fmadd_ps(g[3 + j], _mm512_set1_ps(-1.0f / 12),
                                              _mm512_mul_ps(g[6 + j], _mm512_set1_ps(1.0f / 6))));
    t[5][j] = g[6 + j];
  }
  for (int i = 0; i < 6; i++) {
    const __m512 s02 = _mm512_add_ps(t[i][0], t[i][2]);
    __m512 u[6];
    u[0] = _mm512_mul_ps(t[i][0], _mm512_set1_ps(0.25f));
    u[1] = _mm512_mul_ps(_mm512_add_ps(s02, t[i][1]), _mm512_set1_ps(-1.0f / 6));
    u[2] = _mm512_mul_ps(_mm512_sub_ps(s02, t[i][1]), _mm512_set1_ps(-1.0f / 6));
    u[3] = _mm512_fmadd_ps(t[i][0], _mm512_set1_ps(1.0f / 24),
                           _mm512_fmadd_ps(t[i][1], _mm512_set1_ps(1.0f / 12),
                                           _mm512_mul_ps(t[i][2], _mm512_set1_ps(1.0f / 6))));
    u[4] = _mm512_fmadd_ps(t[i][0], _mm512_set1_ps(1.0f / 24),
                           _mm512_fmadd_ps(t[i][1], _mm512_set1_ps(-1.0f / 12),
                                           _mm512_mul_ps(t[i][2], _mm512_set1_ps(1.0f / 6))));
    u[5] = t[i][2];
    for (int j = 0; j < 6; j++) _mm512_storeu_ps(U + ((i * 6 + j) * O + o) * C + c0, u[j]);
  }
}

// U[ξ][o][c] for every weight: 16 input channels per AVX-512 step, the rest one at a time.
void winograd43Weights(const float* w, size_t O, size_t C, float* U) {
  parallelRange(O, 1, [&](size_t o0, size_t o1) {
    for (size_t o = o0; o < o1; o++) {
      size_t c = 0;
      for (; c + 16 <= C; c += 16) winograd43Weights16(w, O, C, o, c, U);
      for (; c < C; c++) winograd43WeightsScalar(w, O, C, o, c, U);
    }
  });
}

// V[ξ][c][tl + tx] = (Bᵀ d B)[ξ] for one tile row; rows: the padded plane's 6 rows from 4·ty.
EAI_TARGET_AVX512 void winograd43InputRow(const float* rows, size_t Wp, size_t tilesW, float* V, size_t vStride,
                                          size_t tl) {
  // Lanes 4k + j of a 32-float pair, k < 8, into lanes 0..7 (the upper 8 lanes are unused).
  const __m512i sel[4] = {_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 28, 24, 20, 16, 12, 8, 4, 0),
                          _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 29, 25, 21, 17, 13, 9, 5, 1),
                          _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 30, 26, 22, 18, 14, 10, 6, 2),
                          _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 31, 27, 23, 19, 15, 11, 7, 3)};
  for (size_t tx = 0; tx < tilesW; tx += 16) {
    const size_t lanes = std::min<size_t>(16, tilesW - tx);
    const __mmask16 m = static_cast<__mmask16>(lanes == 16 ? 0xFFFF : (1u << lanes) - 1);
    __m512 t[6][6];
    for (int i = 0; i < 6; i++) {
      const float* r = rows + i * Wp + 4 * tx;
      // d[j] lane k = r[4k + j]: a stride-4 deinterleave of 64 floats (and of 64 from r + 4 for j = 4, 5).
      __m512 d[6];
      const __m512 v0 = _mm512_loadu_ps(r), v1 = _mm512_loadu_ps(r + 16);
      const __m512 v2 = _mm512_loadu_ps(r + 32), v3 = _mm512_loadu_ps(r + 48);
      for (int j = 0; j < 4; j++) {
        d[j] = _mm512_shuffle_f32x4(_mm512_permutex2var_ps(v0, sel[j], v1), _mm512_permutex2var_ps(v2, sel[j], v3),
                                    0x44);
      }
      const __m512 w0 = _mm512_loadu_ps(r + 4), w1 = _mm512_loadu_ps(r + 20);
      const __m512 w2 = _mm512_loadu_ps(r + 36), w3 = _mm512_loadu_ps(r + 52);
      for (int j = 0; j < 2; j++) {
        d[4 + j] = _mm512_shuffle_f32x4(_mm512_permutex2var_ps(w0, sel[j], w1),
                                        _mm512_permutex2var_ps(w2, sel[j], w3), 0x44);
      }
      bt6(d, t[i]);
    }
    float* out = V + tl + tx;
    for (int j = 0; j < 6; j++) {
      __m512 col[6], v[6];
      for (int i = 0; i < 6; i++) col[i] = t[i][j];
      bt6(col, v);
      for (int i = 0; i < 6; i++) _mm512_mask_storeu_ps(out + (i * 6 + j) * vStride, m, v[i]);
    }
  }
}

// y rows 4·ty .. 4·ty + rows − 1 of one output channel ← Aᵀ m A + bias.
EAI_TARGET_AVX512 void winograd43OutputRow(const float* Mrow, size_t mStride, size_t tilesW, float bias, float* y,
                                           size_t OW, size_t rows) {
  const __m512i il2lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i il2hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  const __m512i il4lo = _mm512_set_epi32(23, 22, 7, 6, 21, 20, 5, 4, 19, 18, 3, 2, 17, 16, 1, 0);
  const __m512i il4hi = _mm512_set_epi32(31, 30, 15, 14, 29, 28, 13, 12, 27, 26, 11, 10, 25, 24, 9, 8);
  const __m512 vb = _mm512_set1_ps(bias);
  for (size_t tx = 0; tx < tilesW; tx += 16) {
    const size_t lanes = std::min<size_t>(16, tilesW - tx);
    const __mmask16 m = static_cast<__mmask16>(lanes == 16 ? 0xFFFF : (1u << lanes) - 1);
    __m512 s[4][6];
    for (int j = 0; j < 6; j++) {
      __m512 col[6], r4[4];
      for (int i = 0; i < 6; i++) col[i] = _mm512_maskz_loadu_ps(m, Mrow + (i * 6 + j) * mStride + tx);
      at6(col, r4);
      for (int i = 0; i < 4; i++) s[i][j] = r4[i];
    }
    // Columns 4·tx + 16·q + (0..15) of each row, those below OW written.
    __mmask16 keep[4];
    for (int q = 0; q < 4; q++) {
      const size_t col = 4 * tx + 16 * q;
      const size_t valid = col >= OW ? 0 : std::min<size_t>(16, OW - col);
      keep[q] = static_cast<__mmask16>(valid == 16 ? 0xFFFF : (1u << valid) - 1);
    }
    for (size_t i = 0; i < rows; i++) {
      __m512 out[4];
      at6(s[i], out);
      for (int j = 0; j < 4; j++) out[j] = _mm512_add_ps(out[j], vb);
      // Interleave: memory lane 4k + j of the 64 columns ← out[j] lane k.
      const __m512 a01l = _mm512_permutex2var_ps(out[0], il2lo, out[1]), a01h = _mm512_permutex2var_ps(out[0], il2hi, out[1]);
      const __m512 a23l = _mm512_permutex2var_ps(out[2], il2lo, out[3]), a23h = _mm512_permutex2var_ps(out[2], il2hi, out[3]);
      float* yr = y + i * OW + 4 * tx;
      _mm512_mask_storeu_ps(yr, keep[0], _mm512_permutex2var_ps(a01l, il4lo, a23l));
      _mm512_mask_storeu_ps(yr + 16, keep[1], _mm512_permutex2var_ps(a01l, il4hi, a23l));
      _mm512_mask_storeu_ps(yr + 32, keep[2], _mm512_permutex2var_ps(a01h, il4lo, a23h));
      _mm512_mask_storeu_ps(yr + 48, keep[3], _mm512_permutex2var_ps(a01h, il4hi, a23h));
    }
  }
}

void winograd43Run(const Geometry& G, const float* x, const float* w, const float* bias, float* y) {
  const size_t C = G.C, O = G.O, P = G.OH * G.OW;
  const size_t tilesH = (G.OH + 3) / 4, tilesW = (G.OW + 3) / 4;
  // The loads of the last 16-tile block reach column 4·16·⌈tilesW/16⌉ + 3.
  const size_t Wp = 4 * ((tilesW + 15) / 16 * 16) + 4;
  // Bands of about 4 MB of V (and of M): measured faster than 16 MB on a 1 MB-L2 core.
  const size_t band = std::max<size_t>(1, std::min(tilesH, (size_t{1} << 20) / (36 * std::max(C, O) * tilesW)));
  // A band of tile rows reads 4·band + 2 padded rows: only those are copied, so they stay in cache.
  const size_t Hb = 4 * band + 2;
  const size_t planeB = Hb * Wp;
  const size_t Tc = band * tilesW;
  thread_local Scratch padBuf, uBuf, vBuf, mBuf;
  float* xp = padBuf.floats(C * planeB);
  float* U = uBuf.floats(36 * O * C);
  float* V = vBuf.floats(36 * C * Tc);
  float* M = mBuf.floats(36 * O * Tc);
  winograd43Weights(w, O, C, U);
  for (size_t n = 0; n < G.N; n++) {
    const float* xn = x + n * C * G.H * G.W;
    float* yn = y + n * O * P;
    for (size_t ty0 = 0; ty0 < tilesH; ty0 += band) {
      const size_t rowsHere = std::min(band, tilesH - ty0);
      const size_t T = rowsHere * tilesW;
      padInput(G, xn, C, 4 * rowsHere + 2, Wp, G.OH + 2, G.OW + 2, xp, 4 * ty0);
      const size_t planeHere = (4 * rowsHere + 2) * Wp;
      parallelRange(C, 1, [&](size_t c0, size_t c1) {
        for (size_t c = c0; c < c1; c++) {
          for (size_t r = 0; r < rowsHere; r++) {
            winograd43InputRow(xp + c * planeHere + 4 * r * Wp, Wp, tilesW, V + c * T, C * T, r * tilesW);
          }
        }
      });
      // 36 independent products of a band: one per task (a band's GEMMs are too small to split well).
      parallelFor(36, [&](size_t xi) {
        sgemm(gemm(O, T, C, U + xi * O * C, C, 1, V + xi * C * T, T, 1, M + xi * O * T, T, false), false);
      });
      parallelRange(O, 1, [&](size_t o0, size_t o1) {
        for (size_t o = o0; o < o1; o++) {
          const float b = bias ? bias[o] : 0.0f;
          for (size_t r = 0; r < rowsHere; r++) {
            const size_t oy = 4 * (ty0 + r);
            winograd43OutputRow(M + o * T + r * tilesW, O * T, tilesW, b, yn + o * P + oy * G.OW, G.OW,
                                std::min<size_t>(4, G.OH - oy));
          }
        }
      });
    }
  }
}

// Whether conv2d takes Winograd: AVX-512, 3×3, stride and dilation 1, one group, enough
// channels for the 16 GEMMs to run near peak, and an image of at least a few tiles.
bool useWinograd(const Geometry& G) {
  return useAvx512() && G.kh == 3 && G.kw == 3 && G.sh == 1 && G.sw == 1 && G.dh == 1 && G.dw == 1 &&
         G.groups == 1 && G.C >= 16 && G.O >= 16 && G.OH >= 4 && G.OW >= 8;
}

#endif

void conv2dRun(const Geometry& G, const float* x, const float* w, const float* bias, float* y) {
  // An empty output: the batch and group loops below would be sized by no array.
  if (G.N == 0 || G.O == 0 || G.OH == 0 || G.OW == 0) return;
#if EAI_X86
  if (G.N * G.OH * G.OW > 0 && useWinograd(G)) {
    winograd43Run(G, x, w, bias, y);
    return;
  }
  if (G.OH * G.OW > 0 && useDirect(G)) {
    directConvRun(G, x, w, bias, y);
    return;
  }
#endif
  const size_t Cg = G.Cg(), Og = G.Og(), K = G.K(), P = G.OH * G.OW;
  const bool direct = G.kh == 1 && G.kw == 1 && G.sh == 1 && G.sw == 1 && G.pt == 0 && G.pl == 0 && G.OH == G.H &&
                      G.OW == G.W;
  if (P == 0) return;
  if (bias) fillBias(bias, G.O, y, G.N * G.O, P);
  const bool accumulate = bias != nullptr;
  forEachProblem(G.N * G.groups, 2.0 * Og * K * P, [&](size_t t, bool parallel) {
    const size_t n = t / G.groups, g = t % G.groups;
    const float* xg = x + (n * G.C + g * Cg) * G.H * G.W;
    const float* wg = w + g * Og * K;
    float* yg = y + (n * G.O + g * Og) * P;
    if (direct) {
      sgemm(gemm(Og, P, K, wg, K, 1, xg, P, 1, yg, P, accumulate), parallel);
      return;
    }
    const Im2colB packer{&G, xg};
    GemmShape shape = gemm(Og, P, K, wg, K, 1, nullptr, 0, 0, yg, P, accumulate);
    shape.packB = packIm2colPanel;
    shape.packCtx = &packer;
    sgemm(shape, parallel);
  });
}

void convTransposeRun(const Geometry& G, const float* x, const float* w, const float* bias, float* y) {
  // Here C is the input's channels and O the output's; w is [C, O/groups, kh, kw].
  const size_t Cg = G.Cg(), Og = G.Og(), HW = G.H * G.W, P = G.OH * G.OW;
  const size_t M = Og * G.kh * G.kw;
  if (G.N == 0 || G.O == 0 || P == 0) return;
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
  if (P == 0 || G.N == 0 || G.O == 0 || K == 0) return;
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
  Geometry G = parseGeometry(info, 4, fn, !transpose);
  Require(env, x.length == ProductOf({G.N, G.C, G.H, G.W}, fn), std::string(fn) + ": x does not match the geometry");
  const size_t wLen = transpose ? ProductOf({G.C, G.Og(), G.kh, G.kw}, fn) : ProductOf({G.O, G.Cg(), G.kh, G.kw}, fn);
  Require(env, w.length == wLen, std::string(fn) + ": w does not match the geometry");
  Require(env, !hasBias || bias.length == G.O, std::string(fn) + ": bias must hold one value per output channel");
  Require(env, y.length == ProductOf({G.N, G.O, G.OH, G.OW}, fn), std::string(fn) + ": y does not match the geometry");
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
  Require(env, x.length == ProductOf({G.N, G.C, G.H, G.W}, fn), "conv2dWeightGrad: x does not match the geometry");
  Require(env, g.length == ProductOf({G.N, G.O, G.OH, G.OW}, fn), "conv2dWeightGrad: g does not match the geometry");
  Require(env, y.length == ProductOf({G.O, G.Cg(), G.kh, G.kw}, fn), "conv2dWeightGrad: y does not match the geometry");
  weightGradRun(G, x.data, g.data, y.data);
  return env.Undefined();
}

// conv2d on a libuv worker thread; x, w, bias and y stay alive until it settles with y.
Napi::Value Conv2dAsync(const Napi::CallbackInfo& info) {
  ConvArgs a = parseConv(info, "conv2dAsync", false);
  return queueOnWorker(info, "conv2dAsync", 4, 3, [a] { conv2dRun(a.G, a.x, a.w, a.bias, a.y); });
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d, "conv2d"));
  exports.Set("convTranspose2d", Napi::Function::New(env, ConvTranspose2d, "convTranspose2d"));
  exports.Set("conv2dWeightGrad", Napi::Function::New(env, Conv2dWeightGrad, "conv2dWeightGrad"));
  exports.Set("conv2dAsync", Napi::Function::New(env, Conv2dAsync, "conv2dAsync"));
}

}  // namespace eai
