/* Nothing silent about bad numbers: a NaN in the input reaches the loss
 * (relu and max-pooling pass it on) on every kernel choice, training stops
 * with NN_ENUMERIC before any weight changes and says where the NaN was
 * first seen, batchnorm refuses statistics of one value, and a label out of
 * range changes nothing. */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SIDE = 8, CLASSES = 3 };

static const nn_kernels choices[] = {NN_KERNELS_AUTO, NN_KERNELS_PORTABLE,
                                     NN_KERNELS_REFERENCE};

static nn_net *make_net(const char *spec, int max_batch)
{
    return tu_net(spec, 1, SIDE, SIDE, max_batch, 1);
}

/* One NaN pixel, anywhere but first in its pooling window, through nets
 * whose relu or max-pooling used to drop it: the loss is not finite, the
 * net says where the NaN came from, and no weight has changed. */
static void test_nan_input_reaches_the_loss(void **state)
{
    static const char *specs[] = {
        "conv3x3x4p1,relu,dense3",
        "conv3x3x4p1,bn,relu,dense3",
        "dense8,relu,dense3",
        "conv3x3x8p1,relu,pool2,conv3x3x8p1,relu,pool2,dense3",
        "conv3x3x4p1,relu,pool3s1,dense3",
        "conv5x5x4p2,leakyrelu,avgpool2,dense3",
    };
    int labels[2] = {0, 2};
    (void)state;
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++)
        for (int k = 0; k < 3; k++) {
            nn_net *net = make_net(specs[s], 2);
            size_t n = nn_net_param_count(net);
            float *before = malloc(n * sizeof *before), loss;
            char msg[256];
            nn_rng rng;
            assert_non_null(before);
            assert_nn_ok(nn_net_set_kernels(net, choices[k]));
            nn_rng_seed(&rng, 3);
            gc_fill_normal(nn_net_input(net)->x, 2 * SIDE * SIDE, 1.0f, &rng);
            nn_net_input(net)->x[SIDE * SIDE + 2 * SIDE + 3] = NAN; /* sample 1 */
            memcpy(before, nn_net_params(net), n * sizeof *before);
            assert_nn_ok(nn_net_forward(net, 2));
            assert_int_equal(nn_net_softmax_xent(net, labels, &loss), NN_ENUMERIC);
            assert_int_equal(nn_net_check_finite(net, msg, sizeof msg), NN_ENUMERIC);
            if (strcmp(msg, "the input batch: sample 1 value 19 is nan"))
                fail_msg("%s: '%s'", specs[s], msg);
            assert_memory_equal(before, nn_net_params(net), n * sizeof *before);
            free(before);
            nn_net_destroy(net);
        }
}

static void test_relu_and_maxpool_pass_nan(void **state)
{
    float x[4] = {NAN, -0.0f, -2.0f, 3.0f}, y[4];
    float plane[9] = {1, 2, 3, 4, NAN, 6, 7, 8, 9}, out[1];
    int argmax[1];
    nn_pool2d_shape s = {.in_h = 3, .in_w = 3, .kh = 3, .kw = 3, .stride = 1};
    (void)state;
    nn_relu_forward(x, y, 4);
    assert_true(isnan(y[0]));
    assert_true(y[1] == 0.0f && !signbit(y[1])); /* -0 becomes +0 */
    assert_true(y[2] == 0.0f && y[3] == 3.0f);
    assert_nn_ok(nn_pool2d_shape_check(&s));
    nn_maxpool_forward(&s, plane, out, argmax, 1); /* general path */
    assert_true(isnan(out[0]));
    assert_int_equal(argmax[0], 4);
}

/* The trainer on data that normalises to infinities (a tiny std): it stops
 * at the first batch with NN_ENUMERIC, says the input batch is at fault,
 * and the weights are the initial ones. */
static void test_trainer_stops_before_any_update(void **state)
{
    nn_dataset d;
    nn_net *net = make_net("conv3x3x4p1,relu,pool2,dense3", 8);
    nn_train_config cfg = nn_train_defaults();
    nn_optim *opt = tu_optim(net, &cfg.optim);
    size_t n = nn_net_param_count(net);
    float *before = malloc(n * sizeof *before);
    nn_epoch_stats stats;
    nn_rng rng;
    (void)state;
    assert_non_null(before);
    cfg.batch = 8;
    tu_make_dataset(&d, 32, SIDE, CLASSES, 5);
    d.std[0] = 1e-45f; /* positive and finite, so batches are drawn */
    memcpy(before, nn_net_params(net), n * sizeof *before);
    nn_rng_seed(&rng, 1);
    assert_int_equal(nn_train_epoch(net, opt, &d, &cfg, 0, &rng, &stats), NN_ENUMERIC);
    print_message("  %s\n", stats.message);
    assert_non_null(strstr(stats.message, "the input batch"));
    assert_memory_equal(before, nn_net_params(net), n * sizeof *before);
    assert_int_equal(nn_optim_steps(opt), 0);
    free(before);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_dataset_free(&d);
}

/* A learning rate far too high: the weights blow up until a pass is not
 * finite; training stops there and every weight is still finite (the last
 * good step's). */
static void test_divergence_leaves_finite_weights(void **state)
{
    nn_dataset d;
    nn_net *net = make_net("dense16,relu,dense3", 16);
    nn_train_config cfg = nn_train_defaults();
    nn_optim *opt;
    nn_epoch_stats stats;
    nn_status st = NN_OK;
    nn_rng rng;
    (void)state;
    cfg.batch = 16;
    cfg.schedule.kind = NN_SCHEDULE_CONSTANT;
    cfg.schedule.lr = 1e30f;
    opt = tu_optim(net, &cfg.optim);
    tu_make_dataset(&d, 64, SIDE, CLASSES, 4);
    nn_rng_seed(&rng, 1);
    for (int e = 0; e < 3 && st == NN_OK; e++)
        st = nn_train_epoch(net, opt, &d, &cfg, e, &rng, &stats);
    assert_int_equal(st, NN_ENUMERIC);
    print_message("  after %ld steps: %s\n", nn_optim_steps(opt), stats.message);
    assert_true(stats.message[0] != '\0');
    for (size_t i = 0; i < nn_net_param_count(net); i++)
        assert_true(isfinite(nn_net_params(net)[i]));
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_dataset_free(&d);
}

static void test_check_finite_names_the_gradient(void **state)
{
    nn_net *net = make_net("dense4,relu,dense3", 2);
    int labels[2] = {1, 2};
    float loss, *values, *grads;
    size_t count;
    char msg[256];
    (void)state;
    assert_nn_ok(nn_net_forward(net, 2));
    assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
    nn_net_zero_grad(net);
    assert_nn_ok(nn_net_backward(net));
    assert_nn_ok(nn_net_check_finite(net, msg, sizeof msg));
    assert_string_equal(msg, "");
    assert_nn_ok(nn_net_layer_params(net, 2, &values, &grads, &count));
    grads[13] = INFINITY; /* weights (3, 4), then bias[1] */
    assert_int_equal(nn_net_check_finite(net, msg, sizeof msg), NN_ENUMERIC);
    assert_string_equal(msg, "the gradient of layer 2 (dense) bias[1] is inf");
    nn_net_destroy(net);
}

/* Training-mode batchnorm with one value per channel is refused, in the
 * net and by the trainer (which leaves such a last batch out); after a
 * convolution one image still has h*w values and trains. */
static void test_batchnorm_needs_two_values(void **state)
{
    nn_net *dense = make_net("dense4,bn,relu,dense3", 64);
    nn_net *conv = make_net("conv3x3x2p1,bn,relu,dense3", 64);
    nn_train_config cfg = nn_train_defaults();
    nn_optim *opt = tu_optim(dense, &cfg.optim);
    nn_epoch_stats stats;
    nn_dataset d;
    nn_rng rng;
    float *values;
    size_t count;
    (void)state;
    assert_int_equal(nn_net_min_batch(dense), 2);
    assert_int_equal(nn_net_min_batch(conv), 1);
    assert_int_equal(nn_net_forward(dense, 1), NN_ESHAPE);
    assert_nn_ok(nn_net_forward(dense, 2));
    assert_nn_ok(nn_net_forward(conv, 1));
    nn_net_set_training(dense, 0);
    assert_nn_ok(nn_net_forward(dense, 1)); /* running statistics: fine */
    tu_make_dataset(&d, 65, SIDE, CLASSES, 8); /* 64 + a last batch of 1 */
    nn_rng_seed(&rng, 2);
    for (int e = 0; e < 3; e++) {
        assert_nn_ok(nn_train_epoch(dense, opt, &d, &cfg, e, &rng, &stats));
        assert_int_equal(stats.images, 64);
    }
    values = nn_net_state(dense); /* running mean (4), running variance (4) */
    count = nn_net_state_count(dense);
    for (size_t i = count / 2; i < count; i++)
        assert_true(values[i] > 0.01f); /* not pulled towards 0 */
    nn_optim_destroy(opt);
    nn_net_destroy(dense);
    nn_net_destroy(conv);
    nn_dataset_free(&d);
}

/* A label out of range is refused before anything is written. */
static void test_bad_label_changes_nothing(void **state)
{
    nn_net *net = make_net("dense3", 2);
    int labels[2] = {1, 3};
    float loss = -1.0f, probs[6], dlogits[6], logits[6] = {1, 2, 3, 4, 5, 6};
    nn_tensor *out;
    (void)state;
    assert_nn_ok(nn_net_forward(net, 2));
    out = nn_net_output(net);
    for (int i = 0; i < 6; i++)
        out->g[i] = 7.0f;
    assert_int_equal(nn_net_softmax_xent(net, labels, &loss), NN_EINVAL);
    for (int i = 0; i < 6; i++)
        assert_true(out->g[i] == 7.0f);
    assert_true(loss == -1.0f);
    for (int i = 0; i < 6; i++)
        probs[i] = dlogits[i] = 0.5f;
    assert_int_equal(nn_softmax_xent_forward(logits, labels, probs, 2, 3, &loss),
                     NN_EINVAL);
    assert_int_equal(nn_softmax_xent_backward(probs, labels, dlogits, 2, 3),
                     NN_EINVAL);
    for (int i = 0; i < 6; i++)
        assert_true(probs[i] == 0.5f && dlogits[i] == 0.5f);
    labels[1] = -1;
    assert_int_equal(nn_softmax_xent_backward(probs, labels, dlogits, 2, 3),
                     NN_EINVAL);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nan_input_reaches_the_loss),
        cmocka_unit_test(test_relu_and_maxpool_pass_nan),
        cmocka_unit_test(test_trainer_stops_before_any_update),
        cmocka_unit_test(test_divergence_leaves_finite_weights),
        cmocka_unit_test(test_check_finite_names_the_gradient),
        cmocka_unit_test(test_batchnorm_needs_two_values),
        cmocka_unit_test(test_bad_label_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
