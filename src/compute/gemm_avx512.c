/* The AVX-512 path of nn_sgemm: an 8 x 32 micro-kernel (with
 * gemm_avx2.c's vector packing) for the blocked driver of gemm_blocked.c
 * (read its comment first), run on CPUs that have AVX-512F (nn_cpu_has_avx512). It gives the
 * same bits as the AVX2 path (same k blocks, products summed in k order),
 * so a net trains to the same weights on either. Only the functions marked NN_AVX512 use AVX-512 (a target
 * attribute, not a build flag), so one libnn.a runs on any x86-64. */
#include "compute/gemm.h"

#if defined(__x86_64__)

#include "avx2.h"

/* A function compiled for AVX-512F (with AVX2 + FMA). */
#define NN_AVX512 __attribute__((target("avx512f,avx2,fma")))

#define AVX512_MR 8  /* rows of the C tile */
#define AVX512_NR 32 /* columns of the C tile: two 16-float vectors */

/* Packing: gemm_avx2.c's vector packer, for panels of 8 (a transposed A)
 * and 32 (B) lines. */
static void pack_block_avx512(const float *src, size_t w_step, size_t k_step,
                              int width, int depth, int panel, float *dst)
{
    nn_gemm_pack_block_vec(AVX512_MR, AVX512_NR, src, w_step, k_step, width,
                           depth, panel, dst);
}

/* Row i of one k step: (acc0, acc1) += A[i, p] * (b0, b1). */
#define TILE_ROW(i, acc0, acc1)                                             \
    if (rows > (i)) {                                                       \
        __m512 ai = _mm512_set1_ps(a[(i) * a_row]);                         \
        acc0 = _mm512_fmadd_ps(ai, b0, acc0);                               \
        if (vecs == 2)                                                      \
            acc1 = _mm512_fmadd_ps(ai, b1, acc1);                           \
    }

/* C (rows, cols) = alpha * sum_p A[0:rows, p] B[p, 0:cols] + beta * C for
 * rows <= 8 and 16 (vecs - 1) < cols <= 16 vecs; rows and vecs are
 * constants after inlining. The 8 x 32 tile lives in 16 zmm registers
 * (c00 .. c71), with 2 more for the B row and one for the broadcast A
 * value: per k step 2 loads, 8 broadcasts and 16 FMAs. A smaller one only
 * touches its rows, so an A read in place is never read past its last
 * row. Each value of C sums its products in k order, one FMA each.
 * a: A panel, A[i, p] = a[i * a_row + p * a_k]; b: packed B panel (kc, 32). */
NN_AVX512 __attribute__((always_inline))
static inline void tile_kernel(int kc, const float *a, size_t a_row,
                               size_t a_k, const float *b, const int rows,
                               const int vecs, int cols, float *c, size_t ldc,
                               float alpha, float beta)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);

    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = b0;
        if (vecs == 2)
            b1 = _mm512_loadu_ps(b + 16);
        TILE_ROW(0, c00, c01)
        TILE_ROW(1, c10, c11)
        TILE_ROW(2, c20, c21)
        TILE_ROW(3, c30, c31)
        TILE_ROW(4, c40, c41)
        TILE_ROW(5, c50, c51)
        TILE_ROW(6, c60, c61)
        TILE_ROW(7, c70, c71)
        a += a_k;
        b += AVX512_NR;
    }

    {
        const __m512 acc[AVX512_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                          {c30, c31}, {c40, c41}, {c50, c51},
                                          {c60, c61}, {c70, c71}};
        for (int i = 0; i < rows; i++)
            for (int h = 0; h < vecs; h++) {
                float *at = c + i * ldc + 16 * h;
                int left = cols - 16 * h;
                __mmask16 mask = left >= 16 ? (__mmask16)0xffff
                                            : (__mmask16)((1u << left) - 1u);
                /* c = alpha acc + beta c; beta 0 does not read c */
                __m512 t = _mm512_mul_ps(va, acc[i][h]);
                if (beta != 0.0f)
                    t = _mm512_add_ps(
                        t, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mask, at)));
                _mm512_mask_storeu_ps(at, mask, t);
            }
    }
}

/* Every (rows, vecs) a tile may need, and the table of kernel_ROWSxVECS
 * indexed [rows - 1][vecs - 1]. */
#define EACH_TILE(X)                                                        \
    X(1, 1) X(1, 2) X(2, 1) X(2, 2) X(3, 1) X(3, 2) X(4, 1) X(4, 2)         \
    X(5, 1) X(5, 2) X(6, 1) X(6, 2) X(7, 1) X(7, 2) X(8, 1) X(8, 2)

#define DEFINE_TILE_KERNEL(rows, vecs)                                      \
    NN_AVX512 static void kernel_##rows##x##vecs(                           \
        int kc, const float *a, size_t a_row, size_t a_k, const float *b,   \
        int cols, float *c, size_t ldc, float alpha, float beta)            \
    {                                                                       \
        tile_kernel(kc, a, a_row, a_k, b, rows, vecs, cols, c, ldc, alpha,  \
                    beta);                                                  \
    }
EACH_TILE(DEFINE_TILE_KERNEL)

typedef void (*tile_kernel_fn)(int kc, const float *a, size_t a_row,
                               size_t a_k, const float *b, int cols, float *c,
                               size_t ldc, float alpha, float beta);

/* The micro-kernel: the one computing just the rows and 16-column vectors
 * the tile needs (full tiles: 8 x 2). */
static void kernel_avx512(int kc, const float *a, size_t a_row, size_t a_k,
                          const float *b, int rows, int cols, float *c,
                          size_t ldc, float alpha, float beta)
{
    static const tile_kernel_fn kernels[AVX512_MR][2] = {
        {kernel_1x1, kernel_1x2}, {kernel_2x1, kernel_2x2},
        {kernel_3x1, kernel_3x2}, {kernel_4x1, kernel_4x2},
        {kernel_5x1, kernel_5x2}, {kernel_6x1, kernel_6x2},
        {kernel_7x1, kernel_7x2}, {kernel_8x1, kernel_8x2}};
    kernels[rows - 1][cols > 16](kc, a, a_row, a_k, b, cols, c, ldc, alpha,
                                 beta);
}

static const nn_gemm_kernel avx512_kernel = {
    AVX512_MR, AVX512_NR, 1, kernel_avx512, pack_block_avx512, NULL};

void nn_sgemm_avx512(int trans_a, int trans_b, int m, int n, int k,
                     float alpha, const float *a, int lda, const float *b,
                     int ldb, float beta, float *c, int ldc)
{
    nn_sgemm_blocked(&avx512_kernel, trans_a, trans_b, m, n, k, alpha, a, lda,
                     b, ldb, beta, c, ldc);
}

#else /* not x86-64: nothing here, but ISO C wants a declaration */

typedef int nn_gemm_avx512_absent;

#endif
