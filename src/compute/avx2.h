/* What the AVX2 + FMA files share: the target attributes that compile one
 * function for AVX2 + FMA whatever the build flags (callers check
 * nn_cpu_has_avx2() first), and an 8 x 8 transpose in registers.
 * Include only on x86-64. */
#ifndef NN_AVX2_H
#define NN_AVX2_H

#include <immintrin.h>

/* A function compiled for AVX2 + FMA. */
#define NN_AVX2 __attribute__((target("avx2,fma")))
/* The same, always inlined into its (AVX2) callers. */
#define NN_AVX2_INLINE                                                      \
    __attribute__((target("avx2,fma"), always_inline)) static inline

/* Transposes the 8 x 8 block r[0..8) in place: r[i][j] becomes r[j][i]. */
NN_AVX2_INLINE void nn_transpose_8x8(__m256 r[8])
{
    __m256 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);     /* r0 r1 pairs, low */
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]); /* high */
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

#endif
