// Vector helpers shared by the elementwise, softmax and attention kernels: an AVX2
// exp accurate to ~2 ulp over the whole f32 range (inf, 0 and NaN come out right),
// and the broadcast iteration plan the N-ary elementwise kernels walk.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "eai.h"
#if EAI_X86
#include <immintrin.h>
#endif

namespace eai {

#if EAI_X86
// exp(x) = 2^n · e^r with r = x − n·ln2 (Cody–Waite), e^r by Cephes' degree-6 polynomial.
// 2^n is applied as two factors so results between FLT_MIN and the smallest subnormal, and
// the overflow to +inf, fall out of ordinary float arithmetic.
EAI_TARGET_AVX2 static inline __m256 exp256(__m256 x) {
  const __m256 nanMask = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1);
  __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_blendv_ps(y, x, nanMask);
}
#endif

// Strides (in elements, 0 where broadcast) of each input over the output shape, with
// adjacent axes merged wherever every operand stays contiguous across them. The last
// merged axis is the row the kernels loop over; rows() counts the rest.
struct BroadcastPlan {
  std::vector<size_t> shape;                  // merged output shape
  std::vector<std::vector<int64_t>> strides;  // per input, per merged axis

  BroadcastPlan(const std::vector<std::vector<size_t>>& inputs, const std::vector<size_t>& out) {
    const size_t rank = out.size();
    std::vector<std::vector<int64_t>> full(inputs.size(), std::vector<int64_t>(rank, 0));
    for (size_t k = 0; k < inputs.size(); k++) {
      const auto& s = inputs[k];
      int64_t stride = 1;
      for (size_t i = 0; i < s.size(); i++) {
        const size_t axis = rank - 1 - i;
        const size_t dim = s[s.size() - 1 - i];
        full[k][axis] = dim == 1 ? 0 : stride;
        stride *= static_cast<int64_t>(dim);
      }
    }
    strides.assign(inputs.size(), {});
    for (size_t axis = 0; axis < rank; axis++) {
      if (out[axis] == 1) continue;
      bool merge = !shape.empty();
      for (size_t k = 0; merge && k < inputs.size(); k++) {
        merge = strides[k].back() == full[k][axis] * static_cast<int64_t>(out[axis]);
      }
      if (merge) {
        shape.back() *= out[axis];
        for (size_t k = 0; k < inputs.size(); k++) strides[k].back() = full[k][axis];
      } else {
        shape.push_back(out[axis]);
        for (size_t k = 0; k < inputs.size(); k++) strides[k].push_back(full[k][axis]);
      }
    }
    if (shape.empty()) {
      shape.push_back(1);
      for (auto& s : strides) s.push_back(0);
    }
  }

  size_t rowLength() const { return shape.back(); }
  size_t rows() const {
    size_t r = 1;
    for (size_t i = 0; i + 1 < shape.size(); i++) r *= shape[i];
    return r;
  }
  // Element offset of row `row` in input k.
  int64_t rowOffset(size_t k, size_t row) const {
    int64_t off = 0;
    for (size_t a = shape.size() - 1; a-- > 0;) {
      off += static_cast<int64_t>(row % shape[a]) * strides[k][a];
      row /= shape[a];
    }
    return off;
  }
  int64_t innerStride(size_t k) const { return strides[k].back(); }
};

}  // namespace eai
