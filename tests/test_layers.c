/* Central-difference checks of every layer module's input and parameter
 * gradients. Each layer under test sits after another layer (or reads the
 * net's input with the input gradient switched on), so dL/dx is checked. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-3
#define POINTS 60

static nn_net *make_net(int c, int h, int w)
{
    nn_net *net = NULL;
    assert_nn_ok(nn_net_create(c, h, w, &net));
    return net;
}

static const nn_kernels every_kernels[] = {NN_KERNELS_AUTO, NN_KERNELS_PORTABLE,
                                           NN_KERNELS_REFERENCE};

/* Builds the net for `batch` to run `kernels` in the mode it was set to
 * (building sets training mode), fills the input with N(0,1) and checks
 * it. */
static void check_with(nn_net *net, int batch, uint64_t seed, nn_kernels kernels)
{
    int training = nn_net_training(net);
    nn_rng rng;
    nn_tensor *in;
    gc_result r;
    assert_nn_ok(nn_net_build(net, batch, seed));
    nn_net_set_training(net, training);
    assert_int_equal(nn_net_training(net), training);
    assert_nn_ok(nn_net_set_kernels(net, kernels));
    in = nn_net_input(net);
    nn_rng_seed(&rng, seed + 1);
    gc_fill_normal(in->x, nn_tensor_count(in), 1.0f, &rng);
    r = gc_check_net(net, batch, seed + 2, POINTS, 1e-2f, NULL);
    print_message("  max error %.2e, max |numeric| %.3f, %d checked, %d skipped\n",
                  r.max_error, r.max_numeric, r.checked, r.skipped);
    assert_true(gc_passed(&r, TOL));
    nn_net_destroy(net);
}

static void check(nn_net *net, int batch, uint64_t seed)
{
    check_with(net, batch, seed, NN_KERNELS_AUTO);
}

static void test_dense(void **state)
{
    nn_net *net = make_net(3, 2, 2); /* flattened to 12 inputs */
    (void)state;
    assert_nn_ok(nn_net_add_dense(net, 7));
    assert_nn_ok(nn_net_add_dense(net, 5));
    check(net, 3, 11);
}

static void conv_case(int stride, int pad, int kh, int kw)
{
    /* N=2, C=3, H=7, W=6: small, odd and non-square. */
    nn_net *net = make_net(3, 7, 6);
    print_message("  conv %dx%d stride %d pad %d\n", kh, kw, stride, pad);
    assert_nn_ok(nn_net_add_conv2d(net, 4, kh, kw, stride, pad));
    assert_nn_ok(nn_net_add_conv2d(net, 2, 3, 3, 1, 1));
    check(net, 2, 100 + stride * 10 + pad);
}

static void test_conv_stride1_pad0(void **state)
{
    (void)state;
    conv_case(1, 0, 3, 3);
}

static void test_conv_stride2_pad1(void **state)
{
    (void)state;
    conv_case(2, 1, 3, 3);
}

static void test_conv_stride1_pad1_nonsquare_kernel(void **state)
{
    (void)state;
    conv_case(1, 1, 3, 2);
}

static void test_conv_stride2_pad0_5x5(void **state)
{
    (void)state;
    conv_case(2, 0, 5, 5);
}

/* An input of distinct values at least 0.05 apart (a shuffled ramp), so that
 * a step of 0.01 never changes a max-pool winner or crosses relu's kink;
 * the net runs `kernels`. */
static void check_spaced_with(nn_net *net, int batch, uint64_t seed,
                              nn_kernels kernels)
{
    nn_rng rng;
    nn_tensor *in;
    size_t n;
    gc_result r;
    assert_nn_ok(nn_net_build(net, batch, seed));
    assert_nn_ok(nn_net_set_kernels(net, kernels));
    in = nn_net_input(net);
    n = nn_tensor_count(in);
    nn_rng_seed(&rng, seed);
    gc_fill_spaced(in->x, n, &rng);
    r = gc_check_net(net, batch, seed + 2, 1000, 1e-2f, NULL);
    print_message("  max error %.2e, %d checked, %d skipped\n", r.max_error,
                  r.checked, r.skipped);
    assert_int_equal(r.skipped, 0);
    assert_true(gc_passed(&r, TOL));
    nn_net_destroy(net);
}

static void check_spaced(nn_net *net, int batch, uint64_t seed)
{
    check_spaced_with(net, batch, seed, NN_KERNELS_AUTO);
}

static void test_relu(void **state)
{
    nn_net *net = make_net(2, 3, 4);
    (void)state;
    assert_nn_ok(nn_net_add_relu(net));
    check_spaced(net, 2, 21);
}

static void test_sigmoid(void **state)
{
    nn_net *net = make_net(2, 3, 4);
    (void)state;
    assert_nn_ok(nn_net_add_sigmoid(net));
    check_spaced(net, 2, 22);
}

static void test_tanh(void **state)
{
    nn_net *net = make_net(2, 3, 4);
    (void)state;
    assert_nn_ok(nn_net_add_tanh(net));
    check_spaced(net, 2, 23);
}

static void test_maxpool_2x2_stride2(void **state)
{
    nn_net *net = make_net(3, 6, 8);
    (void)state;
    assert_nn_ok(nn_net_add_maxpool(net, 2, 2));
    check_spaced(net, 2, 31);
}

static void test_maxpool_3x3_stride2_overlapping(void **state)
{
    nn_net *net = make_net(2, 7, 9);
    (void)state;
    assert_nn_ok(nn_net_add_maxpool(net, 3, 2));
    check_spaced(net, 2, 32);
}

static void test_maxpool_3x3_stride1_overlapping(void **state)
{
    nn_net *net = make_net(2, 5, 6);
    (void)state;
    assert_nn_ok(nn_net_add_maxpool(net, 3, 1));
    check_spaced(net, 2, 33);
}

/* The 2 x 2, stride 2 kernel (its own branch-free path) picks the same
 * winner as a plain scan of each window in order with a strict '>': the
 * first of tied values, -0 and +0 as ties; and a NaN anywhere in a window
 * wins, the first one, wherever it stands (PyTorch passes NaN on too).
 * Odd sizes leave a column and a row unread. */
static void test_maxpool_2x2_ties_and_nans(void **state)
{
    enum { P = 3, H = 5, W = 7, OH = 2, OW = 3 };
    static const float values[] = {-1.0f, 0.0f, -0.0f, 1.0f, 2.0f};
    float x[P * H * W], y[P * OH * OW], dx[P * H * W] = {0};
    float dy[P * OH * OW];
    int argmax[P * OH * OW];
    nn_pool2d_shape s = {.in_h = H, .in_w = W, .kh = 2, .kw = 2, .stride = 2};
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 34);
    for (int i = 0; i < P * H * W; i++)
        x[i] = values[nn_rng_below(&rng, 5)];
    x[0] = NAN;          /* first in window (0, 0) of plane 0 */
    x[H * W + 3] = NAN;  /* second in window (0, 1) of plane 1 */
    x[2 * H * W + W + 4] = NAN; /* third in window (0, 2) of plane 2 */
    assert_nn_ok(nn_pool2d_shape_check(&s));
    assert_int_equal(s.out_h * s.out_w, OH * OW);
    nn_maxpool_forward(&s, x, y, argmax, P);
    for (int p = 0; p < P; p++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *plane = x + p * H * W;
                int at = 2 * oy * W + 2 * ox, best_at = at;
                int o = (p * OH + oy) * OW + ox;
                int nan_at = -1;
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        float v = plane[at + i * W + j];
                        if (v > plane[best_at])
                            best_at = at + i * W + j;
                        if (isnan(v) && nan_at < 0)
                            nan_at = at + i * W + j;
                    }
                if (nan_at >= 0) {
                    assert_int_equal(argmax[o], nan_at);
                    assert_true(isnan(y[o]));
                    continue;
                }
                assert_int_equal(argmax[o], best_at);
                assert_memory_equal(&y[o], &plane[best_at], sizeof(float));
            }
    /* The gradient goes to the winner only. */
    for (int i = 0; i < P * OH * OW; i++)
        dy[i] = (float)(i + 1);
    nn_maxpool_backward(&s, dy, argmax, dx, P);
    for (int i = 0; i < P * OH * OW; i++)
        assert_true(dx[(i / (OH * OW)) * H * W + argmax[i]] == dy[i]);
}

/* The dense layer computes y^T = W x^T by pieces of the batch (y = x W^T
 * for pieces under 8 rows); its output is bit-identical to
 * nn_dense_forward's y = x W^T + b, with one piece (batch 5 or 9), two (64)
 * or three (100), on one thread or two. */
static void test_dense_layer_matches_kernel(void **state)
{
    static const int batches[] = {5, 9, 64, 100};
    enum { IN = 37, OUT = 21 };
    (void)state;
    for (int b = 0; b < 4; b++)
        for (int threads = 1; threads <= 2; threads++) {
            int n = batches[b];
            nn_net *net = make_net(1, 1, IN);
            float *params, *grads, *expected = malloc(sizeof(float) * n * OUT);
            size_t count;
            nn_rng rng;
            assert_non_null(expected);
            assert_nn_ok(nn_net_add_dense(net, OUT));
            assert_nn_ok(nn_net_build(net, n, 61));
            assert_nn_ok(nn_net_set_threads(net, threads));
            assert_nn_ok(nn_net_layer_params(net, 0, &params, &grads, &count));
            nn_rng_seed(&rng, 62);
            gc_fill_normal(params + IN * OUT, OUT, 1.0f, &rng); /* biases */
            gc_fill_normal(nn_net_input(net)->x, (size_t)n * IN, 1.0f, &rng);
            nn_dense_forward(nn_net_input(net)->x, params, params + IN * OUT,
                             expected, n, IN, OUT);
            assert_nn_ok(nn_net_forward(net, n));
            assert_memory_equal(nn_net_output(net)->x, expected,
                                sizeof(float) * n * OUT);
            free(expected);
            nn_net_destroy(net);
        }
}

static void test_batchnorm_after_dense(void **state)
{
    nn_net *net = make_net(1, 1, 5);
    (void)state;
    assert_nn_ok(nn_net_add_dense(net, 6));
    assert_nn_ok(nn_net_add_batchnorm(net));
    check(net, 4, 41);
}

static void test_batchnorm_after_conv(void **state)
{
    nn_net *net = make_net(2, 5, 4);
    (void)state;
    assert_nn_ok(nn_net_add_conv2d(net, 3, 3, 3, 1, 1));
    assert_nn_ok(nn_net_add_batchnorm(net));
    check(net, 3, 42);
}

/* Largest |a - b| / max(1, |b|) over n values. */
static double worst_difference(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs(b[i]));
        if (d > worst)
            worst = d;
    }
    return worst;
}

/* The batchnorm layer (sums per shard and channel in lanes, cut across
 * threads, xhat recomputed from the input in backward) gives the public
 * kernels' output, running statistics and gradients within rounding:
 * 17 channels (uneven tasks) of 5x7 (lanes and a remainder) or 1x1 (with
 * eps 1e-3, given as nn_net_add_layer's args), a
 * batch of 6 on 4 shards, one thread or two, training and inference. */
static void test_batchnorm_layer_matches_kernels(void **state)
{
    enum { C = 17, N = 6 };
    static const int sides[2][2] = {{5, 7}, {1, 1}};
    (void)state;
    for (int side = 0; side < 2; side++)
        for (int case_ = 0; case_ < 4; case_++) {
            int threads = 1 + case_ % 2, training = case_ < 2;
            int h = sides[side][0], w = sides[side][1], hw = h * w;
            size_t count = (size_t)N * C * hw;
            nn_net *net = make_net(C, h, w);
            float *params, *grads, *y = malloc(sizeof(float) * count);
            float *xhat = malloc(sizeof(float) * count);
            float *dx = calloc(count, sizeof(float)), *state_ref;
            float invstd[C], dgamma[C] = {0}, dbeta[C] = {0};
            size_t n_params;
            nn_tensor *in, *out;
            nn_rng rng;
            float eps = side ? 1e-3f : 1e-5f; /* an args.eps of its own */
            assert_true(y && xhat && dx);
            assert_nn_ok(nn_net_add_layer(net, "bn", &(nn_layer_args){.eps = eps}));
            nn_net_set_input_grad(net, 1);
            assert_nn_ok(nn_net_build(net, N, 71));
            assert_nn_ok(nn_net_set_threads(net, threads));
            nn_net_set_training(net, training);
            assert_nn_ok(nn_net_layer_params(net, 0, &params, &grads, &n_params));
            in = nn_net_input(net);
            out = nn_net_output(net);
            nn_rng_seed(&rng, 72 + (uint64_t)case_);
            gc_fill_normal(params, 2 * C, 1.0f, &rng); /* gamma, beta */
            gc_fill_normal(nn_net_state(net), 2 * C, 0.5f, &rng);
            for (int ch = 0; ch < C; ch++) /* positive running variances */
                nn_net_state(net)[C + ch] = 0.5f + fabsf(nn_net_state(net)[C + ch]);
            gc_fill_normal(in->x, count, 2.0f, &rng);
            for (size_t i = 0; i < count; i++)
                in->x[i] += 3.0f; /* a mean far from 0 */
            state_ref = malloc(sizeof(float) * 2 * C);
            assert_non_null(state_ref);
            memcpy(state_ref, nn_net_state(net), sizeof(float) * 2 * C);
            if (training)
                nn_batchnorm_forward_train(in->x, params, params + C, y, xhat,
                                           invstd, state_ref, state_ref + C, N,
                                           C, hw, 0.1f, eps);
            else
                nn_batchnorm_forward_infer(in->x, params, params + C, state_ref,
                                           state_ref + C, y, xhat, invstd, N, C,
                                           hw, eps);
            assert_nn_ok(nn_net_forward(net, N));
            print_message("  %dx%d, %d thread(s), %s: output %.2e, statistics %.2e\n",
                          h, w, threads, training ? "training" : "inference",
                          worst_difference(out->x, y, count),
                          worst_difference(nn_net_state(net), state_ref, 2 * C));
            assert_true(worst_difference(out->x, y, count) < 1e-5);
            assert_true(worst_difference(nn_net_state(net), state_ref, 2 * C) < 1e-6);

            gc_fill_normal(out->g, count, 1.0f, &rng);
            nn_batchnorm_backward(out->g, xhat, params, invstd, dx, dgamma,
                                  dbeta, N, C, hw, training);
            nn_net_zero_grad(net);
            assert_nn_ok(nn_net_backward(net));
            print_message("  input gradient %.2e, gamma %.2e, beta %.2e\n",
                          worst_difference(in->g, dx, count),
                          worst_difference(grads, dgamma, C),
                          worst_difference(grads + C, dbeta, C));
            assert_true(worst_difference(in->g, dx, count) < 1e-5);
            assert_true(worst_difference(grads, dgamma, C) < 1e-5);
            assert_true(worst_difference(grads + C, dbeta, C) < 1e-5);
            free(y), free(xhat), free(dx), free(state_ref);
            nn_net_destroy(net);
        }
}

static void test_batchnorm_inference_mode(void **state)
{
    nn_net *net = make_net(2, 5, 4);
    (void)state;
    assert_nn_ok(nn_net_add_conv2d(net, 3, 3, 3, 1, 1));
    assert_nn_ok(nn_net_add_batchnorm(net));
    nn_net_set_training(net, 0);
    check(net, 3, 43);
}

/* ------------------------------------------- batchnorm with a tiny variance */

enum { BN_C = 3, BN_H = 2, BN_W = 3, BN_N = 4, BN_HW = BN_H * BN_W,
       BN_M = BN_N * BN_HW, BN_COUNT = BN_N * BN_C * BN_HW };

/* Channel ch of x (BN_N, BN_C, BN_HW) in training mode, in double:
 * y = gamma (x - mean) / sqrt(var + eps) + beta with the biased variance;
 * returns sum r y over the channel, and its mean and sum of squared
 * deviations in *mean, *sq. */
static double bn_channel_double(const double *x, const double *r, double gamma,
                                double beta, int ch, double eps, double *mean,
                                double *sq)
{
    double sum = 0.0, dev = 0.0, loss = 0.0, invstd;
    for (int i = 0; i < BN_N; i++)
        for (int j = 0; j < BN_HW; j++)
            sum += x[(i * BN_C + ch) * BN_HW + j];
    *mean = sum / BN_M;
    for (int i = 0; i < BN_N; i++)
        for (int j = 0; j < BN_HW; j++) {
            double d = x[(i * BN_C + ch) * BN_HW + j] - *mean;
            dev += d * d;
        }
    *sq = dev;
    invstd = 1.0 / sqrt(dev / BN_M + eps);
    for (int i = 0; i < BN_N; i++)
        for (int j = 0; j < BN_HW; j++) {
            int at = (i * BN_C + ch) * BN_HW + j;
            loss += r[at] * (gamma * (x[at] - *mean) * invstd + beta);
        }
    return loss;
}

/* |a - b| / max(1, |a|, |b|) */
static double floored_error(double a, double b)
{
    return fabs(a - b) / fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* eps sits inside the square root, x_hat = (x - mean) / sqrt(var + eps),
 * in training and in inference mode, and nowhere else (not in the running
 * variance): what only shows when a channel's variance is small beside
 * eps; the layer is `spec` ("bn" for eps 1e-5, "bneps0.001"). Channel 0 spreads by 1e-4 around 0.25 (variance ~3e-9), channel 1
 * by 3e-3 (~3e-6, near eps), channel 2 by 2 (a usual one). The layer's
 * output, running statistics (starting from a running variance of 1e-9)
 * and, in inference mode, the public kernels' output follow the formulas
 * in double; the gradients of x, gamma and beta in training mode follow
 * central differences of the double formula (step 1e-6, far below the
 * channels' sqrt(var + eps) >= 3e-3). */
static void bn_tiny_variance_case(const char *spec, float eps_float)
{
    const double eps = eps_float; /* the float the layer holds, exactly */
    static const double spread[BN_C] = {1e-4, 3e-3, 2.0};
    static const double centre[BN_C] = {0.25, -0.5, 1.0};
    static const float gamma[BN_C] = {1.5f, -0.7f, 0.9f};
    static const float beta[BN_C] = {0.1f, 0.2f, -0.3f};
    static const float running0[2 * BN_C] = {0.25f, -0.5f, 0.8f,
                                             1e-9f, 2e-6f, 1.5f};
    double x[BN_COUNT], r[BN_COUNT], mean[BN_C], sq[BN_C];
    float y_kernel[BN_COUNT], xhat[BN_COUNT], invstd[BN_C];
    double worst = 0.0, largest = 0.0;
    nn_net *net = make_net(BN_C, BN_H, BN_W);
    float *params, *grads, *running;
    size_t count;
    nn_tensor *in, *out;
    nn_rng rng;
    print_message("  %s\n", spec);
    assert_nn_ok(nn_net_add_spec(net, spec, NULL, 0));
    nn_net_set_input_grad(net, 1);
    assert_nn_ok(nn_net_build(net, BN_N, 81));
    assert_nn_ok(nn_net_layer_params(net, 0, &params, &grads, &count));
    assert_int_equal(count, 2 * BN_C);
    memcpy(params, gamma, sizeof gamma);
    memcpy(params + BN_C, beta, sizeof beta);
    running = nn_net_state(net);
    memcpy(running, running0, sizeof running0);
    in = nn_net_input(net);
    out = nn_net_output(net);
    nn_rng_seed(&rng, 82);
    for (int i = 0; i < BN_COUNT; i++) {
        int ch = (i / BN_HW) % BN_C;
        double u = 2.0 * (nn_rng_below(&rng, 1u << 20) / (double)(1u << 20)) - 1.0;
        in->x[i] = (float)(centre[ch] + spread[ch] * u);
        x[i] = in->x[i]; /* the float input, exactly */
        r[i] = nn_rng_normal(&rng);
    }

    /* Training mode: the batch's statistics. */
    assert_nn_ok(nn_net_forward(net, BN_N));
    for (int ch = 0; ch < BN_C; ch++) {
        double var, invstd_d, rv;
        bn_channel_double(x, r, gamma[ch], beta[ch], ch, eps, &mean[ch], &sq[ch]);
        var = sq[ch] / BN_M;
        invstd_d = 1.0 / sqrt(var + eps);
        print_message("  channel %d: variance %.2e\n", ch, var);
        for (int i = 0; i < BN_N; i++)
            for (int j = 0; j < BN_HW; j++) {
                int at = (i * BN_C + ch) * BN_HW + j;
                double want = gamma[ch] * (x[at] - mean[ch]) * invstd_d + beta[ch];
                if (floored_error(out->x[at], want) > 1e-4)
                    fail_msg("training, channel %d, value %d: %.9g, expected %.9g",
                             ch, at, out->x[at], want);
            }
        rv = 0.9 * running0[BN_C + ch] + 0.1 * sq[ch] / (BN_M - 1);
        assert_close(running[ch], 0.9 * running0[ch] + 0.1 * mean[ch], 1e-6);
        if (fabs(running[BN_C + ch] - rv) > 1e-4 * rv)
            fail_msg("running variance %d: %.9g, expected %.9g", ch,
                     running[BN_C + ch], rv);
    }

    /* Its gradients against central differences of the double formula. */
    for (int i = 0; i < BN_COUNT; i++)
        out->g[i] = (float)r[i];
    nn_net_zero_grad(net);
    assert_nn_ok(nn_net_backward(net));
    for (int i = 0; i < BN_COUNT; i++) {
        int ch = (i / BN_HW) % BN_C;
        double keep = x[i], m, s, up, down, numeric;
        x[i] = keep + 1e-6;
        up = bn_channel_double(x, r, gamma[ch], beta[ch], ch, eps, &m, &s);
        x[i] = keep - 1e-6;
        down = bn_channel_double(x, r, gamma[ch], beta[ch], ch, eps, &m, &s);
        x[i] = keep;
        numeric = (up - down) / 2e-6;
        worst = fmax(worst, floored_error(in->g[i], numeric));
        largest = fmax(largest, fabs(numeric));
        if (floored_error(in->g[i], numeric) > 1e-3)
            fail_msg("dx[%d] (channel %d): %.9g, numeric %.9g", i, ch,
                     in->g[i], numeric);
    }
    for (int ch = 0; ch < BN_C; ch++) {
        double m, s, up, down;
        up = bn_channel_double(x, r, gamma[ch] + 1e-6, beta[ch], ch, eps, &m, &s);
        down = bn_channel_double(x, r, gamma[ch] - 1e-6, beta[ch], ch, eps, &m, &s);
        assert_true(floored_error(grads[ch], (up - down) / 2e-6) < 1e-3);
        up = bn_channel_double(x, r, gamma[ch], beta[ch] + 1e-6, ch, eps, &m, &s);
        down = bn_channel_double(x, r, gamma[ch], beta[ch] - 1e-6, ch, eps, &m, &s);
        assert_true(floored_error(grads[BN_C + ch], (up - down) / 2e-6) < 1e-3);
    }
    print_message("  input gradient: max error %.2e, max |numeric| %.1f\n",
                  worst, largest);
    assert_true(largest > 10.0); /* channel 0's gradient is large, not 0 */

    /* Inference mode: the running statistics, from the layer and from the
     * public kernel with the same eps. */
    nn_net_set_training(net, 0);
    assert_nn_ok(nn_net_forward(net, BN_N));
    nn_batchnorm_forward_infer(in->x, gamma, beta, running, running + BN_C,
                               y_kernel, xhat, invstd, BN_N, BN_C, BN_HW,
                               eps_float);
    for (int i = 0; i < BN_COUNT; i++) {
        int ch = (i / BN_HW) % BN_C;
        double want = gamma[ch] * (x[i] - running[ch]) /
                          sqrt((double)running[BN_C + ch] + eps) + beta[ch];
        if (floored_error(out->x[i], want) > 1e-4 ||
            floored_error(y_kernel[i], want) > 1e-4)
            fail_msg("inference, channel %d, value %d: %.9g (kernel %.9g), "
                     "expected %.9g", ch, i, out->x[i], y_kernel[i], want);
    }
    nn_net_destroy(net);
}

static void test_batchnorm_tiny_variance_against_double(void **state)
{
    (void)state;
    bn_tiny_variance_case("bn", 1e-5f);
}

/* Keras's epsilon: a variance of 3e-9 beside 1e-3 gives outputs a tenth of
 * those with 1e-5, so a path that kept 1e-5 fails. */
static void test_batchnorm_eps_1e3_against_double(void **state)
{
    (void)state;
    bn_tiny_variance_case("bneps0.001", 1e-3f);
}

/* Gradient checks of batchnorm with eps 1e-3 after a convolution, in
 * training and in inference mode, through every kernel choice. */
static void test_batchnorm_eps_gradients(void **state)
{
    (void)state;
    for (int training = 0; training <= 1; training++)
        for (int k = 0; k < 3; k++) {
            nn_net *net = make_net(2, 5, 4);
            print_message("  bneps0.001, %s, kernels %d\n",
                          training ? "training" : "inference",
                          (int)every_kernels[k]);
            assert_nn_ok(nn_net_add_spec(net, "conv3x3x3p1,bneps0.001", NULL, 0));
            nn_net_set_training(net, training);
            check_with(net, 3, 44 + (uint64_t)k, every_kernels[k]);
        }
}

/* ------------------------------------------------------- max-pool ties */

/* Each window's winner by the documented rule, written out: the first
 * value of the window inside the plane in row-major order that no later
 * one exceeds (a strict '>' scan), as PyTorch picks it; positions in the
 * padding or past the input (ceil mode) are skipped, never chosen. */
static void maxpool_reference(const nn_pool2d_shape *s, const float *x,
                              float *y, int *where, float *dx, const float *dy,
                              int planes)
{
    int h = s->in_h, w = s->in_w, out_h = s->out_h, out_w = s->out_w;
    for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < out_h; oy++)
            for (int ox = 0; ox < out_w; ox++) {
                const float *plane = x + (size_t)p * h * w;
                int o = (p * out_h + oy) * out_w + ox;
                int best = -1;
                for (int i = 0; i < s->kh; i++)
                    for (int j = 0; j < s->kw; j++) {
                        int ih = oy * s->stride - s->pad + i;
                        int iw = ox * s->stride - s->pad + j;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                            continue;
                        if (best < 0 || plane[ih * w + iw] > plane[best])
                            best = ih * w + iw;
                    }
                assert_true(best >= 0); /* every window holds an input */
                y[o] = plane[best];
                where[o] = best;
                dx[(size_t)p * h * w + best] += dy[o];
            }
}

/* A net of the one layer `spec` (of geometry s) on planes channels, on
 * `kernels` and `threads` threads, gives y_ref for the input x and dx_ref
 * for the output gradient dy, bit for bit. */
static void check_pool_net(const char *spec, const nn_pool2d_shape *s,
                           int planes, nn_kernels kernels, int threads,
                           const float *x, const float *dy, const float *y_ref,
                           const float *dx_ref)
{
    size_t in_n = (size_t)planes * s->in_h * s->in_w;
    size_t out_n = (size_t)planes * s->out_h * s->out_w;
    nn_net *net = make_net(planes, s->in_h, s->in_w);
    nn_tensor *in, *out;
    assert_nn_ok(nn_net_add_spec(net, spec, NULL, 0));
    nn_net_set_input_grad(net, 1);
    assert_nn_ok(nn_net_build(net, 1, 91));
    assert_nn_ok(nn_net_set_kernels(net, kernels));
    assert_nn_ok(nn_net_set_threads(net, threads));
    in = nn_net_input(net);
    out = nn_net_output(net);
    assert_int_equal(nn_tensor_count(out), out_n);
    memcpy(in->x, x, sizeof(float) * in_n);
    assert_nn_ok(nn_net_forward(net, 1));
    assert_memory_equal(out->x, y_ref, sizeof(float) * out_n);
    memcpy(out->g, dy, sizeof(float) * out_n);
    memset(in->g, 0, sizeof(float) * in_n);
    assert_nn_ok(nn_net_backward(net));
    assert_memory_equal(in->g, dx_ref, sizeof(float) * in_n);
    nn_net_destroy(net);
}

/* Ties in every pair of window positions (a before b in row-major order,
 * so across the first row, the first column and the diagonal too), for
 * the 2 x 2 stride 2 path and the general one (overlapping and not):
 * plane q holds a ramp rising in row-major order (the last value of a
 * window wins when nothing ties) with pair q set to 5 in window q of the
 * plane's windows. The first of the two wins: the forward value, where
 * the public kernel says it was, and where backward sends the gradient,
 * through the kernels and through a net on each kernel choice and 1 or 2
 * threads. */
static void test_maxpool_ties_in_every_position_pair(void **state)
{
    static const int cases[][4] = {/* k, stride, h, w */
                                   {2, 2, 4, 6}, {2, 1, 3, 4}, {3, 1, 4, 5},
                                   {3, 2, 5, 7}, {3, 3, 6, 6}};
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int k = cases[c][0], stride = cases[c][1], h = cases[c][2], w = cases[c][3];
        int out_h = (h - k) / stride + 1, out_w = (w - k) / stride + 1;
        nn_pool2d_shape shape = {.in_h = h, .in_w = w, .kh = k, .kw = k,
                                 .stride = stride};
        int pairs = k * k * (k * k - 1) / 2, q = 0, first_won = 0;
        size_t in_n = (size_t)pairs * h * w, out_n = (size_t)pairs * out_h * out_w;
        float *x = malloc(sizeof(float) * in_n), *dx = calloc(in_n, sizeof(float));
        float *dx_ref = calloc(in_n, sizeof(float));
        float *y = malloc(sizeof(float) * out_n), *y_ref = malloc(sizeof(float) * out_n);
        float *dy = malloc(sizeof(float) * out_n);
        int *where = malloc(sizeof(int) * out_n), *where_ref = malloc(sizeof(int) * out_n);
        char spec[32];
        assert_true(x && dx && dx_ref && y && y_ref && dy && where && where_ref);
        print_message("  pool %d stride %d on %dx%d: %d pairs\n", k, stride, h, w, pairs);
        for (int a = 0; a < k * k; a++)
            for (int b = a + 1; b < k * k; b++, q++) {
                float *plane = x + (size_t)q * h * w;
                int window = q % (out_h * out_w);
                int corner = (window / out_w) * stride * w + (window % out_w) * stride;
                for (int i = 0; i < h * w; i++)
                    plane[i] = -10.0f + 0.01f * (float)i;
                plane[corner + (a / k) * w + a % k] = 5.0f;
                plane[corner + (b / k) * w + b % k] = 5.0f;
            }
        for (size_t i = 0; i < out_n; i++)
            dy[i] = (float)(i % 13 + 1);
        assert_nn_ok(nn_pool2d_shape_check(&shape));
        assert_int_equal(shape.out_h * shape.out_w, out_h * out_w);
        maxpool_reference(&shape, x, y_ref, where_ref, dx_ref, dy, pairs);
        /* Non-vacuity: in each plane's tied window the earlier of the pair
         * is the winner, so a "last on ties" rule would differ there. */
        q = 0;
        for (int a = 0; a < k * k; a++)
            for (int b = a + 1; b < k * k; b++, q++) {
                int window = q % (out_h * out_w);
                int corner = (window / out_w) * stride * w + (window % out_w) * stride;
                first_won += where_ref[q * out_h * out_w + window] ==
                             corner + (a / k) * w + a % k;
            }
        assert_int_equal(first_won, pairs);

        nn_maxpool_forward(&shape, x, y, where, pairs);
        nn_maxpool_backward(&shape, dy, where, dx, pairs);
        assert_memory_equal(where, where_ref, sizeof(int) * out_n);
        assert_memory_equal(y, y_ref, sizeof(float) * out_n);
        assert_memory_equal(dx, dx_ref, sizeof(float) * in_n);

        snprintf(spec, sizeof spec, "pool%ds%d", k, stride);
        for (int choice = 0; choice < 3; choice++)
            for (int threads = 1; threads <= 2; threads++)
                check_pool_net(spec, &shape, pairs, every_kernels[choice],
                               threads, x, dy, y_ref, dx_ref);
        free(x), free(dx), free(dx_ref), free(y), free(y_ref), free(dy);
        free(where), free(where_ref);
    }
}

/* The padding never wins, with PyTorch's numbers: -1..-16 on 4 x 4 with
 * k 3 s 2 p 1 give -1 -2 -5 -6 (max_pool2d(-x, 3, 2, 1); zeros in the
 * padding would give 0), in ceil mode 3 x 3 with windows past the input;
 * 1..25 on 5 x 5, k 2 s 2, ceil mode: 7 9 10 17 19 20 22 24 25. The
 * gradient goes to the winners. */
static void test_maxpool_padding_and_ceil_by_hand(void **state)
{
    static const float padded[4] = {-1, -2, -5, -6};
    static const float padded_ceil[9] = {-1, -2, -4, -5, -6, -8, -13, -14, -16};
    static const float ceil5[9] = {7, 9, 10, 17, 19, 20, 22, 24, 25};
    float x[25], y[9], dy[9], dx[25] = {0};
    int where[9];
    nn_pool2d_shape s = {.in_h = 4, .in_w = 4, .kh = 3, .kw = 3, .stride = 2,
                         .pad = 1};
    (void)state;
    for (int i = 0; i < 16; i++)
        x[i] = -(float)(i + 1);
    assert_nn_ok(nn_pool2d_shape_check(&s));
    assert_int_equal(s.out_h * s.out_w, 4);
    nn_maxpool_forward(&s, x, y, where, 1);
    assert_memory_equal(y, padded, sizeof padded);
    s.ceil_mode = 1;
    assert_nn_ok(nn_pool2d_shape_check(&s));
    assert_int_equal(s.out_h * s.out_w, 9);
    nn_maxpool_forward(&s, x, y, where, 1);
    assert_memory_equal(y, padded_ceil, sizeof padded_ceil);
    for (int i = 0; i < 9; i++)
        dy[i] = (float)(i + 1);
    nn_maxpool_backward(&s, dy, where, dx, 1);
    assert_close(dx[0], 1.0, 0.0);  /* -1: window (0, 0) */
    assert_close(dx[3], 3.0, 0.0);  /* -4: window (0, 2), one column */
    assert_close(dx[15], 9.0, 0.0); /* -16: the corner window */
    assert_close(dx[2], 0.0, 0.0);  /* -3 never wins */

    s = (nn_pool2d_shape){.in_h = 5, .in_w = 5, .kh = 2, .kw = 2, .stride = 2,
                          .ceil_mode = 1};
    for (int i = 0; i < 25; i++)
        x[i] = (float)(i + 1);
    assert_nn_ok(nn_pool2d_shape_check(&s));
    assert_int_equal(s.out_h * s.out_w, 9);
    nn_maxpool_forward(&s, x, y, where, 1);
    assert_memory_equal(y, ceil5, sizeof ceil5);
}

/* With padding and in ceil mode, square and rectangular windows, on values
 * with many ties (-1, 0, -0, 1, 2) and on all-negative planes: the kernels and a net on each kernel
 * choice pick the reference's winners, values and gradients, bit for bit. */
static void test_maxpool_padded_ties_match_reference(void **state)
{
    static const int cases[][7] = {/* kh, kw, stride, pad, ceil, h, w */
                                   {3, 3, 2, 1, 0, 7, 6}, {3, 3, 2, 1, 1, 6, 8},
                                   {2, 2, 2, 0, 1, 5, 7}, {3, 3, 1, 2, 0, 4, 5},
                                   {2, 2, 2, 1, 1, 5, 4}, {4, 4, 3, 3, 1, 7, 9},
                                   {3, 2, 2, 1, 1, 6, 7}, {2, 4, 1, 0, 0, 5, 6}};
    static const float values[] = {-1.0f, 0.0f, -0.0f, 1.0f, 2.0f};
    enum { PLANES = 4 };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_pool2d_shape s = {.in_h = cases[c][5], .in_w = cases[c][6],
                             .kh = cases[c][0], .kw = cases[c][1],
                             .stride = cases[c][2], .pad = cases[c][3],
                             .ceil_mode = cases[c][4]};
        char spec[32];
        size_t in_n, out_n;
        float *x, *y, *y_ref, *dx, *dx_ref, *dy;
        int *where, *where_ref;
        nn_rng rng;
        assert_nn_ok(nn_pool2d_shape_check(&s));
        in_n = (size_t)PLANES * s.in_h * s.in_w;
        out_n = (size_t)PLANES * s.out_h * s.out_w;
        x = malloc(sizeof(float) * in_n);
        dx = calloc(in_n, sizeof(float));
        dx_ref = calloc(in_n, sizeof(float));
        y = malloc(sizeof(float) * out_n);
        y_ref = malloc(sizeof(float) * out_n);
        dy = malloc(sizeof(float) * out_n);
        where = malloc(sizeof(int) * out_n);
        where_ref = malloc(sizeof(int) * out_n);
        assert_true(x && dx && dx_ref && y && y_ref && dy && where && where_ref);
        nn_rng_seed(&rng, 95 + c);
        for (size_t i = 0; i < in_n; i++) /* planes 2, 3 all negative */
            x[i] = i < in_n / 2 ? values[nn_rng_below(&rng, 5)]
                                : -1.0f - 0.5f * (float)nn_rng_below(&rng, 4);
        for (size_t i = 0; i < out_n; i++)
            dy[i] = (float)(i % 7 + 1);
        maxpool_reference(&s, x, y_ref, where_ref, dx_ref, dy, PLANES);
        nn_maxpool_forward(&s, x, y, where, PLANES);
        nn_maxpool_backward(&s, dy, where, dx, PLANES);
        assert_memory_equal(where, where_ref, sizeof(int) * out_n);
        assert_memory_equal(y, y_ref, sizeof(float) * out_n);
        assert_memory_equal(dx, dx_ref, sizeof(float) * in_n);
        snprintf(spec, sizeof spec, "pool%dx%ds%dp%d%s", s.kh, s.kw, s.stride,
                 s.pad, s.ceil_mode ? "c" : "");
        for (int choice = 0; choice < 3; choice++)
            check_pool_net(spec, &s, PLANES, every_kernels[choice], 1, x, dy,
                           y_ref, dx_ref);
        free(x), free(dx), free(dx_ref), free(y), free(y_ref), free(dy);
        free(where), free(where_ref);
    }
}

/* Gradient checks of max pooling with padding and in ceil mode (dL/dx of
 * the net's input), on spaced inputs, through every kernel choice. */
static void test_maxpool_padded_and_ceil_gradients(void **state)
{
    static const char *const specs[] = {"pool3s2p1", "pool3s2c", "pool3s2p1c",
                                        "pool2c", "pool3s1p2"};
    (void)state;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        for (int k = 0; k < 3; k++) {
            nn_net *net = make_net(2, 7, 6);
            print_message("  %s, kernels %d\n", specs[i], (int)every_kernels[k]);
            assert_nn_ok(nn_net_add_spec(net, specs[i], NULL, 0));
            check_spaced_with(net, 2, 37 + i, every_kernels[k]);
        }
}

typedef struct {
    float *logits;
    int *labels;
    float *probs;
    float *target;
    int n, classes;
} loss_ctx;

static double xent_loss(void *p)
{
    loss_ctx *c = p;
    float loss;
    assert_nn_ok(nn_softmax_xent_forward(c->logits, c->labels, c->probs, c->n,
                                         c->classes, &loss));
    return loss;
}

static void test_softmax_xent(void **state)
{
    enum { N = 3, K = 5 };
    float logits[N * K], probs[N * K], grad[N * K] = {0};
    int labels[N] = {4, 0, 2};
    loss_ctx c = {logits, labels, probs, NULL, N, K};
    nn_rng rng;
    gc_result r;
    (void)state;
    nn_rng_seed(&rng, 51);
    gc_fill_normal(logits, N * K, 2.0f, &rng);
    xent_loss(&c);
    nn_softmax_xent_backward(probs, labels, grad, N, K);
    r = gc_compare(xent_loss, &c, logits, grad, N * K, 100, &rng, 1e-2f);
    assert_true(gc_passed(&r, TOL));
    /* Probabilities sum to one; huge logits stay finite. */
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int j = 0; j < K; j++)
            sum += probs[i * K + j];
        assert_close(sum, 1.0, 1e-5);
    }
    logits[0] = 1e30f;
    assert_true(isfinite(xent_loss(&c)));
}

static double mse_loss(void *p)
{
    loss_ctx *c = p;
    float loss;
    assert_nn_ok(nn_mse_forward(c->logits, c->target, c->n, c->classes, &loss));
    return loss;
}

static void test_mse(void **state)
{
    enum { N = 2, K = 3 };
    float y[N * K], target[N * K], grad[N * K] = {0};
    loss_ctx c = {y, NULL, NULL, target, N, K};
    nn_rng rng;
    gc_result r;
    (void)state;
    nn_rng_seed(&rng, 52);
    gc_fill_normal(y, N * K, 1.0f, &rng);
    gc_fill_normal(target, N * K, 1.0f, &rng);
    nn_mse_backward(y, target, grad, N, K);
    r = gc_compare(mse_loss, &c, y, grad, N * K, 100, &rng, 1e-2f);
    assert_true(gc_passed(&r, TOL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_dense_layer_matches_kernel),
        cmocka_unit_test(test_conv_stride1_pad0),
        cmocka_unit_test(test_conv_stride2_pad1),
        cmocka_unit_test(test_conv_stride1_pad1_nonsquare_kernel),
        cmocka_unit_test(test_conv_stride2_pad0_5x5),
        cmocka_unit_test(test_relu),
        cmocka_unit_test(test_sigmoid),
        cmocka_unit_test(test_tanh),
        cmocka_unit_test(test_maxpool_2x2_stride2),
        cmocka_unit_test(test_maxpool_3x3_stride2_overlapping),
        cmocka_unit_test(test_maxpool_3x3_stride1_overlapping),
        cmocka_unit_test(test_maxpool_2x2_ties_and_nans),
        cmocka_unit_test(test_maxpool_ties_in_every_position_pair),
        cmocka_unit_test(test_maxpool_padding_and_ceil_by_hand),
        cmocka_unit_test(test_maxpool_padded_ties_match_reference),
        cmocka_unit_test(test_maxpool_padded_and_ceil_gradients),
        cmocka_unit_test(test_batchnorm_after_dense),
        cmocka_unit_test(test_batchnorm_after_conv),
        cmocka_unit_test(test_batchnorm_inference_mode),
        cmocka_unit_test(test_batchnorm_layer_matches_kernels),
        cmocka_unit_test(test_batchnorm_tiny_variance_against_double),
        cmocka_unit_test(test_batchnorm_eps_1e3_against_double),
        cmocka_unit_test(test_batchnorm_eps_gradients),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_mse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
