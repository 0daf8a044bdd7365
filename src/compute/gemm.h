/* The paths behind nn_sgemm (src/compute/gemm.c, gemm_avx2.c): cache
 * blocking and packing around a register-blocked micro-kernel. */
#ifndef NN_KERNELS_GEMM_H
#define NN_KERNELS_GEMM_H

#include <stddef.h>

#include "nn.h"
#include "nn/advanced.h"

/* Packs a block of `width` lines (rows of op(A) or columns of op(B)) of
 * `depth` values, value (w, p) at src[w * w_step + p * k_step], into
 * panels of `panel` lines: dst (ceil(width / panel), depth, panel), the
 * last panel padded with zeros. */
typedef void (*nn_gemm_pack_fn)(const float *src, size_t w_step,
                                size_t k_step, int width, int depth,
                                int panel, float *dst);

/* A register-blocked micro-kernel and the packer that feeds it. run
 * computes the first rows x cols (<= mr x nr) values of
 * C = alpha * A panel (mr, kc) * B panel (kc, nr) + beta * C, where A
 * panel value (i, p) is a[i * a_row + p * a_k] (packed: a_row 1, a_k mr)
 * and the B panel is packed (kc, nr); beta == 0 does not read C. */
typedef struct {
    int mr, nr;           /* tile of C kept in registers */
    int reads_a_in_place; /* 1: run takes any a_row, a_k; 0: packed A only */
    void (*run)(int kc, const float *a, size_t a_row, size_t a_k,
                const float *b, int rows, int cols, float *c, size_t ldc,
                float alpha, float beta);
    nn_gemm_pack_fn pack;
    /* The first rows x cols values of a tile of C += the tree of the
     * products of its k shards (see nn_sgemm_tree_blocked), each product
     * as run makes it with alpha 1 and beta 0; b is the packed panel of
     * all the shards. NULL: nn_sgemm_tree_blocked calls run once per
     * shard instead. */
    void (*run_tree)(const int *bounds, int shards, const float *a,
                     size_t a_row, size_t a_k, const float *b, int rows,
                     int cols, float *c, size_t ldc);
} nn_gemm_kernel;

/* Most shards a tree may have (nn_sgemm_tree_blocked), and the depth of
 * the binary counter that builds it. */
#define NN_GEMM_TREE_LEVELS 9

/* The plain C packer (any panel, any strides). */
void nn_gemm_pack_block(const float *src, size_t w_step, size_t k_step,
                        int width, int depth, int panel, float *dst);

/* nn_gemm_pack_block with AVX2 vector copies (x86-64 with AVX2 only) for
 * the full panels of the two layouts met: values of one k contiguous (B,
 * or a transposed A; panel mr or nr), and B panels whose lines are
 * contiguous along k (a transposed B: the dense layer's weights; panel nr,
 * a multiple of 8). Anything else, and a last partial panel, takes the
 * plain C packer. */
void nn_gemm_pack_block_vec(int mr, int nr, const float *src, size_t w_step,
                            size_t k_step, int width, int depth, int panel,
                            float *dst);

/* nn_sgemm with cache blocking and packing around the given micro-kernel. */
void nn_sgemm_blocked(const nn_gemm_kernel *kernel, int trans_a, int trans_b,
                      int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c,
                      int ldc);

/* C (m, n) += the tree over shards s < shards of op(A)[:, k_s]
 * op(B)[k_s, :], k_s = [bounds[s], bounds[s + 1]): each shard's product
 * as nn_sgemm_blocked with that kernel, k = the shard's length, alpha 1
 * and beta 0 would give it, added as nn_tree_floats adds (pairwise, an odd
 * last one carried up), then added to C. Returns 0, having done nothing,
 * when a shard is longer than one k block or the k values of one panel
 * do not fit the packing buffer: then the caller makes the shards'
 * products itself, with the same result. */
int nn_sgemm_tree_blocked(const nn_gemm_kernel *kernel, int trans_a,
                          int trans_b, int m, int n, const int *bounds,
                          int shards, const float *a, int lda,
                          const float *b, int ldb, float *c, int ldc);
/* nn_sgemm_tree_blocked with the kernel of a choice of kernels. */
typedef int (*nn_sgemm_tree_fn)(int trans_a, int trans_b, int m, int n,
                                const int *bounds, int shards,
                                const float *a, int lda, const float *b,
                                int ldb, float *c, int ldc);
nn_sgemm_tree_fn nn_sgemm_tree_for(nn_kernels kernels);
#if defined(__x86_64__)
int nn_sgemm_tree_avx2(int trans_a, int trans_b, int m, int n,
                       const int *bounds, int shards, const float *a,
                       int lda, const float *b, int ldb, float *c, int ldc);
#endif

/* nn_sgemm in plain C (any CPU). */
void nn_sgemm_portable(int trans_a, int trans_b, int m, int n, int k,
                       float alpha, const float *a, int lda, const float *b,
                       int ldb, float beta, float *c, int ldc);
#if defined(__x86_64__)
/* nn_sgemm with a 6x16 AVX2+FMA micro-kernel: only if nn_cpu_has_avx2(). */
void nn_sgemm_avx2(int trans_a, int trans_b, int m, int n, int k,
                   float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);
#endif

#if defined(__x86_64__)
/* nn_sgemm with an 8x32 AVX-512F micro-kernel: only if
 * nn_cpu_has_avx512(). The same bits as nn_sgemm_avx2. */
void nn_sgemm_avx512(int trans_a, int trans_b, int m, int n, int k,
                     float alpha, const float *a, int lda, const float *b,
                     int ldb, float beta, float *c, int ldc);
#endif

#endif /* NN_KERNELS_GEMM_H */
