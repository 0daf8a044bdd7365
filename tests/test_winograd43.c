/* Winograd F(4x4, 3x3) convolutions: forward the same values as a
 * float64 direct convolution on awkward shapes, on the AVX path and the
 * portable gemm; their error at the presets' layer sizes measured and
 * printed next to F(2x2, 3x3)'s and im2col's, within a stated bound; a net
 * built for inference runs them. Backward: the gradients of the im2col
 * reference on awkward shapes, exact gradients through a training net
 * that runs F(4x4), and the same bits for any thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "core/util.h"
#include "compute/gemm.h"
#include "compute/winograd.h"
#include "layers/layer.h"

/* The bound F(4x4, 3x3) is used within (layer_conv2d.c): the largest
 * error of one output divided by the root mean square of the layer's
 * outputs. Measured with He-scaled weights and relu-like inputs at 16 to
 * 128 input channels (test_error_at_preset_sizes), F(4x4) stays below
 * 2.5e-5, about ten times F(2x2)'s and im2col's 2.3e-6: the bound leaves
 * a factor 2 over that. */
#define WINOGRAD43_BOUND 5e-5

typedef struct {
    int in_c, out_c, h, w, pad, n;
} geometry;

/* y_ref (n, out_c, out_h, out_w) = the direct convolution in double. */
static void direct_double(const nn_conv2d_shape *s, const float *x,
                          const float *w, const float *b, double *y, int n)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < s->out_c; o++)
            for (int oy = 0; oy < s->out_h; oy++)
                for (int ox = 0; ox < s->out_w; ox++) {
                    double sum = b[o];
                    for (int c = 0; c < s->in_c; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
                                if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
                                    continue;
                                sum += (double)w[((size_t)(o * s->in_c + c) * 3 + ky) * 3 + kx] *
                                       x[(((size_t)i * s->in_c + c) * s->in_h + iy) * s->in_w + ix];
                            }
                    y[(((size_t)i * s->out_c + o) * s->out_h + oy) * s->out_w + ox] = sum;
                }
}

/* The largest |got - want| over the root mean square of want. */
static double error_of(const float *got, const double *want, size_t n)
{
    double worst = 0.0, squares = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]);
        squares += want[i] * want[i];
        if (err > worst)
            worst = err;
    }
    return worst / sqrt(squares / (double)n + 1e-30);
}

typedef struct {
    double f43, f22, im2col;
} errors;

/* Runs the three algorithms on one geometry (n clipped to one group of
 * F(4x4)) with inputs |N(0, 1)| (as after a relu) and weights
 * N(0, 2 / (9 in_c)) (He), or N(0, 1) for both when `signed_inputs`. */
static errors measure(const geometry *ge, nn_sgemm_fn sgemm, int signed_inputs,
                      nn_rng *rng)
{
    nn_conv2d_shape s = {ge->in_c, ge->h, ge->w, ge->out_c, 3, 3, 1, ge->pad, 0, 0};
    size_t in_size, out_size, w_size;
    float *x, *w, *b, *y, *u, *scratch;
    double *ref;
    int n = ge->n;
    errors e;
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_true(nn_winograd_fits(&s));
    if (n > nn_winograd43_group(&s))
        n = nn_winograd43_group(&s);
    if (n > nn_winograd_group(&s))
        n = nn_winograd_group(&s);
    in_size = (size_t)n * s.in_c * s.in_h * s.in_w;
    out_size = (size_t)n * s.out_c * s.out_h * s.out_w;
    w_size = (size_t)s.out_c * s.in_c * 9;
    x = malloc(in_size * sizeof *x);
    w = malloc(w_size * sizeof *w);
    b = malloc(s.out_c * sizeof *b);
    y = malloc(out_size * sizeof *y);
    ref = malloc(out_size * sizeof *ref);
    u = malloc(nn_winograd43_weights_size(&s) * sizeof *u);
    scratch = malloc(nn_winograd43_scratch(&s) * sizeof *scratch +
                     nn_winograd_scratch(&s) * sizeof *scratch +
                     nn_conv2d_scratch(&s) * sizeof *scratch);
    assert_true(x && w && b && y && ref && u && scratch);
    gc_fill_normal(x, in_size, 1.0f, rng);
    if (!signed_inputs)
        for (size_t i = 0; i < in_size; i++)
            x[i] = fabsf(x[i]);
    gc_fill_normal(w, w_size,
                   signed_inputs ? 1.0f : sqrtf(2.0f / (9.0f * s.in_c)), rng);
    gc_fill_normal(b, s.out_c, 0.1f, rng);
    direct_double(&s, x, w, b, ref, n);

    nn_winograd43_weights(&s, w, u, 0, (size_t)s.out_c * s.in_c);
    nn_winograd43_forward(&s, sgemm, u, x, b, y, scratch, n);
    e.f43 = error_of(y, ref, out_size);
    nn_winograd_weights(&s, w, u, 0, (size_t)s.out_c * s.in_c);
    nn_winograd_forward(&s, sgemm, u, x, b, y, scratch, n);
    e.f22 = error_of(y, ref, out_size);
    nn_conv2d_forward(&s, x, w, b, y, scratch, n);
    e.im2col = error_of(y, ref, out_size);
    free(x), free(w), free(b), free(y), free(ref), free(u), free(scratch);
    return e;
}

/* Odd sizes (partial tiles on two edges), padding 0 to 2, one tile mostly
 * padding, several images in one group: against float64, on both gemms. */
static void test_matches_direct(void **state)
{
    static const geometry geometries[] = {
        {8, 8, 6, 6, 0, 1},   {9, 12, 7, 5, 1, 3},  {16, 8, 5, 9, 2, 2},
        {8, 16, 3, 3, 1, 1},  {12, 10, 10, 11, 0, 4}, {8, 9, 4, 13, 1, 6},
        {8, 8, 17, 18, 1, 2}, {10, 8, 9, 22, 2, 5},
    };
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 31);
    for (size_t g = 0; g < sizeof geometries / sizeof *geometries; g++) {
        for (int path = 0; path < 2; path++) {
            nn_sgemm_fn sgemm = path ? nn_sgemm_portable : nn_sgemm;
            errors e = measure(&geometries[g], sgemm, 1, &rng);
            print_message("  in %dx%dx%d, out %d, pad %d, %s gemm: F(4x4) %.2e, "
                          "F(2x2) %.2e\n", geometries[g].in_c, geometries[g].h,
                          geometries[g].w, geometries[g].out_c, geometries[g].pad,
                          path ? "portable" : "auto", e.f43, e.f22);
            if (!(e.f43 <= WINOGRAD43_BOUND))
                fail_msg("F(4x4) error %.3g above %.3g", e.f43, WINOGRAD43_BOUND);
        }
    }
}

/* 3x3 padded layers of the presets' sizes (vgg's 32 to 128 channels on
 * 32x32 to 8x8, deep's 16 and 32 on 28x28 and 14x14, 7x7): the error of
 * each algorithm printed, F(4x4)'s within the bound. */
static void test_error_at_preset_sizes(void **state)
{
    static const geometry layers[] = {
        {16, 16, 28, 28, 1, 2},   {16, 32, 32, 32, 1, 2},
        {32, 32, 32, 32, 1, 2},   {32, 64, 16, 16, 1, 4},
        {64, 64, 16, 16, 1, 4},   {64, 128, 8, 8, 1, 8},
        {128, 128, 8, 8, 1, 8},   {32, 32, 14, 14, 1, 4},
        {128, 128, 7, 7, 1, 8},   {128, 64, 32, 32, 1, 1},
    };
    double worst43 = 0.0, worst22 = 0.0, worst_im2col = 0.0;
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 41);
    print_message("  max |error| / rms(output) against float64, auto gemm:\n");
    for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
        errors e = measure(&layers[l], nn_sgemm, 0, &rng);
        print_message("  in %3d x %2dx%2d, out %3d: F(4x4) %.2e  F(2x2) %.2e  "
                      "im2col %.2e\n", layers[l].in_c, layers[l].h, layers[l].w,
                      layers[l].out_c, e.f43, e.f22, e.im2col);
        worst43 = e.f43 > worst43 ? e.f43 : worst43;
        worst22 = e.f22 > worst22 ? e.f22 : worst22;
        worst_im2col = e.im2col > worst_im2col ? e.im2col : worst_im2col;
    }
    print_message("  worst: F(4x4) %.2e, F(2x2) %.2e, im2col %.2e (bound %.0e)\n",
                  worst43, worst22, worst_im2col, WINOGRAD43_BOUND);
    assert_true(worst43 <= WINOGRAD43_BOUND);
    assert_true(worst22 <= WINOGRAD43_BOUND);
}

/* 24x24 planes of 32 channels (too many for the direct kernels) through
 * a net built for inference: outputs close to the reference (im2col)
 * training build's, not the same bits (F(4x4) ran), and the layer's
 * forward multiply-adds those of 36 gemms on 4x4 tiles. */
static void test_inference_runs_f43(void **state)
{
    nn_net *train = NULL, *infer = NULL;
    nn_layer_macs macs;
    size_t outputs = (size_t)3 * 12 * 24 * 24;
    nn_rng rng;
    int differ = 0;
    (void)state;
    for (int k = 0; k < 2; k++) {
        nn_net **net = k ? &infer : &train;
        assert_nn_ok(nn_net_create(32, 24, 24, net));
        assert_nn_ok(nn_net_add_conv2d(*net, 12, 3, 3, 1, 1));
        assert_nn_ok(k ? nn_net_build_inference(*net, 3, 1)
                       : nn_net_build(*net, 3, 1));
    }
    assert_nn_ok(nn_net_set_kernels(train, NN_KERNELS_REFERENCE));
    nn_net_set_training(train, 0);
    memcpy(nn_net_params(infer), nn_net_params(train),
           nn_net_param_count(train) * sizeof(float));
    nn_rng_seed(&rng, 5);
    gc_fill_normal(nn_net_input(train)->x, (size_t)3 * 32 * 24 * 24, 1.0f, &rng);
    memcpy(nn_net_input(infer)->x, nn_net_input(train)->x,
           (size_t)3 * 32 * 24 * 24 * sizeof(float));
    assert_nn_ok(nn_net_forward(train, 3));
    assert_nn_ok(nn_net_forward(infer, 3));
    for (size_t i = 0; i < outputs; i++) {
        float a = nn_net_output(infer)->x[i], b = nn_net_output(train)->x[i];
        assert_close(a, b, 1e-4 * (1.0 + fabs(b)));
        differ |= a != b;
    }
    assert_true(differ);
    assert_nn_ok(nn_net_layer_macs(infer, 0, &macs));
    assert_int_equal(macs.forward, (uint64_t)36 * 12 * 32 * 6 * 6);
    nn_net_destroy(infer);
    nn_net_destroy(train);
}

/* The bound of F(4x4)'s gradients against im2col's: the largest
 * difference of one value over the root mean square of the reference's
 * values. The adjoint transforms have the forward's coefficients, so its
 * error is of the forward's size (measured up to about 1e-5 here). */
#define WINOGRAD43_GRAD_BOUND 5e-5

/* The largest |got - want| over the root mean square of want, printed. */
static double worst_of(const float *got, const float *want, size_t n,
                       const char *what)
{
    double worst = 0.0, squares = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        squares += (double)want[i] * want[i];
        if (err > worst)
            worst = err;
    }
    worst /= sqrt(squares / (double)n + 1e-30);
    print_message("    %s: %.2e\n", what, worst);
    if (!(worst <= WINOGRAD43_GRAD_BOUND))
        fail_msg("%s differs from im2col by %.3g (bound %.3g)", what, worst,
                 WINOGRAD43_GRAD_BOUND);
    return worst;
}

/* One geometry (n clipped to one group): F(4x4)'s dx, dW and db against
 * the im2col reference backward, with dx and the gradients accumulated
 * onto non-zero values (backward adds). */
static void check_backward(const geometry *ge, nn_sgemm_fn sgemm, nn_rng *rng)
{
    nn_conv2d_shape s = {ge->in_c, ge->h, ge->w, ge->out_c, 3, 3, 1, ge->pad, 0, 0};
    size_t in_size, out_size, w_size, du_size;
    float *x, *w, *dy, *dx, *dx_ref, *dw, *dw_ref, *db, *db_ref, *u, *du,
        *scratch, *col;
    int n = ge->n;
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_true(nn_winograd_fits(&s));
    if (n > nn_winograd43_group(&s))
        n = nn_winograd43_group(&s);
    in_size = (size_t)n * s.in_c * s.in_h * s.in_w;
    out_size = (size_t)n * s.out_c * s.out_h * s.out_w;
    w_size = (size_t)s.out_c * s.in_c * 9;
    du_size = nn_winograd43_weights_size(&s);
    x = malloc(in_size * sizeof *x), dy = malloc(out_size * sizeof *dy);
    dx = malloc(in_size * sizeof *dx), dx_ref = malloc(in_size * sizeof *dx);
    w = malloc(w_size * sizeof *w), dw = malloc(w_size * sizeof *dw);
    dw_ref = malloc(w_size * sizeof *dw);
    db = malloc(s.out_c * sizeof *db), db_ref = malloc(s.out_c * sizeof *db);
    u = malloc(du_size * sizeof *u), du = calloc(du_size, sizeof *du);
    scratch = malloc(nn_winograd43_scratch(&s) * sizeof *scratch);
    col = malloc(nn_conv2d_scratch(&s) * sizeof *col);
    assert_true(x && dy && dx && dx_ref && w && dw && dw_ref && db && db_ref &&
                u && du && scratch && col);
    gc_fill_normal(x, in_size, 1.0f, rng);
    gc_fill_normal(dy, out_size, 1.0f, rng);
    gc_fill_normal(w, w_size, 0.3f, rng);
    gc_fill_normal(dx, in_size, 0.5f, rng);
    gc_fill_normal(dw, w_size, 0.5f, rng);
    gc_fill_normal(db, s.out_c, 0.5f, rng);
    memcpy(dx_ref, dx, in_size * sizeof *dx);
    memcpy(dw_ref, dw, w_size * sizeof *dw);
    memcpy(db_ref, db, s.out_c * sizeof *db);
    print_message("  in %dx%dx%d, out %d, pad %d, %d images, %s gemm\n",
                  s.in_c, s.in_h, s.in_w, s.out_c, s.pad, n,
                  sgemm == nn_sgemm ? "auto" : "portable");

    nn_conv2d_backward(&s, x, w, dy, dx_ref, dw_ref, db_ref, col, n);
    nn_winograd43_weights(&s, w, u, 0, (size_t)s.out_c * s.in_c);
    nn_winograd43_backward(&s, sgemm, u, x, dy, dx, du, db, scratch, n);
    nn_winograd43_weight_grads(&s, du, dw);
    worst_of(dx, dx_ref, in_size, "input gradient");
    worst_of(dw, dw_ref, w_size, "weight gradient");
    worst_of(db, db_ref, s.out_c, "bias gradient");

    free(x), free(dy), free(dx), free(dx_ref), free(w), free(dw), free(dw_ref);
    free(db), free(db_ref), free(u), free(du), free(scratch), free(col);
}

/* Odd sizes (partial tiles on two edges), padding 0 to 2, a single tile
 * mostly padding, several images per group, on both gemms. */
static void test_backward_matches_im2col(void **state)
{
    static const geometry geometries[] = {
        {8, 8, 6, 6, 0, 1},    {9, 12, 7, 5, 1, 3},  {16, 8, 5, 9, 2, 2},
        {8, 16, 3, 3, 1, 1},   {12, 10, 10, 11, 0, 4}, {8, 9, 4, 13, 1, 6},
        {8, 8, 17, 18, 1, 2},  {10, 8, 9, 22, 2, 5},  {11, 13, 15, 7, 0, 3},
        {16, 16, 28, 28, 1, 2},
    };
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 51);
    for (size_t g = 0; g < sizeof geometries / sizeof *geometries; g++) {
        check_backward(&geometries[g], nn_sgemm, &rng);
        check_backward(&geometries[g], nn_sgemm_portable, &rng);
    }
}

/* 30 random shapes: sizes from 1 (with padding) to 21, odd and even. */
static void test_backward_random_shapes(void **state)
{
    nn_rng rng;
    int done = 0;
    (void)state;
    nn_rng_seed(&rng, 87);
    while (done < 30) {
        geometry ge;
        ge.in_c = 8 + (int)(nn_rng_next(&rng) % 13);
        ge.out_c = 8 + (int)(nn_rng_next(&rng) % 13);
        ge.h = 1 + (int)(nn_rng_next(&rng) % 21);
        ge.w = 1 + (int)(nn_rng_next(&rng) % 21);
        ge.pad = (int)(nn_rng_next(&rng) % 3);
        ge.n = 1 + (int)(nn_rng_next(&rng) % 4);
        if (ge.h + 2 * ge.pad < 3 || ge.w + 2 * ge.pad < 3)
            continue;
        check_backward(&ge, nn_sgemm, &rng);
        done++;
    }
}

/* A training net whose first convolution runs F(4x4) under the AUTO and
 * PORTABLE kernels (layer_conv2d.c: winograd43_trains): 26 channels of
 * 24x24 (too many for the direct kernels), padded, then tanh (smooth: a relu kink would blur the check), a
 * second 3x3 convolution without padding and a dense layer. */
static nn_net *training_net(nn_kernels kernels, int threads, int batch,
                            uint64_t seed)
{
    nn_net *net = NULL;
    nn_rng rng;
    assert_nn_ok(nn_net_create(26, 24, 24, &net));
    nn_net_add_conv2d(net, 16, 3, 3, 1, 1);
    nn_net_add_tanh(net);
    nn_net_add_conv2d(net, 8, 3, 3, 1, 0);
    nn_net_add_dense(net, 4);
    assert_nn_ok(nn_net_build(net, batch, seed));
    assert_nn_ok(nn_net_set_kernels(net, kernels));
    assert_nn_ok(nn_net_set_threads(net, threads));
    nn_net_set_input_grad(net, 1);
    nn_rng_seed(&rng, seed + 1);
    gc_fill_normal(nn_net_input(net)->x, (size_t)batch * 26 * 24 * 24, 1.0f,
                   &rng);
    return net;
}

/* Training picks F(4x4) there (its multiply-adds counted: 36 gemms on 6x6
 * tiles in each pass), and F(2x2) or im2col under the reference kernels:
 * the tests below cannot pass without running it. */
static void test_training_runs_f43(void **state)
{
    nn_net *net = training_net(NN_KERNELS_AUTO, 1, 2, 3);
    nn_layer_macs macs;
    uint64_t pass = (uint64_t)36 * 16 * 26 * 6 * 6;
    (void)state;
    assert_nn_ok(nn_net_layer_macs(net, 0, &macs));
    assert_int_equal(macs.forward, pass);
    assert_int_equal(macs.backward, 2 * pass);
    assert_nn_ok(nn_net_set_kernels(net, NN_KERNELS_PORTABLE));
    assert_nn_ok(nn_net_layer_macs(net, 0, &macs));
    assert_int_equal(macs.forward, pass);
    assert_nn_ok(nn_net_set_kernels(net, NN_KERNELS_REFERENCE));
    assert_nn_ok(nn_net_layer_macs(net, 0, &macs));
    assert_int_equal(macs.forward, (uint64_t)16 * 26 * 9 * 24 * 24);
    nn_net_destroy(net);
}

/* Central differences through the training net (step 1e-2: F(4x4)'s
 * rounding is about ten times F(2x2)'s), on the AVX and portable paths. */
static void test_gradients_through_f43(void **state)
{
    int labels[2] = {1, 3};
    (void)state;
    for (int k = 0; k < 2; k++) {
        nn_net *net = training_net(k ? NN_KERNELS_PORTABLE : NN_KERNELS_AUTO, 1,
                                   2, 5);
        gc_result r = gc_check_net(net, 2, 6, 150, 1e-2f, labels);
        print_message("  %s: max error %.2e, max |numeric| %.3f, %d checked, "
                      "%d skipped\n", k ? "portable" : "auto", r.max_error,
                      r.max_numeric, r.checked, r.skipped);
        assert_true(gc_passed(&r, 1e-3));
        nn_net_destroy(net);
    }
}

/* Forward and backward with 1, 2 and 3 threads give the same bits: the
 * parameter gradients and the input gradient. */
static void test_training_threads_bit_identical(void **state)
{
    int labels[6] = {1, 3, 0, 2, 2, 1};
    size_t inputs = (size_t)6 * 26 * 24 * 24;
    float *grads = NULL, *dx = NULL;
    size_t count = 0;
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        nn_net *net = training_net(NN_KERNELS_AUTO, threads, 6, 13);
        float loss;
        count = nn_net_param_count(net);
        assert_nn_ok(nn_net_forward(net, 6));
        assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
        nn_net_zero_grad(net);
        assert_nn_ok(nn_net_backward(net));
        if (!grads) {
            grads = malloc(count * sizeof *grads);
            dx = malloc(inputs * sizeof *dx);
            assert_true(grads && dx);
            memcpy(grads, nn_net_grads(net), count * sizeof *grads);
            memcpy(dx, nn_net_input(net)->g, inputs * sizeof *dx);
        } else {
            assert_memory_equal(grads, nn_net_grads(net), count * sizeof *grads);
            assert_memory_equal(dx, nn_net_input(net)->g, inputs * sizeof *dx);
        }
        nn_net_destroy(net);
    }
    free(grads);
    free(dx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_direct),
        cmocka_unit_test(test_error_at_preset_sizes),
        cmocka_unit_test(test_inference_runs_f43),
        cmocka_unit_test(test_backward_matches_im2col),
        cmocka_unit_test(test_backward_random_shapes),
        cmocka_unit_test(test_training_runs_f43),
        cmocka_unit_test(test_gradients_through_f43),
        cmocka_unit_test(test_training_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
