/* Parity with PyTorch of layer functions and optimizers: AvgPool2d (k3 s2
 * p1 and k2 s2 p0; k3 s2 p1 with count_include_pad=False, ceil_mode=True
 * and both), MaxPool2d(3, 2, 1) (and with ceil_mode=True) and
 * AdaptiveAvgPool2d(1) outputs and input gradients, BatchNorm2d(eps=1e-3)
 * in training and inference mode,
 * LeakyReLU(0.1) forward and backward, and five steps of RMSprop (plain;
 * momentum with weight decay) and AdamW match the numbers that
 * tests/pytorch_layers_reference.py wrote into tests/fixtures/pytorch_layers.txt. */
#include "gradcheck.h"
#include "optim/optim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5

enum { PLANES = 2 * 3, H = 7, W = 6, GAP_HW = 5 * 3, LEAKY_N = 4 * 6 };
enum { N_PARAMS = 10, STEPS = 5 };

static tu_fixture fixture;

static int load_fixture(void **state)
{
    (void)state;
    return tu_fixture_load(&fixture, "pytorch_layers.txt");
}

static int free_fixture(void **state)
{
    (void)state;
    tu_fixture_free(&fixture);
    return 0;
}

/* The fixture's entry `name` as count floats. */
static void floats(const char *name, float *out, int count)
{
    const tu_fixture_entry *e = tu_fixture_get(&fixture, name, count);
    for (int i = 0; i < count; i++)
        out[i] = (float)e->values[i];
}

static double compare(const char *name, const float *a, int count)
{
    return tu_fixture_compare(&fixture, name, a, count, TOL);
}

/* y and dx (for PyTorch's dy) of one AvgPool2d (or MaxPool2d when max)
 * with the window k, stride, padding and options of s against PyTorch's
 * on avgpool_input. */
static void pool_case(const char *name, int max, nn_pool2d_shape s)
{
    enum { MAX_OUT = 4 * 4 };
    float x[PLANES * H * W], dx[PLANES * H * W] = {0};
    float y[PLANES * MAX_OUT], dy[PLANES * MAX_OUT];
    int where[PLANES * MAX_OUT];
    char key[48];
    int n_out;
    s.in_h = H;
    s.in_w = W;
    s.kw = s.kh;
    assert_nn_ok(nn_pool2d_shape_check(&s));
    n_out = PLANES * s.out_h * s.out_w;
    assert_true(s.out_h * s.out_w <= MAX_OUT);
    floats("avgpool_input", x, PLANES * H * W);
    if (max)
        nn_maxpool_forward(&s, x, y, where, PLANES);
    else
        nn_avgpool_forward(&s, x, y, PLANES);
    snprintf(key, sizeof key, "%s_out", name);
    compare(key, y, n_out);
    snprintf(key, sizeof key, "%s_dy", name);
    floats(key, dy, n_out);
    if (max)
        nn_maxpool_backward(&s, dy, where, dx, PLANES);
    else
        nn_avgpool_backward(&s, dy, dx, PLANES);
    snprintf(key, sizeof key, "%s_dx", name);
    compare(key, dx, PLANES * H * W);
}

static void test_avgpool_k3_s2_p1(void **state)
{
    (void)state;
    pool_case("avgpool_k3s2p1", 0, (nn_pool2d_shape){.kh = 3, .stride = 2, .pad = 1});
}

static void test_avgpool_k2_s2_p0(void **state)
{
    (void)state;
    pool_case("avgpool_k2s2p0", 0, (nn_pool2d_shape){.kh = 2, .stride = 2});
}

/* AvgPool2d(3, 2, 1) with count_include_pad=False, ceil_mode=True, both */
static void test_avgpool_options(void **state)
{
    (void)state;
    pool_case("avgpool_k3s2p1_excl", 0,
              (nn_pool2d_shape){.kh = 3, .stride = 2, .pad = 1, .exclude_pad = 1});
    pool_case("avgpool_k3s2p1_ceil", 0,
              (nn_pool2d_shape){.kh = 3, .stride = 2, .pad = 1, .ceil_mode = 1});
    pool_case("avgpool_k3s2p1_ceil_excl", 0,
              (nn_pool2d_shape){.kh = 3, .stride = 2, .pad = 1, .ceil_mode = 1,
                                .exclude_pad = 1});
}

/* MaxPool2d(3, 2, 1), ResNet's stem, and with ceil_mode=True */
static void test_maxpool_padded_and_ceil(void **state)
{
    (void)state;
    pool_case("maxpool_k3s2p1", 1, (nn_pool2d_shape){.kh = 3, .stride = 2, .pad = 1});
    pool_case("maxpool_k3s2p1_ceil", 1,
              (nn_pool2d_shape){.kh = 3, .stride = 2, .pad = 1, .ceil_mode = 1});
}

/* BatchNorm2d(3, eps=1e-3) on (4, 3, 5, 3): in training mode the kernels'
 * and a bneps0.001 layer's output and running statistics, and the
 * kernels' dx, dgamma and dbeta; in inference mode (the statistics it
 * left) the output and dx. */
static void test_batchnorm_eps_1e3(void **state)
{
    enum { N = 4, C = 3, HW = 5 * 3, COUNT = N * C * HW };
    float x[COUNT], y[COUNT], xhat[COUNT], dy[COUNT], dx[COUNT] = {0};
    float gamma[C], beta[C], running[2 * C], invstd[C];
    float dgamma[C] = {0}, dbeta[C] = {0}, eval_dx[COUNT] = {0};
    nn_net *net = tu_net("bneps0.001", C, 5, 3, N, 1);
    (void)state;
    floats("bn_input", x, COUNT);
    floats("bn_gamma", gamma, C);
    floats("bn_beta", beta, C);
    floats("bn_running0", running, 2 * C);
    memcpy(nn_net_params(net), gamma, sizeof gamma);
    memcpy(nn_net_params(net) + C, beta, sizeof beta);
    memcpy(nn_net_state(net), running, sizeof running);
    memcpy(nn_net_input(net)->x, x, sizeof x);
    nn_batchnorm_forward_train(x, gamma, beta, y, xhat, invstd, running,
                               running + C, N, C, HW, 0.1f, 1e-3f);
    compare("bn_eps1e3_train_out", y, COUNT);
    compare("bn_running1", running, 2 * C);
    assert_nn_ok(nn_net_forward(net, N));
    compare("bn_eps1e3_train_out", nn_net_output(net)->x, COUNT);
    compare("bn_running1", nn_net_state(net), 2 * C);
    floats("bn_eps1e3_train_dy", dy, COUNT);
    nn_batchnorm_backward(dy, xhat, gamma, invstd, dx, dgamma, dbeta, N, C,
                          HW, 1);
    /* dx = gamma invstd / M (M dy - sum dy - xhat sum dy xhat) cancels:
     * PyTorch's own float dx is 1.8e-5 (of values floored at 0.01) from
     * the formula in double, libnn's float sums in another order 4e-5 from
     * PyTorch's */
    tu_fixture_compare(&fixture, "bn_eps1e3_train_dx", dx, COUNT, 1e-4);
    compare("bn_eps1e3_train_dgamma", dgamma, C);
    compare("bn_eps1e3_train_dbeta", dbeta, C);

    nn_batchnorm_forward_infer(x, gamma, beta, running, running + C, y, xhat,
                               invstd, N, C, HW, 1e-3f);
    compare("bn_eps1e3_eval_out", y, COUNT);
    nn_net_set_training(net, 0);
    assert_nn_ok(nn_net_forward(net, N));
    compare("bn_eps1e3_eval_out", nn_net_output(net)->x, COUNT);
    floats("bn_eps1e3_eval_dy", dy, COUNT);
    nn_batchnorm_backward(dy, xhat, gamma, invstd, eval_dx, dgamma, dbeta, N,
                          C, HW, 0);
    compare("bn_eps1e3_eval_dx", eval_dx, COUNT);
    nn_net_destroy(net);
}

static void test_global_avgpool(void **state)
{
    float x[PLANES * GAP_HW], y[PLANES], dy[PLANES], dx[PLANES * GAP_HW] = {0};
    (void)state;
    floats("gap_input", x, PLANES * GAP_HW);
    nn_global_avgpool_forward(x, y, PLANES, GAP_HW);
    compare("gap_out", y, PLANES);
    floats("gap_dy", dy, PLANES);
    nn_global_avgpool_backward(dy, dx, PLANES, GAP_HW);
    compare("gap_dx", dx, PLANES * GAP_HW);
}

static void test_leakyrelu(void **state)
{
    float x[LEAKY_N], y[LEAKY_N], dy[LEAKY_N], dx[LEAKY_N] = {0};
    (void)state;
    floats("leaky_input", x, LEAKY_N);
    nn_leakyrelu_forward(x, y, LEAKY_N, 0.1f);
    compare("leaky_out", y, LEAKY_N);
    floats("leaky_dy", dy, LEAKY_N);
    nn_leakyrelu_backward(y, dy, dx, LEAKY_N, 0.1f);
    compare("leaky_dx", dx, LEAKY_N);
}

typedef void (*update_fn)(const nn_optim_settings *s, float *w, const float *g,
                          float *const *state, size_t n, float weight_decay,
                          long t);

/* Five steps from optim_w0 with the fixture's gradients; the parameters
 * after each step against the row `name`. */
static void optimizer_case(const char *name, update_fn update,
                           const nn_optim_settings *s, double tol)
{
    float w[N_PARAMS], grads[STEPS * N_PARAMS], after[STEPS * N_PARAMS];
    float first[N_PARAMS] = {0}, second[N_PARAMS] = {0};
    float *const buffers[] = {first, second};
    floats("optim_w0", w, N_PARAMS);
    floats("optim_grads", grads, STEPS * N_PARAMS);
    for (int t = 1; t <= STEPS; t++) {
        update(s, w, grads + (t - 1) * N_PARAMS, buffers, N_PARAMS,
               s->weight_decay, t);
        memcpy(after + (t - 1) * N_PARAMS, w, sizeof w);
    }
    tu_fixture_compare(&fixture, name, after, STEPS * N_PARAMS, tol);
}

static nn_optim_settings settings(float momentum, float weight_decay)
{
    nn_optim_settings s;
    memset(&s, 0, sizeof s);
    s.lr = 0.01f;
    s.momentum = momentum;
    s.beta1 = 0.9f;
    s.beta2 = 0.999f;
    s.alpha = 0.99f;
    s.eps = 1e-8f;
    s.weight_decay = weight_decay;
    return s;
}

static void test_rmsprop(void **state)
{
    nn_optim_settings plain = settings(0.0f, 0.0f);
    nn_optim_settings heavy = settings(0.9f, 0.01f);
    (void)state;
    optimizer_case("rmsprop_plain", nn_rmsprop_update, &plain, TOL);
    /* libnn's settings are floats: 1 - 0.99f is 1e-6 (relative) away from
     * PyTorch's 1 - 0.99 in double, and momentum over five steps of
     * near-cancelling gradients grows that to about 2e-5. */
    optimizer_case("rmsprop_momentum", nn_rmsprop_update, &heavy, 5e-5);
}

static void test_adamw(void **state)
{
    nn_optim_settings s = settings(0.0f, 0.01f);
    (void)state;
    optimizer_case("adamw", nn_adamw_update, &s, TOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avgpool_k3_s2_p1),
        cmocka_unit_test(test_avgpool_k2_s2_p0),
        cmocka_unit_test(test_avgpool_options),
        cmocka_unit_test(test_maxpool_padded_and_ceil),
        cmocka_unit_test(test_batchnorm_eps_1e3),
        cmocka_unit_test(test_global_avgpool),
        cmocka_unit_test(test_leakyrelu),
        cmocka_unit_test(test_rmsprop),
        cmocka_unit_test(test_adamw),
    };
    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
