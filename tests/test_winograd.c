/* Winograd F(2x2, 3x3) convolutions: the same values as the im2col
 * reference on awkward shapes, exact gradients through a net on the AVX2
 * and the portable path, and bit-identical results for any thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "core/util.h"
#include "compute/gemm.h"
#include "compute/winograd.h"
#include "layers/layer.h"

typedef struct {
    int in_c, out_c, h, w, pad, n;
} geometry;

static const geometry geometries[] = {
    {8, 8, 6, 6, 0, 1},    /* even output, no padding */
    {9, 12, 7, 5, 1, 3},   /* odd output: partial tiles on two edges */
    {16, 8, 5, 9, 2, 2},   /* padding wider than a tile's overlap */
    {8, 16, 3, 3, 1, 1},   /* one tile, mostly padding */
    {12, 10, 10, 11, 0, 4},
    {8, 9, 4, 13, 1, 6},   /* several images in one group */
};

/* |got - want| within a rounding bound for sums of `terms` products. */
static void assert_near(const float *got, const float *want, size_t n,
                        int terms, const char *what)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
        if (err > worst)
            worst = err;
    }
    print_message("  %s: worst relative difference %.2e\n", what, worst);
    if (worst > 2e-6 * terms)
        fail_msg("%s differs from im2col by %.3g", what, worst);
}

/* One geometry: Winograd's output and gradients against im2col's. */
static void check_geometry(const geometry *ge, nn_rng *rng)
{
    nn_conv2d_shape s = {ge->in_c, ge->h, ge->w, ge->out_c, 3, 3, 1, ge->pad, 0, 0};
    size_t in_size, out_size, w_size, du_size;
    float *x, *w, *b, *y, *y_ref, *dy, *dx, *dx_ref, *dw, *dw_ref, *db,
        *db_ref, *u, *du, *scratch, *col;
    int n = ge->n;
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_true(nn_winograd_fits(&s));
    if (n > nn_winograd_group(&s))
        n = nn_winograd_group(&s);
    in_size = (size_t)n * s.in_c * s.in_h * s.in_w;
    out_size = (size_t)n * s.out_c * s.out_h * s.out_w;
    w_size = (size_t)s.out_c * s.in_c * 9;
    du_size = nn_winograd_weights_size(&s);
    x = malloc(in_size * sizeof *x), dx = calloc(in_size, sizeof *dx);
    dx_ref = calloc(in_size, sizeof *dx_ref);
    y = malloc(out_size * sizeof *y), y_ref = malloc(out_size * sizeof *y);
    dy = malloc(out_size * sizeof *dy);
    w = malloc(w_size * sizeof *w), dw = calloc(w_size, sizeof *dw);
    dw_ref = calloc(w_size, sizeof *dw_ref);
    b = malloc(s.out_c * sizeof *b), db = calloc(s.out_c, sizeof *db);
    db_ref = calloc(s.out_c, sizeof *db_ref);
    u = malloc(du_size * sizeof *u), du = calloc(du_size, sizeof *du);
    scratch = malloc(nn_winograd_scratch(&s) * sizeof *scratch);
    col = malloc(nn_conv2d_scratch(&s) * sizeof *col);
    assert_true(x && dx && dx_ref && y && y_ref && dy && w && dw && dw_ref &&
                b && db && db_ref && u && du && scratch && col);
    gc_fill_normal(x, in_size, 1.0f, rng);
    gc_fill_normal(dy, out_size, 1.0f, rng);
    gc_fill_normal(w, w_size, 0.3f, rng);
    gc_fill_normal(b, s.out_c, 0.3f, rng);
    print_message("in %dx%dx%d, out %d, pad %d, %d images\n", s.in_c, s.in_h,
                  s.in_w, s.out_c, s.pad, n);

    nn_conv2d_forward(&s, x, w, b, y_ref, col, n);
    nn_conv2d_backward(&s, x, w, dy, dx_ref, dw_ref, db_ref, col, n);
    nn_winograd_weights(&s, w, u, 0, (size_t)s.out_c * s.in_c);
    nn_winograd_forward(&s, nn_sgemm_portable, u, x, b, y, scratch, n);
    nn_winograd_backward(&s, nn_sgemm_portable, u, x, dy, dx, du, db, scratch, n);
    nn_winograd_weight_grads(&s, du, dw);
    assert_near(y, y_ref, out_size, s.in_c * 9, "output");
    assert_near(dx, dx_ref, in_size, s.out_c * 9, "input gradient");
    assert_near(dw, dw_ref, w_size, n * s.out_h * s.out_w, "weight gradient");
    assert_near(db, db_ref, s.out_c, n * s.out_h * s.out_w, "bias gradient");

    free(x), free(dx), free(dx_ref), free(y), free(y_ref), free(dy);
    free(w), free(dw), free(dw_ref), free(b), free(db), free(db_ref);
    free(u), free(du), free(scratch), free(col);
}

static void test_matches_im2col(void **state)
{
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 21);
    for (size_t g = 0; g < sizeof geometries / sizeof *geometries; g++)
        check_geometry(&geometries[g], &rng);
}

/* 40 random shapes: sizes from 1 (with padding) to 17, odd and even. */
static void test_random_shapes(void **state)
{
    nn_rng rng;
    int done = 0;
    (void)state;
    nn_rng_seed(&rng, 77);
    while (done < 40) {
        geometry ge;
        ge.in_c = 8 + (int)(nn_rng_next(&rng) % 13);
        ge.out_c = 8 + (int)(nn_rng_next(&rng) % 13);
        ge.h = 1 + (int)(nn_rng_next(&rng) % 17);
        ge.w = 1 + (int)(nn_rng_next(&rng) % 17);
        ge.pad = (int)(nn_rng_next(&rng) % 3);
        ge.n = 1 + (int)(nn_rng_next(&rng) % 4);
        if (ge.h + 2 * ge.pad < 3 || ge.w + 2 * ge.pad < 3)
            continue;
        check_geometry(&ge, &rng);
        done++;
    }
}

/* 8x7x6 input through two Winograd convolutions and a dense layer. */
static nn_net *winograd_net(nn_kernels kernels, int threads, uint64_t seed)
{
    nn_net *net = NULL;
    nn_rng rng;
    assert_nn_ok(nn_net_create(8, 7, 6, &net));
    nn_net_add_conv2d(net, 12, 3, 3, 1, 1);
    nn_net_add_tanh(net); /* smooth: a relu kink would blur the check */
    nn_net_add_conv2d(net, 8, 3, 3, 1, 0);
    nn_net_add_dense(net, 4);
    assert_nn_ok(nn_net_build(net, 4, seed));
    assert_nn_ok(nn_net_set_kernels(net, kernels));
    assert_nn_ok(nn_net_set_threads(net, threads));
    nn_net_set_input_grad(net, 1);
    nn_rng_seed(&rng, seed + 1);
    gc_fill_normal(nn_net_input(net)->x, (size_t)4 * 8 * 7 * 6, 1.0f, &rng);
    return net;
}

static void check_gradients(nn_kernels kernels)
{
    int labels[4] = {1, 3, 0, 2};
    nn_net *net = winograd_net(kernels, 1, 5);
    gc_result r = gc_check_net(net, 4, 6, 120, 1e-3f, labels);
    print_message("  max error %.2e, max |numeric| %.3f, %d checked, %d skipped\n",
                  r.max_error, r.max_numeric, r.checked, r.skipped);
    assert_true(gc_passed(&r, 1e-3));
    nn_net_destroy(net);
}

static void test_gradients_auto(void **state)
{
    (void)state;
    print_message("  kernels: %s\n", nn_cpu_has_avx2() ? "AVX2+FMA" : "portable (no AVX2 here)");
    check_gradients(NN_KERNELS_AUTO);
}

static void test_gradients_portable(void **state)
{
    (void)state;
    check_gradients(NN_KERNELS_REFERENCE);
    check_gradients(NN_KERNELS_PORTABLE);
}

/* Winograd rounds differently from im2col, but only a little: the net's
 * outputs under both kernels agree closely, and differ (Winograd ran). */
static void test_auto_runs_winograd(void **state)
{
    nn_net *fast = winograd_net(NN_KERNELS_PORTABLE, 1, 9);
    nn_net *ref = winograd_net(NN_KERNELS_REFERENCE, 1, 9);
    size_t n = (size_t)4 * 4;
    int differ = 0;
    (void)state;
    assert_nn_ok(nn_net_forward(fast, 4));
    assert_nn_ok(nn_net_forward(ref, 4));
    for (size_t i = 0; i < n; i++) {
        float a = nn_net_output(fast)->x[i], b = nn_net_output(ref)->x[i];
        assert_close(a, b, 1e-4 * (1.0 + fabs(b)));
        differ |= a != b;
    }
    assert_true(differ);
    nn_net_destroy(fast);
    nn_net_destroy(ref);
}

/* Forward and backward with 1, 2 and 3 threads give the same bits. */
static void test_threads_bit_identical(void **state)
{
    int labels[4] = {1, 3, 0, 2};
    float *first = NULL;
    size_t count = 0;
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        nn_net *net = winograd_net(NN_KERNELS_AUTO, threads, 13);
        float loss;
        count = nn_net_param_count(net);
        assert_nn_ok(nn_net_forward(net, 4));
        assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
        nn_net_zero_grad(net);
        assert_nn_ok(nn_net_backward(net));
        if (!first) {
            first = malloc(count * sizeof *first);
            assert_non_null(first);
            memcpy(first, nn_net_grads(net), count * sizeof *first);
        } else {
            assert_memory_equal(first, nn_net_grads(net), count * sizeof *first);
        }
        nn_net_destroy(net);
    }
    free(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_im2col),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_gradients_auto),
        cmocka_unit_test(test_gradients_portable),
        cmocka_unit_test(test_auto_runs_winograd),
        cmocka_unit_test(test_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
