/* The gemm's entry points: nn_sgemm (the fastest path this CPU runs), the
 * portable path (the blocked driver of gemm_blocked.c around a plain C
 * micro-kernel), and the choice of path for each nn_kernels value. The
 * AVX2 micro-kernels are gemm_avx2.c's, the AVX-512 ones gemm_avx512.c's:
 * both give the same bits (each value of C sums its products in k order,
 * one FMA each, over the same k blocks; test_gemm checks it), so which one
 * a CPU runs never changes a result. */
#include "compute/gemm.h"
#include "core/util.h"

/* The portable micro-kernel's tile: 4 x 8 accumulators fit in the 16
 * registers of baseline x86-64 (SSE2) as well as in those of other CPUs. */
#define PORTABLE_MR 4
#define PORTABLE_NR 8

/* c (m, n) = alpha * acc (m, n) + beta * c; beta == 0 does not read c. */
static void tile_update(int m, int n, const float *acc, size_t ld_acc,
                        float alpha, float beta, float *c, size_t ldc)
{
    for (int i = 0; i < m; i++) {
        const float *t = acc + i * ld_acc;
        float *row = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++)
                row[j] = alpha * t[j];
        else
            for (int j = 0; j < n; j++)
                row[j] = alpha * t[j] + beta * row[j];
    }
}

/* Plain C micro-kernel over a packed A panel (a_row 1, a_k MR); the fixed
 * loop bounds let the compiler keep the tile in vector registers. */
static void kernel_portable(int kc, const float *a, size_t a_row,
                            size_t a_k, const float *b, int rows, int cols,
                            float *c, size_t ldc, float alpha, float beta)
{
    float acc[PORTABLE_MR][PORTABLE_NR] = {{0.0f}}; /* (MR, NR) */
    (void)a_row;
    (void)a_k;
    for (int p = 0; p < kc; p++) {
        for (int i = 0; i < PORTABLE_MR; i++)
            for (int j = 0; j < PORTABLE_NR; j++)
                acc[i][j] += a[i] * b[j];
        a += PORTABLE_MR;
        b += PORTABLE_NR;
    }
    tile_update(rows, cols, &acc[0][0], PORTABLE_NR, alpha, beta, c, ldc);
}

static const nn_gemm_kernel portable_kernel = {
    PORTABLE_MR, PORTABLE_NR, 0, kernel_portable, nn_gemm_pack_block, NULL};

void nn_sgemm_portable(int trans_a, int trans_b, int m, int n, int k,
                       float alpha, const float *a, int lda, const float *b,
                       int ldb, float beta, float *c, int ldc)
{
    nn_sgemm_blocked(&portable_kernel, trans_a, trans_b, m, n, k, alpha, a,
                     lda, b, ldb, beta, c, ldc);
}

void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc)
{
#if defined(__x86_64__)
    if (nn_cpu_has_avx512()) {
        nn_sgemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                        beta, c, ldc);
        return;
    }
    if (nn_cpu_has_avx2()) {
        nn_sgemm_avx2(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                      c, ldc);
        return;
    }
#endif
    nn_sgemm_portable(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                      c, ldc);
}

static int sgemm_tree_portable(int trans_a, int trans_b, int m, int n,
                               const int *bounds, int shards,
                               const float *a, int lda, const float *b,
                               int ldb, float *c, int ldc)
{
    return nn_sgemm_tree_blocked(&portable_kernel, trans_a, trans_b, m, n,
                                 bounds, shards, a, lda, b, ldb, c, ldc);
}

nn_sgemm_tree_fn nn_sgemm_tree_for(nn_kernels kernels)
{
#if defined(__x86_64__)
    if (kernels == NN_KERNELS_AUTO && nn_cpu_has_avx2())
        return nn_sgemm_tree_avx2;
#endif
    return sgemm_tree_portable;
}

nn_sgemm_fn nn_sgemm_for(nn_kernels kernels)
{
    return kernels == NN_KERNELS_AUTO ? nn_sgemm : nn_sgemm_portable;
}
