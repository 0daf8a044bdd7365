/* The AVX2 int8 gemm (src/quant/qkernels.h): int16 rows multiplied with
 * vpmaddwd, which sums pairs of int16 products into int32 lanes. The
 * operands are widened uint8 activations (0..255) and int8 weights
 * (-127..127), so a pair sums to at most 2 * 255 * 127 = 64770 in
 * magnitude: exact in int32 (vpmaddubsw on the bytes would saturate such
 * pairs at 32767 in int16, hence not used). Integer sums do not depend on
 * their order, and the quantizer keeps every total inside int32, so the
 * result equals nn_q_gemm_s16_portable's bit for bit. Compiled with a
 * target attribute and called only after nn_cpu_has_avx2(). */
#include "quant/qkernels.h"

#if defined(__x86_64__)

#include "compute/avx2.h"

/* The four int32 sums of r0..r3 (each of eight lanes), in one vector. */
NN_AVX2_INLINE __m128i sum4(__m256i r0, __m256i r1, __m256i r2, __m256i r3)
{
    __m256i t = _mm256_hadd_epi32(_mm256_hadd_epi32(r0, r1),
                                  _mm256_hadd_epi32(r2, r3));
    return _mm_add_epi32(_mm256_castsi256_si128(t),
                         _mm256_extracti128_si256(t, 1));
}

/* The int32 sum of the eight lanes of v. */
NN_AVX2_INLINE int32_t sum1(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
                              _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

NN_AVX2_INLINE __m256i load16(const int16_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Rows r, r+1 times outputs o..o+3: a 2 x 4 tile. */
NN_AVX2_INLINE void tile_2x4(int out, int depth16, const int16_t *a0,
                             const int16_t *w, const int32_t *bias,
                             int32_t *acc0, int o)
{
    const int16_t *a1 = a0 + depth16, *w0 = w + (size_t)o * depth16;
    const int16_t *w1 = w0 + depth16, *w2 = w1 + depth16, *w3 = w2 + depth16;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00;
    __m256i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m128i b = _mm_loadu_si128((const __m128i *)(bias + o));
    for (int k = 0; k < depth16; k += 16) {
        __m256i x0 = load16(a0 + k), x1 = load16(a1 + k), v;
        v = load16(w0 + k);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x0, v));
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x1, v));
        v = load16(w1 + k);
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x0, v));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x1, v));
        v = load16(w2 + k);
        c02 = _mm256_add_epi32(c02, _mm256_madd_epi16(x0, v));
        c12 = _mm256_add_epi32(c12, _mm256_madd_epi16(x1, v));
        v = load16(w3 + k);
        c03 = _mm256_add_epi32(c03, _mm256_madd_epi16(x0, v));
        c13 = _mm256_add_epi32(c13, _mm256_madd_epi16(x1, v));
    }
    _mm_storeu_si128((__m128i *)(acc0 + o),
                     _mm_add_epi32(b, sum4(c00, c01, c02, c03)));
    _mm_storeu_si128((__m128i *)(acc0 + out + o),
                     _mm_add_epi32(b, sum4(c10, c11, c12, c13)));
}

/* One row times outputs o..o+3. */
NN_AVX2_INLINE void tile_1x4(int depth16, const int16_t *a0, const int16_t *w,
                             const int32_t *bias, int32_t *acc0, int o)
{
    const int16_t *w0 = w + (size_t)o * depth16;
    const int16_t *w1 = w0 + depth16, *w2 = w1 + depth16, *w3 = w2 + depth16;
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
    for (int k = 0; k < depth16; k += 16) {
        __m256i x0 = load16(a0 + k);
        c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x0, load16(w0 + k)));
        c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x0, load16(w1 + k)));
        c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(x0, load16(w2 + k)));
        c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(x0, load16(w3 + k)));
    }
    _mm_storeu_si128((__m128i *)(acc0 + o),
                     _mm_add_epi32(_mm_loadu_si128((const __m128i *)(bias + o)),
                                   sum4(c0, c1, c2, c3)));
}

/* One row times output o. */
NN_AVX2_INLINE int32_t dot_1x1(int depth16, const int16_t *a0,
                               const int16_t *w0)
{
    __m256i c = _mm256_setzero_si256();
    for (int k = 0; k < depth16; k += 16)
        c = _mm256_add_epi32(c, _mm256_madd_epi16(load16(a0 + k),
                                                  load16(w0 + k)));
    return sum1(c);
}

NN_AVX2
void nn_q_gemm_s16_avx2(int rows, int out, int depth16, const int16_t *a,
                        const int16_t *w, const int32_t *bias, int32_t *acc)
{
    int out4 = out / 4 * 4, r = 0;
    for (; r + 2 <= rows; r += 2) {
        const int16_t *a0 = a + (size_t)r * depth16;
        int32_t *acc0 = acc + (size_t)r * out;
        for (int o = 0; o < out4; o += 4)
            tile_2x4(out, depth16, a0, w, bias, acc0, o);
        for (int o = out4; o < out; o++) {
            acc0[o] = bias[o] + dot_1x1(depth16, a0, w + (size_t)o * depth16);
            acc0[out + o] = bias[o] + dot_1x1(depth16, a0 + depth16,
                                              w + (size_t)o * depth16);
        }
    }
    for (; r < rows; r++) {
        const int16_t *a0 = a + (size_t)r * depth16;
        int32_t *acc0 = acc + (size_t)r * out;
        for (int o = 0; o < out4; o += 4)
            tile_1x4(depth16, a0, w, bias, acc0, o);
        for (int o = out4; o < out; o++)
            acc0[o] = bias[o] + dot_1x1(depth16, a0, w + (size_t)o * depth16);
    }
}

#endif
