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
#include "quant/qmath.h"

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

/* Rows 2j and 2j+1 of col at positions p..p+15 as int16 pairs (x[2j][q],
 * x[2j+1][q]): positions p..p+7 in *lo, p+8..p+15 in *hi. */
NN_AVX2_INLINE void pairs16(const uint8_t *r0, const uint8_t *r1, __m256i *lo,
                            __m256i *hi)
{
    __m128i a = _mm_loadu_si128((const __m128i *)r0);
    __m128i b = _mm_loadu_si128((const __m128i *)r1);
    *lo = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b));
    *hi = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b));
}

/* acc (out, pos16) = bias + W x col for 4 outputs at o, 16 positions at
 * p: per pair of rows, the pairs of 16 positions, four broadcast weight
 * pairs, eight vpmaddwd. */
NN_AVX2_INLINE void conv_tile_4x16(int pairs, int pos16, const uint8_t *col,
                                   const int32_t *w2, const int32_t *bias,
                                   int32_t *acc, int o, int p)
{
    const int32_t *w0 = w2 + (size_t)o * pairs, *w1 = w0 + pairs;
    const int32_t *wq = w1 + pairs, *w3 = wq + pairs;
    __m256i c00 = _mm256_set1_epi32(bias[o]), c01 = c00;
    __m256i c10 = _mm256_set1_epi32(bias[o + 1]), c11 = c10;
    __m256i c20 = _mm256_set1_epi32(bias[o + 2]), c21 = c20;
    __m256i c30 = _mm256_set1_epi32(bias[o + 3]), c31 = c30;
    const uint8_t *r0 = col + p;
    for (int j = 0; j < pairs; j++, r0 += (size_t)2 * pos16) {
        __m256i x0, x1, v;
        pairs16(r0, r0 + pos16, &x0, &x1);
        v = _mm256_set1_epi32(w0[j]);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x0, v));
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x1, v));
        v = _mm256_set1_epi32(w1[j]);
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x0, v));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x1, v));
        v = _mm256_set1_epi32(wq[j]);
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x0, v));
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x1, v));
        v = _mm256_set1_epi32(w3[j]);
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x0, v));
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x1, v));
    }
    int32_t *a0 = acc + (size_t)o * pos16 + p;
    _mm256_storeu_si256((__m256i *)a0, c00);
    _mm256_storeu_si256((__m256i *)(a0 + 8), c01);
    _mm256_storeu_si256((__m256i *)(a0 + pos16), c10);
    _mm256_storeu_si256((__m256i *)(a0 + pos16 + 8), c11);
    _mm256_storeu_si256((__m256i *)(a0 + 2 * (size_t)pos16), c20);
    _mm256_storeu_si256((__m256i *)(a0 + 2 * (size_t)pos16 + 8), c21);
    _mm256_storeu_si256((__m256i *)(a0 + 3 * (size_t)pos16), c30);
    _mm256_storeu_si256((__m256i *)(a0 + 3 * (size_t)pos16 + 8), c31);
}

/* One output, 16 positions. */
NN_AVX2_INLINE void conv_tile_1x16(int pairs, int pos16, const uint8_t *col,
                                   const int32_t *w2, const int32_t *bias,
                                   int32_t *acc, int o, int p)
{
    const int32_t *w0 = w2 + (size_t)o * pairs;
    __m256i c0 = _mm256_set1_epi32(bias[o]), c1 = c0;
    const uint8_t *r0 = col + p;
    for (int j = 0; j < pairs; j++, r0 += (size_t)2 * pos16) {
        __m256i x0, x1, v = _mm256_set1_epi32(w0[j]);
        pairs16(r0, r0 + pos16, &x0, &x1);
        c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x0, v));
        c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x1, v));
    }
    _mm256_storeu_si256((__m256i *)(acc + (size_t)o * pos16 + p), c0);
    _mm256_storeu_si256((__m256i *)(acc + (size_t)o * pos16 + p + 8), c1);
}

NN_AVX2
void nn_q_conv_gemm_avx2(int out, int depth2, int pos16, const uint8_t *col,
                         const int32_t *w2, const int32_t *bias, int32_t *acc)
{
    int pairs = depth2 / 2, out4 = out / 4 * 4;
    for (int p = 0; p < pos16; p += 16) {
        for (int o = 0; o < out4; o += 4)
            conv_tile_4x16(pairs, pos16, col, w2, bias, acc, o, p);
        for (int o = out4; o < out; o++)
            conv_tile_1x16(pairs, pos16, col, w2, bias, acc, o, p);
    }
}

/* 4 outputs x 16 positions with AVX-VNNI: per quad of rows, two loads of
 * 8 positions' quads, four broadcast weight quads, eight vpdpbusd. */
#define NN_VNNI __attribute__((target("avx2,avxvnni")))

NN_VNNI static inline __attribute__((always_inline)) void
vnni_tile_4x16(int n, int pos16, const uint8_t *quads, const int32_t *w4,
               const int32_t *bias, int32_t *acc, int o, int p)
{
    const int32_t *w0 = w4 + (size_t)o * n, *w1 = w0 + n, *wq = w1 + n;
    const int32_t *w3 = wq + n;
    __m256i c00 = _mm256_set1_epi32(bias[o]), c01 = c00;
    __m256i c10 = _mm256_set1_epi32(bias[o + 1]), c11 = c10;
    __m256i c20 = _mm256_set1_epi32(bias[o + 2]), c21 = c20;
    __m256i c30 = _mm256_set1_epi32(bias[o + 3]), c31 = c30;
    const uint8_t *q = quads + (size_t)4 * p;
    for (int j = 0; j < n; j++, q += (size_t)4 * pos16) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)q);
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(q + 32)), v;
        v = _mm256_set1_epi32(w0[j]);
        c00 = _mm256_dpbusd_avx_epi32(c00, x0, v);
        c01 = _mm256_dpbusd_avx_epi32(c01, x1, v);
        v = _mm256_set1_epi32(w1[j]);
        c10 = _mm256_dpbusd_avx_epi32(c10, x0, v);
        c11 = _mm256_dpbusd_avx_epi32(c11, x1, v);
        v = _mm256_set1_epi32(wq[j]);
        c20 = _mm256_dpbusd_avx_epi32(c20, x0, v);
        c21 = _mm256_dpbusd_avx_epi32(c21, x1, v);
        v = _mm256_set1_epi32(w3[j]);
        c30 = _mm256_dpbusd_avx_epi32(c30, x0, v);
        c31 = _mm256_dpbusd_avx_epi32(c31, x1, v);
    }
    int32_t *a0 = acc + (size_t)o * pos16 + p;
    _mm256_storeu_si256((__m256i *)a0, c00);
    _mm256_storeu_si256((__m256i *)(a0 + 8), c01);
    _mm256_storeu_si256((__m256i *)(a0 + pos16), c10);
    _mm256_storeu_si256((__m256i *)(a0 + pos16 + 8), c11);
    _mm256_storeu_si256((__m256i *)(a0 + 2 * (size_t)pos16), c20);
    _mm256_storeu_si256((__m256i *)(a0 + 2 * (size_t)pos16 + 8), c21);
    _mm256_storeu_si256((__m256i *)(a0 + 3 * (size_t)pos16), c30);
    _mm256_storeu_si256((__m256i *)(a0 + 3 * (size_t)pos16 + 8), c31);
}

NN_VNNI static inline __attribute__((always_inline)) void
vnni_tile_1x16(int n, int pos16, const uint8_t *quads, const int32_t *w4,
               const int32_t *bias, int32_t *acc, int o, int p)
{
    const int32_t *w0 = w4 + (size_t)o * n;
    __m256i c0 = _mm256_set1_epi32(bias[o]), c1 = c0;
    const uint8_t *q = quads + (size_t)4 * p;
    for (int j = 0; j < n; j++, q += (size_t)4 * pos16) {
        __m256i v = _mm256_set1_epi32(w0[j]);
        c0 = _mm256_dpbusd_avx_epi32(
            c0, _mm256_loadu_si256((const __m256i *)q), v);
        c1 = _mm256_dpbusd_avx_epi32(
            c1, _mm256_loadu_si256((const __m256i *)(q + 32)), v);
    }
    _mm256_storeu_si256((__m256i *)(acc + (size_t)o * pos16 + p), c0);
    _mm256_storeu_si256((__m256i *)(acc + (size_t)o * pos16 + p + 8), c1);
}

NN_VNNI
void nn_q_conv_gemm_quads_vnni(int out, int depth4, int pos16,
                               const uint8_t *quads, const int32_t *w4,
                               const int32_t *bias, int32_t *acc)
{
    int n = depth4 / 4, out4 = out / 4 * 4;
    for (int p = 0; p < pos16; p += 16) {
        for (int o = 0; o < out4; o += 4)
            vnni_tile_4x16(n, pos16, quads, w4, bias, acc, o, p);
        for (int o = out4; o < out; o++)
            vnni_tile_1x16(n, pos16, quads, w4, bias, acc, o, p);
    }
}

NN_AVX2
void nn_q_quantize_avx2(const float *x, size_t n, float scale, int32_t zero,
                        uint8_t *q)
{
    const __m256 s = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f);
    const __m256 one = _mm256_set1_ps(1.0f), big = _mm256_set1_ps(512.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i z = _mm256_set1_epi32(zero), lo = _mm256_setzero_si256();
    const __m256i hi = _mm256_set1_epi32(255);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
        /* roundf: one more away from zero when |fraction| >= 1/2 */
        __m256 away = _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ),
                                    _mm256_or_ps(one, _mm256_and_ps(sign, v)));
        __m256 r = _mm256_add_ps(t, away);
        /* NaN to 0, then within +-512 (past that the clamp decides) */
        r = _mm256_and_ps(r, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
        r = _mm256_min_ps(_mm256_max_ps(r, _mm256_sub_ps(_mm256_setzero_ps(),
                                                         big)), big);
        __m256i y = _mm256_add_epi32(z, _mm256_cvttps_epi32(r));
        y = _mm256_min_epi32(_mm256_max_epi32(y, lo), hi);
        __m256i w16 = _mm256_packs_epi32(y, y);
        __m256i b8 = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w16, w16),
                                                 order);
        _mm_storel_epi64((__m128i *)(q + i), _mm256_castsi256_si128(b8));
    }
    for (; i < n; i++)
        q[i] = nn_q_quantize_one(x[i], scale, zero);
}

/* Eight lanes of requant with one (M, shift >= 0): srdhm as floor((a M +
 * 2^30) / 2^31) (equal to qmodel.h's nudged, truncated division for every
 * a and M > 0), then rdivpot's ties away from zero. */
NN_AVX2_INLINE __m256i requant8(__m256i a, __m256i mult, __m128i shift,
                                __m256i mask, __m256i half)
{
    const __m256i nudge = _mm256_set1_epi64x(INT64_C(1) << 30);
    __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, mult), nudge);
    __m256i odd = _mm256_add_epi64(
        _mm256_mul_epi32(_mm256_srli_epi64(a, 32), mult), nudge);
    /* bits 31..62 of each 64-bit sum: the low 32 bits of its floor */
    even = _mm256_srli_epi64(even, 31);
    odd = _mm256_slli_epi64(odd, 1); /* bits 31..62 into the high half */
    __m256i x = _mm256_blend_epi32(even, odd, 0xaa);
    __m256i rem = _mm256_and_si256(x, mask);
    __m256i thr = _mm256_sub_epi32(half, _mm256_srai_epi32(x, 31));
    return _mm256_sub_epi32(_mm256_sra_epi32(x, shift),
                            _mm256_cmpgt_epi32(rem, thr));
}

NN_AVX2
void nn_q_requant_plane_avx2(const int32_t *acc, int n, nn_qmul m,
                             int32_t zero, int32_t lo, int32_t hi,
                             uint8_t *y)
{
    int p = 0;
    if (m.shift >= 0) {
        const __m256i mult = _mm256_set1_epi64x(m.mult);
        const __m128i shift = _mm_cvtsi32_si128(m.shift);
        const int32_t maskv = (int32_t)((INT64_C(1) << m.shift) - 1);
        const __m256i mask = _mm256_set1_epi32(maskv);
        const __m256i half = _mm256_set1_epi32(maskv >> 1);
        const __m256i z = _mm256_set1_epi32(zero);
        const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (; p + 8 <= n; p += 8) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(acc + p));
            __m256i v = _mm256_add_epi32(z, requant8(a, mult, shift, mask, half));
            v = _mm256_min_epi32(_mm256_max_epi32(v, vlo), vhi);
            /* 8 int32 in 0..255 to 8 bytes */
            __m256i w16 = _mm256_packs_epi32(v, v);
            __m256i b8 = _mm256_packus_epi16(w16, w16);
            b8 = _mm256_permutevar8x32_epi32(b8, order);
            _mm_storel_epi64((__m128i *)(y + p), _mm256_castsi256_si128(b8));
        }
    }
    for (; p < n; p++) /* the tail, and left shifts: scalar */
        y[p] = (uint8_t)nn_q_clamp(zero + nn_q_requant(acc[p], m), lo, hi);
}

#endif
