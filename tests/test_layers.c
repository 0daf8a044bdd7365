/* Central-difference checks of every layer module's input and parameter
 * gradients. Each layer under test sits after another layer (or reads the
 * net's input with the input gradient switched on), so dL/dx is checked. */
#include "gradcheck.h"

#include <math.h>
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

/* Builds the net for `batch`, fills the input with N(0,1) and checks it. */
static void check(nn_net *net, int batch, uint64_t seed)
{
    nn_rng rng;
    nn_tensor *in;
    gc_result r;
    assert_nn_ok(nn_net_build(net, batch, seed));
    in = nn_net_input(net);
    nn_rng_seed(&rng, seed + 1);
    gc_fill_normal(in->x, nn_tensor_count(in), 1.0f, &rng);
    r = gc_check_net(net, batch, seed + 2, POINTS, 1e-2f, NULL);
    print_message("  max error %.2e, max |numeric| %.3f, %d checked, %d skipped\n",
                  r.max_error, r.max_numeric, r.checked, r.skipped);
    assert_true(gc_passed(&r, TOL));
    nn_net_destroy(net);
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
 * a step of 0.01 never changes a max-pool winner or crosses relu's kink. */
static void check_spaced(nn_net *net, int batch, uint64_t seed)
{
    nn_rng rng;
    nn_tensor *in;
    size_t n;
    gc_result r;
    assert_nn_ok(nn_net_build(net, batch, seed));
    in = nn_net_input(net);
    n = nn_tensor_count(in);
    nn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        in->x[i] = 0.05f * ((float)i - (float)n / 2.0f) + 0.025f;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = nn_rng_below(&rng, (uint32_t)(i + 1));
        float t = in->x[i];
        in->x[i] = in->x[j];
        in->x[j] = t;
    }
    r = gc_check_net(net, batch, seed + 2, 1000, 1e-2f, NULL);
    print_message("  max error %.2e, %d checked, %d skipped\n", r.max_error,
                  r.checked, r.skipped);
    assert_int_equal(r.skipped, 0);
    assert_true(gc_passed(&r, TOL));
    nn_net_destroy(net);
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
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 34);
    for (int i = 0; i < P * H * W; i++)
        x[i] = values[nn_rng_below(&rng, 5)];
    x[0] = NAN;          /* first in window (0, 0) of plane 0 */
    x[H * W + 3] = NAN;  /* second in window (0, 1) of plane 1 */
    x[2 * H * W + W + 4] = NAN; /* third in window (0, 2) of plane 2 */
    nn_maxpool_forward(x, y, argmax, P, H, W, 2, 2, OH, OW);
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
    nn_maxpool_backward(dy, argmax, dx, P, H, W, OH, OW);
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
 * 17 channels (uneven tasks) of 5x7 (lanes and a remainder) or 1x1, a
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
            assert_true(y && xhat && dx);
            assert_nn_ok(nn_net_add_batchnorm(net));
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
                                           C, hw, 0.1f, 1e-5f);
            else
                nn_batchnorm_forward_infer(in->x, params, params + C, state_ref,
                                           state_ref + C, y, xhat, invstd, N, C,
                                           hw, 1e-5f);
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
        cmocka_unit_test(test_batchnorm_after_dense),
        cmocka_unit_test(test_batchnorm_after_conv),
        cmocka_unit_test(test_batchnorm_inference_mode),
        cmocka_unit_test(test_batchnorm_layer_matches_kernels),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_mse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
