/* The AVX-512 VNNI convolution gemm of int8 models (src/quant/qkernels.h):
 * 512-bit vpdpbusd, 16 int32 lanes each summing four uint8 x int8
 * products straight into the lane (no intermediate saturation), so every
 * sum is exact and, integer addition being associative, equal to
 * nn_q_conv_gemm_quads_portable's bit for bit. Same operands as the
 * AVX-VNNI kernel: quads (depth4 / 4, pos16, 4), w4 (out, depth4 / 4).
 * Compiled with a target attribute and called only after
 * nn_cpu_has_avx512vnni(). */
#include "quant/qkernels.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define NN_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vnni")))

/* acc (out, pos16) = bias + W x col for outputs o..o+nout-1 (nout <= 8)
 * and positions p..p+16 npos-1 (npos 1 or 2): per quad of rows, npos loads
 * of 16 positions' quads, nout broadcast weight quads, nout * npos
 * vpdpbusd into as many accumulators. */
NN_VNNI512 static inline __attribute__((always_inline)) void
tile(int nout, int npos, int n, int pos16, const uint8_t *quads,
     const int32_t *w4, const int32_t *bias, int32_t *acc, int o, int p)
{
    __m512i c[8][2];
    const int32_t *w0 = w4 + (size_t)o * n;
    const uint8_t *q = quads + (size_t)4 * p;
#pragma GCC unroll 8
    for (int i = 0; i < nout; i++) {
        c[i][0] = _mm512_set1_epi32(bias[o + i]);
        c[i][1] = c[i][0];
    }
    for (int j = 0; j < n; j++, q += (size_t)4 * pos16) {
        __m512i x0 = _mm512_loadu_si512((const void *)q);
        __m512i x1 = npos == 2 ? _mm512_loadu_si512((const void *)(q + 64))
                               : x0;
#pragma GCC unroll 8
        for (int i = 0; i < nout; i++) {
            __m512i v = _mm512_set1_epi32(w0[(size_t)i * n + j]);
            c[i][0] = _mm512_dpbusd_epi32(c[i][0], x0, v);
            if (npos == 2)
                c[i][1] = _mm512_dpbusd_epi32(c[i][1], x1, v);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < nout; i++) {
        int32_t *a0 = acc + (size_t)(o + i) * pos16 + p;
        _mm512_storeu_si512((void *)a0, c[i][0]);
        if (npos == 2)
            _mm512_storeu_si512((void *)(a0 + 16), c[i][1]);
    }
}

/* All outputs at positions p..p+16 npos-1: tiles of 8, then 4, then 1. */
NN_VNNI512 static inline __attribute__((always_inline)) void
column(int npos, int out, int n, int pos16, const uint8_t *quads,
       const int32_t *w4, const int32_t *bias, int32_t *acc, int p)
{
    int o = 0;
    for (; o + 8 <= out; o += 8)
        tile(8, npos, n, pos16, quads, w4, bias, acc, o, p);
    for (; o + 4 <= out; o += 4)
        tile(4, npos, n, pos16, quads, w4, bias, acc, o, p);
    for (; o < out; o++)
        tile(1, npos, n, pos16, quads, w4, bias, acc, o, p);
}

NN_VNNI512
void nn_q_conv_gemm_quads_vnni512(int out, int depth4, int pos16,
                                  const uint8_t *quads, const int32_t *w4,
                                  const int32_t *bias, int32_t *acc)
{
    int n = depth4 / 4, p = 0;
    for (; p + 32 <= pos16; p += 32)
        column(2, out, n, pos16, quads, w4, bias, acc, p);
    if (p < pos16) /* pos16 is a multiple of 16: one 16-position tail */
        column(1, out, n, pos16, quads, w4, bias, acc, p);
}

#endif
