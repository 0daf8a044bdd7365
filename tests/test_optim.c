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

/* Adam with weight decay over a 6 -> dense5 -> dense3 net, T steps with new
 * gradients each (a seventh of them 0: decay alone moves those), in double:
 *   d = g + wd w (dense weights; biases too with decay_all),
 *   m = b1 m + (1-b1) d, v = b2 v + (1-b2) d^2,
 *   w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps);
 * the decay is coupled, as in PyTorch's Adam. Returns the weights after
 * the steps of `kind` (Adam or AdamW) in w_out (ADAM_PARAMS). */
enum { ADAM_IN = 6, ADAM_HIDDEN = 5, ADAM_OUT = 3, ADAM_STEPS = 5,
       ADAM_PARAMS = ADAM_HIDDEN * (ADAM_IN + 1) + ADAM_OUT * (ADAM_HIDDEN + 1) };

/* 1 when flat parameter i of that net is a dense layer's weight. */
static int adam_net_weight(int i)
{
    int first = ADAM_HIDDEN * (ADAM_IN + 1);
    return i < first ? i < ADAM_HIDDEN * ADAM_IN
                     : i - first < ADAM_OUT * ADAM_HIDDEN;
}

static void adam_run(nn_optim_kind kind, int decay_all, float *w_out)
{
    const double lr = 0.05, wd = 0.3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double w[ADAM_PARAMS], m[ADAM_PARAMS] = {0}, v[ADAM_PARAMS] = {0};
    float *values, before[ADAM_PARAMS];
    nn_net *net = NULL;
    nn_optim *o = NULL;
    nn_optim_settings s = nn_optim_defaults(kind);
    nn_rng rng;
    s.lr = (float)lr;
    s.weight_decay = (float)wd;
    s.decay_all = decay_all;
    assert_nn_ok(nn_net_create(1, 1, ADAM_IN, &net));
    assert_nn_ok(nn_net_add_dense(net, ADAM_HIDDEN));
    assert_nn_ok(nn_net_add_dense(net, ADAM_OUT));
    assert_nn_ok(nn_net_build(net, 1, 3));
    assert_int_equal(nn_net_param_count(net), ADAM_PARAMS);
    values = nn_net_params(net);
    nn_rng_seed(&rng, 101);
    gc_fill_normal(values, ADAM_PARAMS, 1.0f, &rng); /* biases too */
    memcpy(before, values, sizeof before);
    for (int i = 0; i < ADAM_PARAMS; i++)
        w[i] = values[i];
    assert_nn_ok(nn_optim_create(net, &s, &o));
    for (int t = 1; t <= ADAM_STEPS; t++) {
        float *g = nn_net_grads(net);
        gc_fill_normal(g, ADAM_PARAMS, 0.5f, &rng);
        for (int i = 0; i < ADAM_PARAMS; i += 7)
            g[i] = 0.0f;
        assert_nn_ok(nn_optim_step(o, net));
        if (kind != NN_OPTIM_ADAM)
            continue;
        for (int i = 0; i < ADAM_PARAMS; i++) {
            double decay = decay_all || adam_net_weight(i) ? wd : 0.0;
            double d = g[i] + decay * w[i];
            m[i] = b1 * m[i] + (1.0 - b1) * d;
            v[i] = b2 * v[i] + (1.0 - b2) * d * d;
            w[i] -= lr * (m[i] / (1.0 - pow(b1, t))) /
                    (sqrt(v[i] / (1.0 - pow(b2, t))) + eps);
            if (fabs(values[i] - w[i]) > 1e-5 * fmax(1.0, fabs(w[i])))
                fail_msg("Adam, decay_all %d, step %d, parameter %d: %.9g, "
                         "reference %.9g", decay_all, t, i, values[i], w[i]);
        }
    }
    /* A bias whose gradients were all 0 moved only if it was decayed. */
    for (int i = 0; i < ADAM_PARAMS; i += 7)
        if (!decay_all && !adam_net_weight(i))
            assert_memory_equal(&values[i], &before[i], sizeof(float));
        else
            assert_true(fabs(values[i] - before[i]) > 1e-3);
    memcpy(w_out, values, sizeof(float) * ADAM_PARAMS);
    nn_optim_destroy(o);
    nn_net_destroy(net);
}

/* Adam adds weight decay to the gradient (d = g + wd w, PyTorch's Adam),
 * to the weights and not the biases unless decay_all: several steps
 * against a double re-implementation. AdamW with the same settings
 * decouples it (w -= lr wd w), so the decayed weights end elsewhere, while
 * parameters left undecayed follow the same Adam step in both. */
static void test_adam_weight_decay_is_coupled(void **state)
{
    float adam[ADAM_PARAMS], adamw[ADAM_PARAMS];
    (void)state;
    for (int decay_all = 0; decay_all <= 1; decay_all++) {
        double weights = 0.0, others = 0.0;
        adam_run(NN_OPTIM_ADAM, decay_all, adam);
        adam_run(NN_OPTIM_ADAMW, decay_all, adamw);
        for (int i = 0; i < ADAM_PARAMS; i++) {
            double d = fabs((double)adam[i] - adamw[i]);
            if (decay_all || adam_net_weight(i))
                weights = fmax(weights, d);
            else
                others = fmax(others, d);
        }
        print_message("  decay_all %d: Adam - AdamW, decayed %.3g, not %.3g\n",
                      decay_all, weights, others);
        assert_true(weights > 0.05);
        assert_true(others < 1e-5);
    }
}

/* nn_optim_step's pieces of 16,384 values against groups ending just
 * before, at and just after a multiple of it: a 1x1xIN input, denseOUT
 * (weights decayed, then OUT biases), batchnorm (2 OUT values, not
 * decayed), relu and dense3. (IN, OUT) puts the end of the first layer's
 * weights or of the layer at 16,384 or 32,768 minus 1, 0 or plus 1 (and
 * batchnorm's group across that multiple when the layer ends one short).
 * For SGD with momentum and Adam, with and without decay_all, on 1 and 2
 * threads, three steps give, for every value, the bits of the update rule
 * run on that value alone with its own decay. */
static void test_step_pieces_at_group_boundaries(void **state)
{
    static const int shapes[][2] = {
        {129, 127}, {128, 128}, {145, 113}, /* weights end 16383, 16384, 16385 */
        {128, 127}, {127, 128}, {144, 113}, /* the layer ends 16383, 16384, 16385 */
        {216, 151}, {255, 128}, {330, 99},  /* the layer ends 32767, 32768, 32769 */
    };
    static const nn_optim_kind kinds[] = {NN_OPTIM_SGD, NN_OPTIM_ADAM};
    static const nn_optim_update_fn rules[] = {nn_sgd_update, nn_adam_update};
    (void)state;
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++)
        for (int run = 0; run < 8; run++) {
            int kind = run % 2, decay_all = run / 2 % 2, threads = 1 + run / 4;
            int in = shapes[c][0], hidden = shapes[c][1];
            nn_net *net = NULL;
            nn_optim *o = NULL;
            nn_optim_settings s = nn_optim_defaults(kinds[kind]);
            unsigned char *decayed;
            float *w, *g, *ref, *ref_state[2];
            size_t n, at = 0;
            s.lr = 0.05f;
            s.momentum = 0.9f;
            s.weight_decay = 0.25f;
            s.decay_all = decay_all;
            assert_nn_ok(nn_net_create(1, 1, in, &net));
            assert_nn_ok(nn_net_add_dense(net, hidden));
            assert_nn_ok(nn_net_add_batchnorm(net));
            assert_nn_ok(nn_net_add_relu(net));
            assert_nn_ok(nn_net_add_dense(net, 3));
            assert_nn_ok(nn_net_build(net, 2, 9));
            assert_nn_ok(nn_net_set_threads(net, threads));
            n = nn_net_param_count(net);
            w = nn_net_params(net);
            g = nn_net_grads(net);
            /* Which values decay, from the layer shapes alone. */
            decayed = malloc(n);
            ref = malloc(sizeof(float) * n);
            ref_state[0] = calloc(n, sizeof(float));
            ref_state[1] = calloc(n, sizeof(float));
            assert_true(decayed && ref && ref_state[0] && ref_state[1]);
            for (int i = 0; i < in * hidden; i++)
                decayed[at++] = 1;
            for (int i = 0; i < hidden + 2 * hidden; i++) /* biases, gamma, beta */
                decayed[at++] = (unsigned char)decay_all;
            for (int i = 0; i < 3 * hidden; i++)
                decayed[at++] = 1;
            for (int i = 0; i < 3; i++)
                decayed[at++] = (unsigned char)decay_all;
            assert_int_equal(at, n);
            for (size_t i = 0; i < n; i++) /* every value moves, decay shows */
                w[i] = 0.5f + 0.25f * sinf(0.11f * (float)i);
            memcpy(ref, w, sizeof(float) * n);
            assert_nn_ok(nn_optim_create(net, &s, &o));
            for (long t = 1; t <= 3; t++) {
                for (size_t i = 0; i < n; i++)
                    g[i] = 0.1f * cosf(0.37f * (float)i + (float)t);
                assert_nn_ok(nn_optim_step(o, net));
                for (size_t i = 0; i < n; i++) {
                    float *st[2] = {ref_state[0] + i, ref_state[1] + i};
                    rules[kind](&s, ref + i, g + i, st, 1,
                                decayed[i] ? s.weight_decay : 0.0f, t);
                    if (memcmp(&w[i], &ref[i], sizeof(float)))
                        fail_msg("%s, %dx%d, decay_all %d, %d thread(s), step "
                                 "%ld: value %zu of %zu is %.9g, expected %.9g",
                                 nn_optim_name(kinds[kind]), in, hidden,
                                 decay_all, threads, t, i, n, w[i], ref[i]);
                }
            }
            nn_optim_destroy(o);
            free(decayed), free(ref), free(ref_state[0]), free(ref_state[1]);
            nn_net_destroy(net);
        }
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
        cmocka_unit_test(test_adam_weight_decay_is_coupled),
        cmocka_unit_test(test_step_pieces_at_group_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
