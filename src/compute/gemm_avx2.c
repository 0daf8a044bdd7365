/* The AVX2 + FMA path of nn_sgemm: a 6 x 16 micro-kernel and vectorised
 * packing for the blocked driver of gemm.c (read its comment first).
 * Only the functions marked NN_AVX2 use AVX2 (a target attribute, not a
 * build flag), and nn_sgemm calls this path only after nn_cpu_has_avx2()
 * said yes, so one libnn.a runs on any x86-64. */
#include "compute/gemm.h"

#if defined(__x86_64__)

#include "avx2.h"

#define AVX2_MR 6  /* rows of the C tile */
#define AVX2_NR 16 /* columns of the C tile: two 8-float vectors */

/* The vector packers below serve both micro-kernels: the AVX2 one
 * (panels of 6 and 16 lines) and the AVX-512 one of gemm_avx512.c (8 and
 * 32), with 256-bit copies. */

/* row[0 .. panel) = s[0 .. panel) for a panel of 6, 8, 16 or 32 floats. */
NN_AVX2
static inline void copy_line(const float *s, float *row, int panel)
{
    int x = 0;
    for (; x + 8 <= panel; x += 8)
        _mm256_storeu_ps(row + x, _mm256_loadu_ps(s + x));
    if (panel - x >= 4) {
        _mm_storeu_ps(row + x, _mm_loadu_ps(s + x));
        x += 4;
    }
    if (panel - x == 2)
        _mm_storel_pi((__m64 *)(row + x),
                      _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(s + x)));
}

/* Copies the full panels of a block whose values of one k are contiguous
 * (w_step 1). Goes through the source 8 rows (k values) at a time and,
 * for each panel, writes those 8 rows of it: the 8 source rows stay in L1
 * (more rows, at a power-of-two stride, would evict each other) and the
 * writes to a panel are contiguous. */
NN_AVX2
static void pack_rows(const float *src, size_t k_step, int width, int depth,
                      int panel, float *dst)
{
    size_t panel_size = (size_t)depth * panel;
    for (int p0 = 0; p0 < depth; p0 += 8) {
        int p_end = p0 + 8 < depth ? p0 + 8 : depth;
        float *d = dst + (size_t)p0 * panel;
        for (int w0 = 0; w0 < width; w0 += panel, d += panel_size) {
            const float *s = src + p0 * k_step + w0;
            for (int p = 0; p < p_end - p0; p++, s += k_step)
                copy_line(s, d + (size_t)p * panel, panel);
        }
    }
}

/* Copies one full B panel (nr lines, a multiple of 8) whose lines are
 * contiguous along k (k_step 1): takes 8 lines x 8 k, transposes them in
 * registers and writes them as 8 rows (k) of 8 of the panel's lines. The two
 * 8 x 8 blocks of a line's 16 k (one cache line) are done one after the
 * other, so the line is read once even when the lines' stride makes them
 * evict each other. */
NN_AVX2
static void pack_transposed(const float *src, size_t w_step, int depth,
                            int nr, float *dst)
{
    int p = 0;
    for (; p + 16 <= depth; p += 16)
        for (int w0 = 0; w0 < nr; w0 += 8)
            for (int p8 = p; p8 < p + 16; p8 += 8) {
                __m256 r[8]; /* (line, k) */
                for (int i = 0; i < 8; i++)
                    r[i] = _mm256_loadu_ps(src + (w0 + i) * w_step + p8);
                nn_transpose_8x8(r); /* (k, line) */
                for (int q = 0; q < 8; q++)
                    _mm256_storeu_ps(dst + (size_t)(p8 + q) * nr + w0, r[q]);
            }
    if (p < depth)
        nn_gemm_pack_block(src + p, w_step, 1, nr, depth - p, nr,
                           dst + (size_t)p * nr);
}

NN_AVX2
void nn_gemm_pack_block_vec(int mr, int nr, const float *src, size_t w_step,
                            size_t k_step, int width, int depth, int panel,
                            float *dst)
{
    int full = width / panel * panel; /* lines in full panels */
    if (w_step == 1 && (panel == mr || panel == nr))
        pack_rows(src, k_step, full, depth, panel, dst);
    else if (k_step == 1 && panel == nr)
        for (int w0 = 0; w0 < full; w0 += panel)
            pack_transposed(src + w0 * w_step, w_step, depth, nr,
                            dst + (size_t)w0 * depth);
    else
        full = 0;
    if (full < width)
        nn_gemm_pack_block(src + full * w_step, w_step, k_step, width - full,
                           depth, panel, dst + (size_t)full * depth);
}

static void pack_block_avx2(const float *src, size_t w_step, size_t k_step,
                            int width, int depth, int panel, float *dst)
{
    nn_gemm_pack_block_vec(AVX2_MR, AVX2_NR, src, w_step, k_step, width,
                           depth, panel, dst);
}

/* How a tile of C is updated with its accumulators acc. */
enum {
    UPDATE_SET,    /* c = alpha acc           (beta 0: c is not read) */
    UPDATE_ADD,    /* c = acc + c             (alpha 1, beta 1) */
    UPDATE_GENERAL /* c = alpha acc + beta c */
};

/* The new value of the 8 floats at c. */
NN_AVX2 __attribute__((always_inline))
static inline __m256 updated(const float *c, __m256 acc, int mode,
                             float alpha, float beta)
{
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (mode == UPDATE_SET)
        return _mm256_mul_ps(va, acc);
    if (mode == UPDATE_ADD)
        return _mm256_add_ps(acc, _mm256_loadu_ps(c));
    return _mm256_add_ps(_mm256_mul_ps(va, acc),
                         _mm256_mul_ps(vb, _mm256_loadu_ps(c)));
}

/* C (rows, 8 vecs) from the accumulators acc (rows, vecs), with `mode`
 * (constant after inlining, so each mode is a branch-free sequence). */
NN_AVX2 __attribute__((always_inline))
static inline void store_tile(float *c, size_t ldc, const __m256 acc[][2],
                              const int rows, const int vecs, const int mode,
                              float alpha, float beta)
{
    for (int i = 0; i < rows; i++)
        for (int h = 0; h < vecs; h++)
            _mm256_storeu_ps(c + i * ldc + 8 * h,
                             updated(c + i * ldc + 8 * h, acc[i][h], mode,
                                     alpha, beta));
}

/* Edge tiles, cols not a multiple of 8: the last vector of each row is
 * masked (maskload and maskstore touch only the valid floats). */
NN_AVX2 __attribute__((always_inline))
static inline void store_tile_masked(float *c, size_t ldc,
                                     const __m256 acc[][2], const int rows,
                                     const int vecs, int cols, float alpha,
                                     float beta)
{
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < rows; i++)
        for (int h = 0; h < vecs; h++) {
            float *at = c + i * ldc + 8 * h;
            __m256i mask = _mm256_cmpgt_epi32(
                _mm256_set1_epi32(cols - 8 * h),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            __m256 t = _mm256_mul_ps(va, acc[i][h]);
            if (beta != 0.0f)
                t = _mm256_add_ps(
                    t, _mm256_mul_ps(vb, _mm256_maskload_ps(at, mask)));
            _mm256_maskstore_ps(at, mask, t);
        }
}

/* Row i of one k step: (acc0, acc1) += A[i, p] * (b0, b1). */
#define TILE_ROW(i, acc0, acc1)                                             \
    if (rows > (i)) {                                                       \
        __m256 ai = _mm256_broadcast_ss(a + (i) * a_row);                   \
        acc0 = _mm256_fmadd_ps(ai, b0, acc0);                               \
        if (vecs == 2)                                                      \
            acc1 = _mm256_fmadd_ps(ai, b1, acc1);                           \
    }

/* One k step of the tile: the B row (b0, b1), every row's multiply-adds,
 * then a and b move to the next k. */
#define TILE_STEP(a, b)                                                     \
    {                                                                       \
        __m256 b0 = _mm256_load_ps(b), b1 = b0;                             \
        if (vecs == 2)                                                      \
            b1 = _mm256_load_ps((b) + 8);                                   \
        TILE_ROW(0, c00, c01)                                               \
        TILE_ROW(1, c10, c11)                                               \
        TILE_ROW(2, c20, c21)                                               \
        TILE_ROW(3, c30, c31)                                               \
        TILE_ROW(4, c40, c41)                                               \
        TILE_ROW(5, c50, c51)                                               \
        (a) += a_k;                                                         \
        (b) += AVX2_NR;                                                     \
    }

/* C (rows, cols) = alpha * sum_p A[0:rows, p] B[p, 0:cols] + beta * C for
 * rows <= 6 and 8 (vecs - 1) < cols <= 8 vecs. rows and vecs are
 * constants after inlining, so each (rows, vecs) pair becomes its own
 * kernel: the 6 x 16 one keeps its tile in 12 ymm registers (c00 .. c51),
 * with 2 more for the B row and 1 for the broadcast A value, and per k
 * step does 2 loads, 6 broadcasts and 12 FMAs. A smaller one only touches
 * its rows, so an A read in place is never read past its last row.
 * a: A panel, A[i, p] = a[i * a_row + p * a_k];
 * b: packed B panel (kc, 16), 32-byte aligned. */
NN_AVX2 __attribute__((always_inline))
static inline void tile_kernel(int kc, const float *a, size_t a_row,
                               size_t a_k, const float *b, const int rows,
                               const int vecs, int cols, float *c, size_t ldc,
                               float alpha, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    for (int p = 0; p < kc; p++)
        TILE_STEP(a, b)

    {
        const __m256 acc[AVX2_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                        {c30, c31}, {c40, c41}, {c50, c51}};
        if (cols != 8 * vecs)
            store_tile_masked(c, ldc, acc, rows, vecs, cols, alpha, beta);
        else if (beta == 0.0f)
            store_tile(c, ldc, acc, rows, vecs, UPDATE_SET, alpha, beta);
        else if (alpha == 1.0f && beta == 1.0f)
            store_tile(c, ldc, acc, rows, vecs, UPDATE_ADD, alpha, beta);
        else
            store_tile(c, ldc, acc, rows, vecs, UPDATE_GENERAL, alpha, beta);
    }
}

/* Every (rows, vecs) a tile may need, for the kernels' definitions, and
 * the table of prefix_ROWSxVECS functions indexed [rows - 1][vecs - 1]. */
#define EACH_TILE(X)                                                        \
    X(1, 1) X(1, 2) X(2, 1) X(2, 2) X(3, 1) X(3, 2)                         \
    X(4, 1) X(4, 2) X(5, 1) X(5, 2) X(6, 1) X(6, 2)
#define TILE_TABLE(prefix)                                                  \
    {{prefix##_1x1, prefix##_1x2}, {prefix##_2x1, prefix##_2x2},            \
     {prefix##_3x1, prefix##_3x2}, {prefix##_4x1, prefix##_4x2},            \
     {prefix##_5x1, prefix##_5x2}, {prefix##_6x1, prefix##_6x2}}

/* The 12 kernels: tile_kernel for each (rows, vecs). */
#define DEFINE_TILE_KERNEL(rows, vecs)                                      \
    NN_AVX2 static void kernel_##rows##x##vecs(                             \
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

/* The micro-kernel of the AVX2 path: picks the kernel that computes just
 * the rows and 8-column vectors the tile needs (full tiles: 6 x 2). */
static void kernel_avx2(int kc, const float *a, size_t a_row, size_t a_k,
                        const float *b, int rows, int cols, float *c,
                        size_t ldc, float alpha, float beta)
{
    static const tile_kernel_fn kernels[AVX2_MR][2] = TILE_TABLE(kernel);
    kernels[rows - 1][cols > 8](kc, a, a_row, a_k, b, cols, c, ldc, alpha,
                                beta);
}

/* The 12 accumulators of a 6 x 16 tile, for the macros below. */
#define TREE_ACCS(X)                                                        \
    X(0, c00) X(1, c01) X(2, c10) X(3, c11) X(4, c20) X(5, c21)             \
    X(6, c30) X(7, c31) X(8, c40) X(9, c41) X(10, c50) X(11, c51)
#define TREE_ZERO(i, acc) acc = _mm256_setzero_ps();
#define TREE_ADD(i, acc) acc = _mm256_add_ps(acc, level[i]);
#define TREE_KEEP(i, acc) level[i] = acc;
#define TREE_LOAD(i, acc) acc = level[i];

/* A tile of C (rows <= 6, cols <= 16 as in tile_kernel) += the tree of
 * its shards' products: each product summed in registers as tile_kernel
 * sums it (c00 .. c51), then added into a binary counter of finished
 * subtrees kept in memory (see tree_tile in gemm.c, which this repeats
 * with the tile in registers). */
NN_AVX2 __attribute__((always_inline))
static inline void tree_tile_kernel(const int *bounds, int shards,
                                    const float *a_tile, size_t a_row,
                                    size_t a_k, const float *b, const int rows,
                                    const int vecs, int cols, float *c,
                                    size_t ldc)
{
    __m256 levels[NN_GEMM_TREE_LEVELS][2 * AVX2_MR];
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    unsigned filled = 0;
    int l;
    for (int s = 0; s < shards; s++) {
        const float *a = a_tile + (size_t)(bounds[s] - bounds[0]) * a_k;
        const float *bp = b + (size_t)(bounds[s] - bounds[0]) * AVX2_NR;
        int kc = bounds[s + 1] - bounds[s];
        TREE_ACCS(TREE_ZERO)
        for (int p = 0; p < kc; p++)
            TILE_STEP(a, bp)
        for (l = 0; filled >> l & 1u; l++) {
            const __m256 *level = levels[l];
            TREE_ACCS(TREE_ADD)
            filled &= ~(1u << l);
        }
        {
            __m256 *level = levels[l];
            TREE_ACCS(TREE_KEEP)
        }
        filled |= 1u << l;
    }
    for (l = 0; !(filled >> l & 1u); l++)
        ;
    {
        const __m256 *level = levels[l];
        TREE_ACCS(TREE_LOAD)
    }
    while (++l < NN_GEMM_TREE_LEVELS)
        if (filled >> l & 1u) {
            const __m256 *level = levels[l];
            TREE_ACCS(TREE_ADD)
        }
    {
        const __m256 acc[AVX2_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                        {c30, c31}, {c40, c41}, {c50, c51}};
        if (cols != 8 * vecs)
            store_tile_masked(c, ldc, acc, rows, vecs, cols, 1.0f, 1.0f);
        else
            store_tile(c, ldc, acc, rows, vecs, UPDATE_ADD, 1.0f, 1.0f);
    }
}

/* The 12 tree kernels: tree_tile_kernel for each (rows, vecs). */
#define DEFINE_TREE_KERNEL(rows, vecs)                                      \
    NN_AVX2 static void tree_##rows##x##vecs(                               \
        const int *bounds, int shards, const float *a, size_t a_row,      \
        size_t a_k, const float *b, int cols, float *c, size_t ldc)         \
    {                                                                       \
        tree_tile_kernel(bounds, shards, a, a_row, a_k, b, rows, vecs,    \
                         cols, c, ldc);                                     \
    }
EACH_TILE(DEFINE_TREE_KERNEL)

typedef void (*tree_kernel_fn)(const int *bounds, int shards,
                               const float *a, size_t a_row, size_t a_k,
                               const float *b, int cols, float *c, size_t ldc);

/* The tree micro-kernel of the AVX2 path, for any tile. */
static void tree_kernel_avx2(const int *bounds, int shards, const float *a,
                             size_t a_row, size_t a_k, const float *b,
                             int rows, int cols, float *c, size_t ldc)
{
    static const tree_kernel_fn kernels[AVX2_MR][2] = TILE_TABLE(tree);
    kernels[rows - 1][cols > 8](bounds, shards, a, a_row, a_k, b, cols, c,
                                ldc);
}

static const nn_gemm_kernel avx2_kernel = {AVX2_MR, AVX2_NR, 1, kernel_avx2,
                                           pack_block_avx2, tree_kernel_avx2};

void nn_sgemm_avx2(int trans_a, int trans_b, int m, int n, int k,
                   float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc)
{
    nn_sgemm_blocked(&avx2_kernel, trans_a, trans_b, m, n, k, alpha, a, lda,
                     b, ldb, beta, c, ldc);
}

int nn_sgemm_tree_avx2(int trans_a, int trans_b, int m, int n,
                       const int *bounds, int shards, const float *a,
                       int lda, const float *b, int ldb, float *c, int ldc)
{
    return nn_sgemm_tree_blocked(&avx2_kernel, trans_a, trans_b, m, n, bounds,
                                 shards, a, lda, b, ldb, c, ldc);
}

#else /* not x86-64: nothing here, but ISO C wants a declaration */

typedef int nn_gemm_avx2_absent;

#endif
