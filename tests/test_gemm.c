/* nn_sgemm and each of its paths against a naive double-precision product.
 *
 * Tolerance: blocked float summation of k products obeys
 *   |c - exact| <= gamma * (|alpha| sum_p |a_ip b_pj| + |beta c_ij|),
 * gamma = (k + 4) u with u = 2^-24 (k + 2 roundings in the sum, two for
 * alpha and beta). A wrong, missing or doubled term is of the size of one
 * product, about k times larger than that bound, so it cannot hide. */
#include "gradcheck.h"
#include "core/util.h"
#include "compute/gemm.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


/* The paths this CPU can run, nn_sgemm itself last. */
/* A named sgemm path. */
typedef struct {
    const char *name;
    nn_sgemm_fn run;
} gemm_path;

static int gemm_paths(gemm_path paths[4])
{
    int count = 0;
    paths[count++] = (gemm_path){"portable", nn_sgemm_portable};
#if defined(__x86_64__)
    if (nn_cpu_has_avx2())
        paths[count++] = (gemm_path){"avx2", nn_sgemm_avx2};
    if (nn_cpu_has_avx512())
        paths[count++] = (gemm_path){"avx512", nn_sgemm_avx512};
#endif
    paths[count++] = (gemm_path){"nn_sgemm", nn_sgemm};
    return count;
}

/* One product to check: sizes, transposes, scalars and extra leading
 * dimension (each of lda, ldb, ldc is the stored width plus pad). */
typedef struct {
    int trans_a, trans_b, m, n, k;
    float alpha, beta;
    int pad;
} gemm_case;

static const float SENTINEL = 12345.0f; /* fills C's padding columns */

static void fill_uniform(float *x, size_t count, nn_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        x[i] = 2.0f * nn_rng_uniform(rng) - 1.0f;
}

/* Runs one case on one path and compares every element of C with the
 * reference; C's padding must be left alone, and with beta == 0 the NaNs
 * C starts with must not come through. */
static void check_case(const gemm_path *path, const gemm_case *gc,
                       nn_rng *rng)
{
    /* Stored shapes: A (m, k) or (k, m) when transposed, B (k, n) or (n, k). */
    int a_rows = gc->trans_a ? gc->k : gc->m, a_cols = gc->trans_a ? gc->m : gc->k;
    int b_rows = gc->trans_b ? gc->n : gc->k, b_cols = gc->trans_b ? gc->k : gc->n;
    int lda = a_cols + gc->pad, ldb = b_cols + gc->pad, ldc = gc->n + gc->pad;
    size_t a_count = (size_t)a_rows * lda + 1, b_count = (size_t)b_rows * ldb + 1;
    size_t c_count = (size_t)gc->m * ldc + 1;
    float *a = malloc(a_count * sizeof *a), *b = malloc(b_count * sizeof *b);
    float *c = malloc(c_count * sizeof *c), *c0 = malloc(c_count * sizeof *c0);
    double gamma = (gc->k + 4) * (FLT_EPSILON / 2);

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(c0);
    fill_uniform(a, a_count, rng);
    fill_uniform(b, b_count, rng);
    fill_uniform(c0, c_count, rng);
    for (int i = 0; i < gc->m; i++)
        for (int j = gc->n; j < ldc; j++)
            c0[(size_t)i * ldc + j] = SENTINEL;
    if (gc->beta == 0.0f)
        for (int i = 0; i < gc->m; i++)
            for (int j = 0; j < gc->n; j++)
                c0[(size_t)i * ldc + j] = NAN;
    memcpy(c, c0, c_count * sizeof *c);

    path->run(gc->trans_a, gc->trans_b, gc->m, gc->n, gc->k, gc->alpha, a,
              lda, b, ldb, gc->beta, c, ldc);

    for (int i = 0; i < gc->m; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            double sum = 0.0, abs_sum = 0.0, expect, bound;
            if (j >= gc->n) {
                if (c[at] != SENTINEL)
                    fail_msg("%s: C padding (%d, %d) overwritten", path->name,
                             i, j);
                continue;
            }
            for (int p = 0; p < gc->k; p++) {
                double av = gc->trans_a ? a[(size_t)p * lda + i]
                                        : a[(size_t)i * lda + p];
                double bv = gc->trans_b ? b[(size_t)j * ldb + p]
                                        : b[(size_t)p * ldb + j];
                sum += av * bv;
                abs_sum += fabs(av * bv);
            }
            expect = (double)gc->alpha * sum;
            bound = gamma * fabs((double)gc->alpha) * abs_sum;
            if (gc->beta != 0.0f) {
                expect += (double)gc->beta * c0[at];
                bound += gamma * fabs((double)gc->beta * c0[at]);
            }
            if (!(fabs(c[at] - expect) <= bound + 1e-30))
                fail_msg("%s: ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g "
                         "pad=%d: C[%d][%d] = %.9g, expected %.9g (bound %g)",
                         path->name, gc->trans_a, gc->trans_b, gc->m, gc->n,
                         gc->k, (double)gc->alpha, (double)gc->beta, gc->pad,
                         i, j, (double)c[at], expect, bound);
        }
    }
    free(a);
    free(b);
    free(c);
    free(c0);
}

/* check_case on every path. */
static void check_all_paths(const gemm_case *gc, nn_rng *rng)
{
    gemm_path paths[4];
    int count = gemm_paths(paths);
    for (int p = 0; p < count; p++)
        check_case(&paths[p], gc, rng);
}

/* Every transpose pair over odd sizes around the kernels' tiles (6 x 16,
 * 4 x 8), with beta 0 (C full of NaN), so every edge case is met. */
static void test_gemm_odd_sizes(void **state)
{
    static const int sizes[] = {1, 7, 17, 63, 65, 129};
    const int count = (int)(sizeof sizes / sizeof sizes[0]);
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 1);
    for (int t = 0; t < 4; t++)
        for (int im = 0; im < count; im++)
            for (int in = 0; in < count; in++)
                for (int ik = 0; ik < count; ik++) {
                    gemm_case gc = {t >> 1, t & 1, sizes[im], sizes[in],
                                    sizes[ik], 1.0f, 0.0f, 0};
                    check_all_paths(&gc, &rng);
                }
}

/* Shapes cut into several cache blocks in each direction (k > 256; n,
 * and m when A is packed, beyond one block), with uneven edges. */
static void test_gemm_many_blocks(void **state)
{
    static const int shapes[][3] = {
        {241, 257, 129}, {250, 530, 300}, {487, 33, 385}, {13, 700, 257}};
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 2);
    for (int t = 0; t < 4; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            gemm_case gc = {t >> 1, t & 1, shapes[s][0], shapes[s][1],
                            shapes[s][2], 1.0f, 1.0f, 0};
            check_all_paths(&gc, &rng);
        }
}

/* alpha and beta: beta 0 (NaN in C), 1, other values, negative ones. */
static void test_gemm_alpha_beta(void **state)
{
    static const float scalars[][2] = {{1.0f, 0.0f},   {1.0f, 1.0f},
                                       {0.5f, -2.0f},  {-1.5f, 0.25f},
                                       {2.0f, 0.0f},   {-1.0f, 1.0f}};
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 3);
    for (int t = 0; t < 4; t++)
        for (size_t s = 0; s < sizeof scalars / sizeof scalars[0]; s++) {
            gemm_case gc = {t >> 1, t & 1, 19, 37, 71,
                            scalars[s][0], scalars[s][1], 0};
            check_all_paths(&gc, &rng);
            gc.m = 70, gc.n = 33, gc.k = 140;
            check_all_paths(&gc, &rng);
        }
}

/* Leading dimensions larger than the widths: padding is neither read
 * into the result nor written. */
static void test_gemm_leading_dimensions(void **state)
{
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 4);
    for (int t = 0; t < 4; t++)
        for (int pad = 1; pad <= 9; pad += 4) {
            gemm_case gc = {t >> 1, t & 1, 23, 45, 67, 1.0f, 0.5f, pad};
            check_all_paths(&gc, &rng);
            gc.m = 131, gc.n = 17, gc.k = 200;
            check_all_paths(&gc, &rng);
        }
}

/* The products of the preset nets at batch 64 (see examples/bench/nn_bench.c):
 * dense forward NT, backward TN and NN; conv forward NN, backward NT, TN. */
static void test_gemm_preset_shapes(void **state)
{
    static const int shapes[][5] = {
        /* ta, tb, m, n, k */
        {0, 1, 64, 100, 784}, {1, 0, 100, 784, 64}, {0, 0, 64, 784, 100},
        {0, 1, 64, 10, 100},  {1, 0, 10, 100, 64},  {0, 0, 64, 100, 10},
        {0, 1, 64, 256, 256}, {0, 1, 64, 10, 256},  {0, 0, 64, 256, 10},
        {0, 0, 16, 784, 25},  {0, 1, 16, 25, 784},  {0, 0, 16, 196, 400},
        {0, 1, 16, 400, 196}, {1, 0, 400, 196, 16}, {0, 0, 64, 676, 9},
        {0, 0, 64, 576, 576}, {0, 1, 64, 576, 576}, {1, 0, 576, 576, 64},
        {0, 0, 128, 144, 576}, {0, 1, 128, 576, 144}, {1, 0, 576, 144, 128},
        {0, 0, 128, 100, 1152}, {0, 1, 128, 1152, 100},
        {1, 0, 1152, 100, 128}};
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 5);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        gemm_case gc = {shapes[s][0], shapes[s][1], shapes[s][2],
                        shapes[s][3], shapes[s][4], 1.0f, 1.0f, 0};
        check_all_paths(&gc, &rng);
    }
}

/* alpha == 0 or k == 0 only scales C (beta 0 writes zeros, even over
 * NaN); m == 0 or n == 0 touches nothing. */
static void test_gemm_degenerate(void **state)
{
    gemm_path paths[4];
    int count = gemm_paths(paths);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 4, 5, 6}, c[4];
    (void)state;
    for (int p = 0; p < count; p++) {
        for (int i = 0; i < 4; i++)
            c[i] = NAN;
        paths[p].run(0, 0, 2, 2, 3, 0.0f, a, 3, b, 2, 0.0f, c, 2);
        for (int i = 0; i < 4; i++)
            assert_true(c[i] == 0.0f);
        for (int i = 0; i < 4; i++)
            c[i] = (float)i;
        paths[p].run(0, 0, 2, 2, 0, 1.0f, a, 3, b, 2, 2.0f, c, 2);
        for (int i = 0; i < 4; i++)
            assert_true(c[i] == 2.0f * (float)i);
        paths[p].run(0, 0, 0, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
        paths[p].run(0, 0, 2, 0, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
        for (int i = 0; i < 4; i++)
            assert_true(c[i] == 2.0f * (float)i);
    }
}

/* The same call twice gives the same bits, and nn_sgemm gives exactly
 * what the path it picks gives. */
static void test_gemm_deterministic(void **state)
{
    int m = 131, n = 270, k = 300;
    size_t a_count = (size_t)m * k, b_count = (size_t)k * n;
    size_t c_count = (size_t)m * n;
    float *a = malloc(a_count * sizeof *a), *b = malloc(b_count * sizeof *b);
    float *c1 = malloc(c_count * sizeof *c1), *c2 = malloc(c_count * sizeof *c2);
    nn_sgemm_fn picked = nn_sgemm_portable;
    nn_rng rng;
    (void)state;
#if defined(__x86_64__)
    if (nn_cpu_has_avx2())
        picked = nn_sgemm_avx2;
    if (nn_cpu_has_avx512())
        picked = nn_sgemm_avx512;
#endif
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c1);
    assert_non_null(c2);
    nn_rng_seed(&rng, 6);
    fill_uniform(a, a_count, &rng);
    fill_uniform(b, b_count, &rng);
    for (int t = 0; t < 4; t++) {
        int ta = t >> 1, tb = t & 1;
        int lda = ta ? m : k, ldb = tb ? k : n;
        memset(c1, 0, c_count * sizeof *c1);
        memset(c2, 0, c_count * sizeof *c2);
        picked(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.0f, c1, n);
        picked(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.0f, c2, n);
        assert_memory_equal(c1, c2, c_count * sizeof *c1);
        nn_sgemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.0f, c2, n);
        assert_memory_equal(c1, c2, c_count * sizeof *c1);
    }
    free(a);
    free(b);
    free(c1);
    free(c2);
}

/* The AVX-512 path gives the same bits as the AVX2 one on every shape
 * the other tests use (odd edges, several cache blocks, alpha and beta,
 * leading dimensions): nn_sgemm picks it where the CPU has it, and a net
 * must train to the same weights on either. */
static void test_gemm_avx512_same_bits_as_avx2(void **state)
{
#if defined(__x86_64__)
    static const int shapes[][3] = {
        {1, 1, 1},     {7, 15, 3},    {8, 32, 9},     {9, 33, 17},
        {23, 45, 67},  {64, 784, 288}, {241, 257, 129}, {250, 530, 300},
        {487, 33, 385}, {13, 700, 257}, {128, 64, 2304}, {10, 64, 1000}};
    static const float scalars[][2] = {
        {1.0f, 0.0f}, {1.0f, 1.0f}, {0.75f, 0.0f}, {-1.3f, 0.3f}};
    size_t cases = 0;
    nn_rng rng;
    (void)state;
    if (!nn_cpu_has_avx512() || !nn_cpu_has_avx2()) {
        print_message("  this CPU lacks AVX-512F: nothing to compare\n");
        return;
    }
    nn_rng_seed(&rng, 11);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (size_t v = 0; v < sizeof scalars / sizeof scalars[0]; v++) {
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                int ta = t >> 1, tb = t & 1, pad = (int)(s % 3);
                int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad;
                int ldc = n + pad;
                size_t a_count = (size_t)(ta ? k : m) * lda;
                size_t b_count = (size_t)(tb ? n : k) * ldb;
                size_t c_count = (size_t)m * ldc;
                float *a = malloc(a_count * sizeof *a);
                float *b = malloc(b_count * sizeof *b);
                float *c1 = malloc(c_count * sizeof *c1);
                float *c2 = malloc(c_count * sizeof *c2);
                assert_non_null(a);
                assert_non_null(b);
                assert_non_null(c1);
                assert_non_null(c2);
                fill_uniform(a, a_count, &rng);
                fill_uniform(b, b_count, &rng);
                fill_uniform(c1, c_count, &rng);
                memcpy(c2, c1, c_count * sizeof *c1);
                nn_sgemm_avx2(ta, tb, m, n, k, scalars[v][0], a, lda, b, ldb,
                              scalars[v][1], c1, ldc);
                nn_sgemm_avx512(ta, tb, m, n, k, scalars[v][0], a, lda, b,
                                ldb, scalars[v][1], c2, ldc);
                if (memcmp(c1, c2, c_count * sizeof *c1) != 0)
                    fail_msg("avx512 and avx2 differ: ta=%d tb=%d m=%d n=%d "
                             "k=%d alpha=%g beta=%g", ta, tb, m, n, k,
                             (double)scalars[v][0], (double)scalars[v][1]);
                cases++;
                free(a);
                free(b);
                free(c1);
                free(c2);
            }
    print_message("  avx512 vs avx2: %zu products, the same bits\n", cases);
#else
    (void)state;
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_odd_sizes),
        cmocka_unit_test(test_gemm_many_blocks),
        cmocka_unit_test(test_gemm_alpha_beta),
        cmocka_unit_test(test_gemm_leading_dimensions),
        cmocka_unit_test(test_gemm_preset_shapes),
        cmocka_unit_test(test_gemm_degenerate),
        cmocka_unit_test(test_gemm_deterministic),
        cmocka_unit_test(test_gemm_avx512_same_bits_as_avx2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
