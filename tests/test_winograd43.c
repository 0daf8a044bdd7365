/* Winograd F(4x4, 3x3) convolutions: forward the same values as a
 * float64 direct convolution on awkward shapes, on the AVX path and the
 * portable gemm; their error at the presets' layer sizes measured and
 * printed next to F(2x2, 3x3)'s and im2col's, within a stated bound; a net
 * built for inference runs them. Backward: the gradients of the im2col
 * reference on awkward shapes, exact gradients through a training net
 * that runs F(4x4), and the same bits for any thread count. The weight
 * transforms of both tile sizes give the one-pair formulas' bits. */
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

/* The transforms one tile at a time in plain scalar loops, with the same
 * arithmetic per value as the vectorised steps of conv_winograd43.c
 * (B^T, A^T, the adjoint's B in two parts, A): the library must give
 * these bits exactly, forward and backward. */
static void ref_bt(const float d[6], float o[6])
{
    float d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5];
    o[0] = 4.0f * d0 - 5.0f * d2 + d4;
    o[1] = (d3 + d4) - 4.0f * (d1 + d2);
    o[2] = (d4 - d3) + 4.0f * (d1 - d2);
    o[3] = (d4 - d2) + 2.0f * (d3 - d1);
    o[4] = (d4 - d2) - 2.0f * (d3 - d1);
    o[5] = 4.0f * d1 - 5.0f * d3 + d5;
}

static void ref_at(const float i[6], float o[4])
{
    float sum12 = i[1] + i[2], dif12 = i[1] - i[2];
    float sum34 = i[3] + i[4], dif34 = i[3] - i[4];
    o[0] = i[0] + sum12 + sum34;
    o[1] = dif12 + 2.0f * dif34;
    o[2] = sum12 + 4.0f * sum34;
    o[3] = dif12 + 8.0f * dif34 + i[5];
}

/* o[0..3] = rows 0 to 3 of B i; o[4], o[5] = rows 4 and 5. */
static void ref_b(const float d[6], float o[6])
{
    o[0] = 4.0f * d[0];
    o[1] = 4.0f * (d[2] - d[1] + d[5]) + 2.0f * (d[4] - d[3]);
    o[2] = -5.0f * d[0] - 4.0f * (d[1] + d[2]) - (d[3] + d[4]);
    o[3] = (d[1] - d[2]) + 2.0f * (d[3] - d[4]) - 5.0f * d[5];
    o[4] = d[0] + (d[1] + d[2]) + (d[3] + d[4]);
    o[5] = d[5];
}

static void ref_a(const float i[4], float o[6])
{
    float even = i[0] + i[2], odd = i[1] + i[3];
    float even4 = i[0] + 4.0f * i[2], odd4 = 2.0f * (i[1] + 4.0f * i[3]);
    o[0] = i[0];
    o[1] = even + odd;
    o[2] = even - odd;
    o[3] = even4 + odd4;
    o[4] = even4 - odd4;
    o[5] = i[3];
}

/* v (36, in_c, n tiles) = B^T d B per tile of x (n, in_c, in_h, in_w). */
static void ref_input(const nn_conv2d_shape *s, const float *x, float *v, int n)
{
    int th = (s->out_h + 3) / 4, tw = (s->out_w + 3) / 4;
    size_t cols = (size_t)n * th * tw;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < s->in_c; c++)
            for (int t = 0; t < th * tw; t++) {
                float d[6][6], h[6][6], col[6], o[6];
                for (int r = 0; r < 6; r++) {
                    for (int k = 0; k < 6; k++) {
                        int iy = 4 * (t / tw) + r - s->pad;
                        int ix = 4 * (t % tw) + k - s->pad;
                        int in = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
                        d[r][k] = in ? x[(((size_t)i * s->in_c + c) * s->in_h + iy) *
                                         s->in_w + ix] : 0.0f;
                    }
                    ref_bt(d[r], h[r]);
                }
                for (int j = 0; j < 6; j++) {
                    for (int r = 0; r < 6; r++)
                        col[r] = h[r][j];
                    ref_bt(col, o);
                    for (int a = 0; a < 6; a++)
                        v[((size_t)(a * 6 + j) * s->in_c + c) * cols +
                          (size_t)i * th * tw + t] = o[a];
                }
            }
}

/* y (n, out_c, out_h, out_w) = A^T M A + bias per tile, M = U V by the
 * gemm as the library calls it; m (36, out_c, cols). */
static void ref_forward(const nn_conv2d_shape *s, const float *u,
                        const float *x, const float *bias, float *y,
                        float *v, float *m, int n)
{
    int th = (s->out_h + 3) / 4, tw = (s->out_w + 3) / 4;
    size_t cols = (size_t)n * th * tw;
    ref_input(s, x, v, n);
    for (int xi = 0; xi < 36; xi++)
        nn_sgemm(0, 0, s->out_c, (int)cols, s->in_c, 1.0f,
                 u + (size_t)xi * s->out_c * s->in_c, s->in_c,
                 v + (size_t)xi * s->in_c * cols, (int)cols, 0.0f,
                 m + (size_t)xi * s->out_c * cols, (int)cols);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < s->out_c; c++)
            for (int t = 0; t < th * tw; t++) {
                float h[6][4], col[6], o[4], row[6];
                for (int r = 0; r < 6; r++) {
                    for (int k = 0; k < 6; k++)
                        row[k] = m[((size_t)(r * 6 + k) * s->out_c + c) * cols +
                                   (size_t)i * th * tw + t];
                    ref_at(row, h[r]);
                }
                for (int b = 0; b < 4; b++) {
                    for (int r = 0; r < 6; r++)
                        col[r] = h[r][b];
                    ref_at(col, o);
                    for (int a = 0; a < 4; a++) {
                        int oy = 4 * (t / tw) + a, ox = 4 * (t % tw) + b;
                        if (oy < s->out_h && ox < s->out_w)
                            y[(((size_t)i * s->out_c + c) * s->out_h + oy) *
                              s->out_w + ox] = bias[c] + o[a];
                    }
                }
            }
}

/* The backward of ref_forward: dbias += sums of dy; dm = A dY A^T per
 * tile; du += dM V^T and dV = U^T dM by the gemm; dx += B dV B^T, a
 * tile's rows (columns) 4 and 5 added to the next one's 0 and 1 after
 * those are set, as the library does. h (4 th + 2, 6, tw + 1). */
static void ref_backward(const nn_conv2d_shape *s, const float *u,
                         const float *x, const float *dy, float *dx, float *du,
                         float *dbias, float *v, float *dm, float *h, int n)
{
    int th = (s->out_h + 3) / 4, tw = (s->out_w + 3) / 4, rows = 4 * th + 2;
    size_t cols = (size_t)n * th * tw, plane = (size_t)s->out_h * s->out_w;
    size_t wide = (size_t)tw + 1;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < s->out_c; c++)
            dbias[c] += nn_sum(dy + ((size_t)i * s->out_c + c) * plane, plane);
    ref_input(s, x, v, n);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < s->out_c; c++)
            for (int t = 0; t < th * tw; t++) {
                float g[4][4], q[4][6], col[4], o[6];
                for (int a = 0; a < 4; a++) {
                    for (int b = 0; b < 4; b++) {
                        int oy = 4 * (t / tw) + a, ox = 4 * (t % tw) + b;
                        g[a][b] = oy < s->out_h && ox < s->out_w
                                      ? dy[(((size_t)i * s->out_c + c) * s->out_h + oy) *
                                           s->out_w + ox] : 0.0f;
                    }
                    ref_a(g[a], q[a]);
                }
                for (int j = 0; j < 6; j++) {
                    for (int a = 0; a < 4; a++)
                        col[a] = q[a][j];
                    ref_a(col, o);
                    for (int r = 0; r < 6; r++)
                        dm[((size_t)(r * 6 + j) * s->out_c + c) * cols +
                           (size_t)i * th * tw + t] = o[r];
                }
            }
    for (int xi = 0; xi < 36; xi++) {
        const float *dm_xi = dm + (size_t)xi * s->out_c * cols;
        float *v_xi = v + (size_t)xi * s->in_c * cols;
        nn_sgemm(0, 1, s->out_c, s->in_c, (int)cols, 1.0f, dm_xi, (int)cols,
                 v_xi, (int)cols, 1.0f, du + (size_t)xi * s->out_c * s->in_c,
                 s->in_c);
        nn_sgemm(1, 0, s->in_c, (int)cols, s->out_c, 1.0f,
                 u + (size_t)xi * s->out_c * s->in_c, s->in_c, dm_xi,
                 (int)cols, 0.0f, v_xi, (int)cols);
    }
    for (int i = 0; i < n; i++)
        for (int c = 0; c < s->in_c; c++) {
            float col6[6], o[6];
            /* vertical: h[r][j][tx] = rows 0 to 3 set, then 4 and 5 added */
            for (size_t k = 0; k < (size_t)rows * 6 * wide; k++)
                h[k] = 0.0f;
            for (int pass = 0; pass < 2; pass++)
                for (int t = 0; t < th * tw; t++)
                    for (int j = 0; j < 6; j++) {
                        int ty = t / tw, tx = t % tw;
                        for (int r = 0; r < 6; r++)
                            col6[r] = v[((size_t)(r * 6 + j) * s->in_c + c) * cols +
                                        (size_t)i * th * tw + t];
                        ref_b(col6, o);
                        for (int r = pass ? 4 : 0; r < (pass ? 6 : 4); r++) {
                            float *at = h + ((size_t)(4 * ty + r) * 6 + j) * wide + tx;
                            *at = pass ? *at + o[r] : o[r];
                        }
                    }
            /* horizontal, per image row: columns 0 to 3 set, 4 and 5 added */
            for (int r = 0; r < rows; r++) {
                int iy = r - s->pad;
                float cbuf[4 * 64 + 8];
                float *row;
                if (iy < 0 || iy >= s->in_h)
                    continue;
                row = dx + (((size_t)i * s->in_c + c) * s->in_h + iy) * s->in_w;
                for (int k = 0; k < 4 * (tw + 1); k++)
                    cbuf[k] = 0.0f;
                for (int pass = 0; pass < 2; pass++)
                    for (int tx = 0; tx < tw; tx++) {
                        for (int j = 0; j < 6; j++)
                            col6[j] = h[((size_t)r * 6 + j) * wide + tx];
                        ref_b(col6, o);
                        for (int k = pass ? 4 : 0; k < (pass ? 6 : 4); k++) {
                            float *at = cbuf + 4 * tx + k;
                            *at = pass ? *at + o[k] : o[k];
                        }
                    }
                for (int ix = 0; ix < s->in_w; ix++)
                    row[ix] += cbuf[ix + s->pad];
            }
        }
}

/* The library's F(4x4) forward and backward give the bits of the scalar
 * reference above on awkward shapes (partial tiles, padding 0 to 3, rows
 * without inner columns) and at preset sizes. */
static void test_same_bits_as_scalar_reference(void **state)
{
    static const geometry geometries[] = {
        {8, 8, 7, 6, 1, 3},    {9, 8, 11, 13, 0, 2}, {8, 10, 10, 9, 2, 2},
        {8, 8, 11, 7, 3, 2},   {8, 9, 3, 4, 1, 1},   {12, 8, 5, 22, 1, 3},
        {16, 16, 32, 32, 1, 2}, {32, 16, 16, 16, 1, 3}, {8, 8, 26, 26, 0, 1},
    };
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 97);
    for (size_t g = 0; g < sizeof geometries / sizeof *geometries; g++) {
        const geometry *ge = &geometries[g];
        nn_conv2d_shape s = {ge->in_c, ge->h, ge->w, ge->out_c, 3, 3, 1, ge->pad, 0, 0};
        size_t in_size, out_size, us, cols, sc;
        float *x, *w, *b, *dy, *u, *y[2], *dx[2], *du[2], *db[2], *scratch;
        int n = ge->n, th, tw;
        assert_nn_ok(nn_conv2d_shape_check(&s));
        if (n > nn_winograd43_group(&s))
            n = nn_winograd43_group(&s);
        th = (s.out_h + 3) / 4, tw = (s.out_w + 3) / 4;
        assert_true(tw < 64);
        cols = (size_t)n * th * tw;
        in_size = (size_t)n * s.in_c * s.in_h * s.in_w;
        out_size = (size_t)n * s.out_c * s.out_h * s.out_w;
        us = nn_winograd43_weights_size(&s);
        sc = nn_winograd43_scratch(&s) + 36 * (s.in_c + s.out_c) * cols +
             (size_t)(4 * th + 2) * 6 * (tw + 1);
        x = malloc(in_size * sizeof *x), w = malloc(9 * us / 36 * sizeof *w);
        b = malloc(s.out_c * sizeof *b), dy = malloc(out_size * sizeof *dy);
        u = malloc(us * sizeof *u), scratch = malloc(sc * sizeof *scratch);
        assert_true(x && w && b && dy && u && scratch);
        gc_fill_normal(x, in_size, 1.0f, &rng);
        gc_fill_normal(w, 9 * us / 36, 0.3f, &rng);
        gc_fill_normal(b, s.out_c, 0.1f, &rng);
        gc_fill_normal(dy, out_size, 1.0f, &rng);
        for (int k = 0; k < 2; k++) {
            y[k] = malloc(out_size * sizeof **y);
            dx[k] = malloc(in_size * sizeof **dx);
            du[k] = malloc(us * sizeof **du);
            db[k] = malloc(s.out_c * sizeof **db);
            assert_true(y[k] && dx[k] && du[k] && db[k]);
        }
        gc_fill_normal(dx[0], in_size, 0.5f, &rng);
        gc_fill_normal(du[0], us, 0.5f, &rng);
        gc_fill_normal(db[0], s.out_c, 0.5f, &rng);
        memcpy(dx[1], dx[0], in_size * sizeof **dx);
        memcpy(du[1], du[0], us * sizeof **du);
        memcpy(db[1], db[0], s.out_c * sizeof **db);
        nn_winograd43_weights(&s, w, u, 0, (size_t)s.out_c * s.in_c);
        nn_winograd43_forward(&s, nn_sgemm, u, x, b, y[0], scratch, n);
        nn_winograd43_backward(&s, nn_sgemm, u, x, dy, dx[0], du[0], db[0],
                               scratch, n);
        {
            float *v = scratch, *m = v + 36 * (size_t)s.in_c * cols;
            float *h = m + 36 * (size_t)s.out_c * cols;
            ref_forward(&s, u, x, b, y[1], v, m, n);
            ref_backward(&s, u, x, dy, dx[1], du[1], db[1], v, m, h, n);
        }
        assert_memory_equal(y[0], y[1], out_size * sizeof **y);
        assert_memory_equal(dx[0], dx[1], in_size * sizeof **dx);
        assert_memory_equal(du[0], du[1], us * sizeof **du);
        assert_memory_equal(db[0], db[1], s.out_c * sizeof **db);
        for (int k = 0; k < 2; k++)
            free(y[k]), free(dx[k]), free(du[k]), free(db[k]);
        free(x), free(w), free(b), free(dy), free(u), free(scratch);
    }
}

/* The weight transforms one channel pair at a time, as they were before
 * they ran over blocks of pairs: F(4x4)'s in double, F(2x2)'s in float. */
static void ref43_g(double a0, double a1, double a2, double o[6])
{
    o[0] = a0 / 4.0;
    o[1] = -(a0 + a1 + a2) / 6.0;
    o[2] = -(a0 - a1 + a2) / 6.0;
    o[3] = a0 / 24.0 + a1 / 12.0 + a2 / 6.0;
    o[4] = a0 / 24.0 - a1 / 12.0 + a2 / 6.0;
    o[5] = a2;
}

static void ref43_gt(const double a[6], double o[3])
{
    o[0] = a[0] / 4.0 - (a[1] + a[2]) / 6.0 + (a[3] + a[4]) / 24.0;
    o[1] = (a[2] - a[1]) / 6.0 + (a[3] - a[4]) / 12.0;
    o[2] = (a[3] + a[4]) / 6.0 - (a[1] + a[2]) / 6.0 + a[5];
}

/* u = G g G^T and dw += G^T du G for pair p of `pairs`: F(4x4). */
static void ref43_weights(const float *g, float *u, size_t pairs, size_t p)
{
    double t[3][6], col[6];
    for (int k = 0; k < 3; k++)
        ref43_g(g[3 * k], g[3 * k + 1], g[3 * k + 2], t[k]);
    for (int j = 0; j < 6; j++) {
        ref43_g(t[0][j], t[1][j], t[2][j], col);
        for (int i = 0; i < 6; i++)
            u[(size_t)(i * 6 + j) * pairs + p] = (float)col[i];
    }
}

static void ref43_weight_grads(const float *du, float *g, size_t pairs,
                               size_t p)
{
    double h[6][3], row[6], col[6], out[3];
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 6; j++)
            row[j] = du[(size_t)(i * 6 + j) * pairs + p];
        ref43_gt(row, h[i]);
    }
    for (int l = 0; l < 3; l++) {
        for (int i = 0; i < 6; i++)
            col[i] = h[i][l];
        ref43_gt(col, out);
        for (int k = 0; k < 3; k++)
            g[3 * k + l] += (float)out[k];
    }
}

/* The same for F(2x2). */
static void ref22_weights(const float *g, float *u, size_t pairs, size_t p)
{
    float t[3][4];
    for (int k = 0; k < 3; k++) {
        const float *row = g + 3 * k;
        t[k][0] = row[0];
        t[k][1] = (row[0] + row[1] + row[2]) * 0.5f;
        t[k][2] = (row[0] - row[1] + row[2]) * 0.5f;
        t[k][3] = row[2];
    }
    for (int j = 0; j < 4; j++) {
        u[(size_t)(0 * 4 + j) * pairs + p] = t[0][j];
        u[(size_t)(1 * 4 + j) * pairs + p] = (t[0][j] + t[1][j] + t[2][j]) * 0.5f;
        u[(size_t)(2 * 4 + j) * pairs + p] = (t[0][j] - t[1][j] + t[2][j]) * 0.5f;
        u[(size_t)(3 * 4 + j) * pairs + p] = t[2][j];
    }
}

static void ref22_weight_grads(const float *du, float *g, size_t pairs,
                               size_t p)
{
    float h[4][3];
    for (int i = 0; i < 4; i++) {
        float u0 = du[(size_t)(i * 4 + 0) * pairs + p];
        float u1 = du[(size_t)(i * 4 + 1) * pairs + p];
        float u2 = du[(size_t)(i * 4 + 2) * pairs + p];
        float u3 = du[(size_t)(i * 4 + 3) * pairs + p];
        h[i][0] = u0 + (u1 + u2) * 0.5f;
        h[i][1] = (u1 - u2) * 0.5f;
        h[i][2] = (u1 + u2) * 0.5f + u3;
    }
    for (int l = 0; l < 3; l++) {
        g[0 * 3 + l] += h[0][l] + (h[1][l] + h[2][l]) * 0.5f;
        g[1 * 3 + l] += (h[1][l] - h[2][l]) * 0.5f;
        g[2 * 3 + l] += (h[1][l] + h[2][l]) * 0.5f + h[3][l];
    }
}

/* The library's weight transforms of both tile sizes, which run over
 * blocks of channel pairs, give the one-pair formulas' bits: pair counts
 * below, at and past a block, ranges [first, last) starting and ending
 * inside one (as the weight tasks split them), the rest of u untouched. */
static void test_weight_transforms_same_bits(void **state)
{
    static const int channels[][2] = {{1, 1}, {3, 5}, {4, 4}, {8, 2},
                                      {17, 1}, {5, 7}, {16, 16}, {13, 11}};
    nn_rng rng;
    size_t checked = 0;
    (void)state;
    nn_rng_seed(&rng, 41);
    for (size_t c = 0; c < sizeof channels / sizeof *channels; c++) {
        nn_conv2d_shape s = {channels[c][0], 8, 8, channels[c][1], 3, 3, 1, 1, 0, 0};
        size_t pairs = (size_t)s.out_c * s.in_c, cuts[3];
        for (int f43 = 0; f43 < 2; f43++) {
            int points = f43 ? 36 : 16;
            size_t us = (size_t)points * pairs;
            float *w = malloc(9 * pairs * sizeof *w);
            float *u[2], *du = malloc(us * sizeof *du), *dw[2];
            for (int k = 0; k < 2; k++) {
                u[k] = malloc(us * sizeof **u);
                dw[k] = malloc(9 * pairs * sizeof **dw);
                assert_non_null(u[k]);
                assert_non_null(dw[k]);
            }
            assert_true(w && du);
            gc_fill_normal(w, 9 * pairs, 0.4f, &rng);
            gc_fill_normal(du, us, 1.0f, &rng);
            gc_fill_normal(dw[0], 9 * pairs, 0.2f, &rng);
            memcpy(dw[1], dw[0], 9 * pairs * sizeof **dw);
            gc_fill_normal(u[0], us, 1.0f, &rng);
            memcpy(u[1], u[0], us * sizeof **u);
            /* three ranges covering the pairs, cut at odd places */
            cuts[0] = 0, cuts[1] = pairs / 3, cuts[2] = pairs;
            for (int r = 0; r < 2; r++) {
                if (f43)
                    nn_winograd43_weights(&s, w, u[0], cuts[r], cuts[r + 1]);
                else
                    nn_winograd_weights(&s, w, u[0], cuts[r], cuts[r + 1]);
            }
            for (size_t p = 0; p < pairs; p++) {
                if (f43)
                    ref43_weights(w + 9 * p, u[1], pairs, p);
                else
                    ref22_weights(w + 9 * p, u[1], pairs, p);
            }
            if (f43)
                nn_winograd43_weight_grads(&s, du, dw[0]);
            else
                nn_winograd_weight_grads(&s, du, dw[0]);
            for (size_t p = 0; p < pairs; p++) {
                if (f43)
                    ref43_weight_grads(du, dw[1] + 9 * p, pairs, p);
                else
                    ref22_weight_grads(du, dw[1] + 9 * p, pairs, p);
            }
            assert_memory_equal(u[0], u[1], us * sizeof **u);
            assert_memory_equal(dw[0], dw[1], 9 * pairs * sizeof **dw);
            checked += pairs;
            /* a middle range leaves the pairs outside it as they were */
            if (pairs > 2) {
                float mark = 12345.0f;
                for (size_t i = 0; i < us; i++)
                    u[0][i] = mark;
                if (f43)
                    nn_winograd43_weights(&s, w, u[0], 1, pairs - 1);
                else
                    nn_winograd_weights(&s, w, u[0], 1, pairs - 1);
                for (int xi = 0; xi < points; xi++) {
                    assert_true(u[0][(size_t)xi * pairs] == mark);
                    assert_true(u[0][(size_t)xi * pairs + pairs - 1] == mark);
                    assert_true(u[0][(size_t)xi * pairs + 1] ==
                                u[1][(size_t)xi * pairs + 1]);
                }
            }
            for (int k = 0; k < 2; k++)
                free(u[k]), free(dw[k]);
            free(w), free(du);
        }
    }
    print_message("weight transforms: %zu pairs per tile size, the same bits\n",
                  checked / 2);
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
        cmocka_unit_test(test_same_bits_as_scalar_reference),
        cmocka_unit_test(test_weight_transforms_same_bits),
        cmocka_unit_test(test_training_runs_f43),
        cmocka_unit_test(test_gradients_through_f43),
        cmocka_unit_test(test_training_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
