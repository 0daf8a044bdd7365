/* Optimizer steps against values computed by hand. */
#include "gradcheck.h"
#include "optim/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* SGD settings with the Nesterov flag and momentum convention too. */
static nn_optim_settings sgd_settings(float lr, float momentum, float decay,
                                      int nesterov, nn_momentum_kind kind)
{
    nn_optim_settings s = tu_sgd(lr, momentum, decay);
    s.nesterov = nesterov;
    s.momentum_kind = kind;
    return s;
}

static void test_sgd_pytorch_momentum_and_decay(void **state)
{
    /* lr 0.1, mu 0.9, wd 0.01; w = 1, g = 0.5.
     * step 1: d = 0.5 + 0.01 = 0.51, v = 0.51, w = 1 - 0.051 = 0.949
     * step 2: d = 0.5 + 0.00949 = 0.50949, v = 0.9*0.51 + 0.50949 = 0.96849,
     *         w = 0.949 - 0.096849 = 0.852151 */
    nn_optim_settings opt = sgd_settings(0.1f, 0.9f, 0.01f, 0, NN_MOMENTUM_PYTORCH);
    float w = 1.0f, g = 0.5f, v = 0.0f, *vs[2] = {&v, NULL};
    (void)state;
    nn_sgd_update(&opt, &w, &g, vs, 1, opt.weight_decay, 1);
    assert_close(w, 0.949, 1e-6);
    assert_close(v, 0.51, 1e-6);
    nn_sgd_update(&opt, &w, &g, vs, 1, opt.weight_decay, 2);
    assert_close(v, 0.96849, 1e-6);
    assert_close(w, 0.852151, 1e-6);
}

static void test_sgd_course_momentum(void **state)
{
    /* m = mu m + (1 - mu) g: lr 0.1, mu 0.9, g = 0.5:
     * step 1: m = 0.05, w = 1 - 0.005 = 0.995
     * step 2: m = 0.045 + 0.05 = 0.095, w = 0.995 - 0.0095 = 0.9855 */
    nn_optim_settings opt = sgd_settings(0.1f, 0.9f, 0.0f, 0, NN_MOMENTUM_EMA);
    float w = 1.0f, g = 0.5f, v = 0.0f, *vs[2] = {&v, NULL};
    (void)state;
    nn_sgd_update(&opt, &w, &g, vs, 1, 0.0f, 1);
    assert_close(w, 0.995, 1e-6);
    nn_sgd_update(&opt, &w, &g, vs, 1, 0.0f, 2);
    assert_close(w, 0.9855, 1e-6);
}

static void test_sgd_nesterov(void **state)
{
    /* v = 0.5, w = 1 - 0.1 (0.5 + 0.9 * 0.5) = 0.905 */
    nn_optim_settings opt = sgd_settings(0.1f, 0.9f, 0.0f, 1, NN_MOMENTUM_PYTORCH);
    float w = 1.0f, g = 0.5f, v = 0.0f, *vs[2] = {&v, NULL};
    (void)state;
    nn_sgd_update(&opt, &w, &g, vs, 1, 0.0f, 1);
    assert_close(w, 0.905, 1e-6);
}

static void test_net_step_skips_decay_on_biases(void **state)
{
    /* Zero gradients: only weight decay moves anything, and only weights. */
    nn_net *net = NULL;
    nn_optim *o = NULL;
    nn_optim_settings opt = sgd_settings(1.0f, 0.0f, 0.5f, 0, NN_MOMENTUM_PYTORCH);
    float *values, *grads, before[6];
    size_t count;
    (void)state;
    assert_nn_ok(nn_net_create(1, 1, 2, &net));
    assert_nn_ok(nn_net_add_dense(net, 2));
    assert_nn_ok(nn_net_build(net, 1, 3));
    assert_nn_ok(nn_net_layer_params(net, 0, &values, &grads, &count));
    values[4] = 0.25f;
    values[5] = -0.5f;
    memcpy(before, values, sizeof before);
    nn_net_zero_grad(net);
    assert_nn_ok(nn_optim_create(net, &opt, &o));
    assert_nn_ok(nn_optim_step(o, net));
    nn_optim_destroy(o);
    for (int i = 0; i < 4; i++)
        assert_close(values[i], 0.5 * before[i], 1e-7);
    assert_close(values[4], 0.25, 0);
    assert_close(values[5], -0.5, 0);
    opt.decay_all = 1;
    assert_nn_ok(nn_optim_create(net, &opt, &o));
    assert_nn_ok(nn_optim_step(o, net));
    nn_optim_destroy(o);
    assert_close(values[4], 0.125, 1e-7);
    nn_net_destroy(net);
}

static void test_adam_first_steps(void **state)
{
    /* Bias correction makes the first step lr * g / (|g| + eps) = lr sign(g):
     * m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2. Step 2 with the same g
     * is again lr (g / |g|). */
    nn_optim_settings opt = nn_optim_defaults(NN_OPTIM_ADAM);
    float w = 1.0f, g = -0.3f, m = 0.0f, v = 0.0f, *mv[2] = {&m, &v};
    (void)state;
    opt.lr = 0.01f;
    nn_adam_update(&opt, &w, &g, mv, 1, 0.0f, 1);
    assert_close(m, -0.03, 1e-7);
    assert_close(v, 0.001 * 0.09, 1e-8);
    assert_close(w, 1.01, 1e-6);
    nn_adam_update(&opt, &w, &g, mv, 1, 0.0f, 2);
    assert_close(w, 1.02, 1e-6);
}

/* nn_optim_step cuts the parameters into pieces run on the net's threads:
 * on a net larger than a piece, with 2 threads, three steps must give the
 * same bits as the update rule run over each layer's two groups in order.
 * momentum: also for SGD and RMSprop (their second buffers); decay_all:
 * biases decayed too. */
static void step_matches_rule(nn_optim_kind kind, nn_optim_update_fn rule,
                              float momentum, int decay_all)
{
    nn_net *net = NULL;
    nn_optim *o = NULL;
    nn_optim_settings opt = nn_optim_defaults(kind);
    float *w, *g, *ref_w, *ref_state[2] = {NULL, NULL};
    size_t n, count;
    opt.weight_decay = 5e-4f;
    opt.momentum = momentum;
    opt.decay_all = decay_all;
    assert_nn_ok(nn_net_create(1, 1, 300, &net));
    /* 78,290 values: 5 pieces, two of them across groups' ends */
    assert_nn_ok(nn_net_add_dense(net, 200));
    assert_nn_ok(nn_net_add_relu(net)); /* no parameters */
    assert_nn_ok(nn_net_add_dense(net, 90));
    assert_nn_ok(nn_net_set_threads(net, 2));
    assert_nn_ok(nn_net_build(net, 1, 7));
    n = nn_net_param_count(net);
    w = nn_net_params(net);
    g = nn_net_grads(net);
    for (size_t i = 0; i < n; i++)
        g[i] = 0.1f * sinf(0.37f * (float)i);
    ref_w = malloc(n * sizeof *ref_w);
    assert_non_null(ref_w);
    memcpy(ref_w, w, n * sizeof *w);
    for (int b = 0; b < 2; b++)
        assert_non_null(ref_state[b] = calloc(n, sizeof(float)));
    assert_nn_ok(nn_optim_create(net, &opt, &o));
    for (long t = 1; t <= 3; t++) {
        size_t off = 0;
        assert_nn_ok(nn_optim_step(o, net));
        for (int i = 0; i < nn_net_layer_count(net); i++) {
            nn_layer_info info;
            float *st[2];
            size_t decayed;
            assert_nn_ok(nn_net_layer_info(net, i, &info));
            decayed = decay_all ? info.params : info.decayed;
            st[0] = ref_state[0] + off;
            st[1] = ref_state[1] + off;
            rule(&opt, ref_w + off, g + off, st, decayed, opt.weight_decay,
                 t);
            st[0] += decayed;
            st[1] += decayed;
            rule(&opt, ref_w + off + decayed, g + off + decayed, st,
                 info.params - decayed, 0.0f, t);
            off += info.params;
        }
        assert_int_equal(off, n);
        assert_memory_equal(w, ref_w, n * sizeof *w);
    }
    for (int b = 0; nn_optim_state(o, b, &count); b++) {
        assert_int_equal(count, n);
        assert_memory_equal(nn_optim_state(o, b, NULL), ref_state[b],
                            n * sizeof(float));
    }
    nn_optim_destroy(o);
    for (int b = 0; b < 2; b++)
        free(ref_state[b]);
    free(ref_w);
    nn_net_destroy(net);
}

static void test_threaded_step_matches_rule(void **state)
{
    (void)state;
    step_matches_rule(NN_OPTIM_SGD, nn_sgd_update, 0.0f, 0);
    step_matches_rule(NN_OPTIM_SGD, nn_sgd_update, 0.9f, 0);
    step_matches_rule(NN_OPTIM_SGD, nn_sgd_update, 0.9f, 1);
    step_matches_rule(NN_OPTIM_ADAM, nn_adam_update, 0.0f, 0);
    step_matches_rule(NN_OPTIM_RMSPROP, nn_rmsprop_update, 0.0f, 0);
    step_matches_rule(NN_OPTIM_RMSPROP, nn_rmsprop_update, 0.9f, 0);
    step_matches_rule(NN_OPTIM_ADAMW, nn_adamw_update, 0.0f, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_pytorch_momentum_and_decay),
        cmocka_unit_test(test_sgd_course_momentum),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_net_step_skips_decay_on_biases),
        cmocka_unit_test(test_adam_first_steps),
        cmocka_unit_test(test_threaded_step_matches_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
