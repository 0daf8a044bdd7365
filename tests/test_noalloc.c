/* A training step makes no heap allocation once the net is built, nor does
 * an int8 model's prediction once it is made: malloc, calloc, realloc and
 * aligned_alloc are counted (tests/alloc_count.h) while steps run, with one
 * and two threads.
 * Not built under the sanitizers, which replace malloc themselves. */
#include "gradcheck.h"

#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"
#include "quant/quant.h"

static void check_steps(const char *spec, int c, int h, int w, int threads)
{
    nn_net *net = NULL;
    nn_optim_settings sgd = tu_sgd(0.01f, 0.9f, 5e-4f);
    nn_optim_settings adam = nn_optim_defaults(NN_OPTIM_ADAM);
    nn_optim *opts[2];
    int labels[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float loss;
    nn_rng rng;
    assert_nn_ok(nn_net_create(c, h, w, &net));
    assert_nn_ok(nn_net_add_spec(net, spec, NULL, 0));
    assert_nn_ok(nn_net_build(net, 8, 1));
    assert_nn_ok(nn_net_set_threads(net, threads));
    opts[0] = tu_optim(net, &sgd);
    opts[1] = tu_optim(net, &adam);
    nn_rng_seed(&rng, 2);
    gc_fill_normal(nn_net_input(net)->x, (size_t)8 * c * h * w, 1.0f, &rng);
    counting = 1;
    allocations = 0;
    for (int step = 0; step < 3; step++) {
        nn_net_set_training(net, 1);
        assert_nn_ok(nn_net_forward(net, step == 2 ? 5 : 8)); /* a smaller batch too */
        assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
        nn_net_zero_grad(net);
        assert_nn_ok(nn_net_backward(net));
        assert_nn_ok(nn_optim_step(opts[step == 1], net));
        nn_net_set_training(net, 0);
        assert_nn_ok(nn_net_forward(net, 8));
    }
    counting = 0;
    print_message("  %s, %d thread(s): %zu allocations in 3 steps\n", spec,
                  threads, allocations);
    assert_int_equal(allocations, 0);
    nn_optim_destroy(opts[0]);
    nn_optim_destroy(opts[1]);
    nn_net_destroy(net);
}

static void test_counter_sees_allocations(void **state)
{
    /* Non-vacuity: the counter does count. */
    void *volatile p; /* kept: a malloc and free pair may be elided */
    (void)state;
    counting = 1;
    allocations = 0;
    p = malloc(16);
    counting = 0;
    free(p);
    assert_int_equal(allocations, 1);
}

static void test_cnn_step_allocates_nothing(void **state)
{
    (void)state;
    check_steps("conv3x3x8p1,bn,relu,pool2,conv3x3x8,relu,dense32,bn,sigmoid,dense10",
                3, 12, 10, 1);
    check_steps("conv3x3x8p1,bn,relu,pool2,conv3x3x8,relu,dense32,bn,tanh,dense10",
                3, 12, 10, 2);
    /* every convolution algorithm: direct (lenet on AVX2), Winograd (32
     * input channels), im2col (one input channel, 3x3; and stride 2) */
    check_steps("lenet", 1, 28, 28, 2);
    check_steps("conv3x3x32p1,relu,conv3x3x32,relu,conv3x3x16s2,pool2,dense10",
                1, 14, 13, 2);
}

static void test_mlp_step_allocates_nothing(void **state)
{
    (void)state;
    check_steps("mlp", 1, 28, 28, 1);
    check_steps("mlp", 1, 28, 28, 2);
}

/* nn_qmodel_predict and nn_qmodel_logits, every kind of op, on the AVX
 * paths and the portable ones, full and smaller batches. */
static void test_int8_predict_allocates_nothing(void **state)
{
    enum { C = 1, H = 12, W = 12, N = 8 };
    nn_net *net = NULL;
    nn_qmodel *q = NULL;
    float x[N * C * H * W], probs[N * 10];
    char msg[256];
    nn_rng rng;
    (void)state;
    assert_nn_ok(nn_net_create(C, H, W, &net));
    assert_nn_ok(nn_net_add_spec(net, "conv3x3x8p1,bn,relu@a,conv3x3x8p1,"
                                 "add(a),leakyrelu0.1,pool2@p,conv1x1x8,"
                                 "concat(p),avgpool3s2p1,bn,conv3x3x8s2p1,"
                                 "tanh,gap,dense10", NULL, 0));
    assert_nn_ok(nn_net_build(net, N, 1));
    nn_rng_seed(&rng, 3);
    gc_fill_normal(x, sizeof x / sizeof *x, 1.0f, &rng);
    assert_nn_ok(nn_quantize(net, x, N, NULL, &q, msg, sizeof msg));
    counting = 1;
    allocations = 0;
    for (int avx = 1; avx >= 0; avx--) {
        nn_qmodel_set_avx2(q, avx);
        assert_nn_ok(nn_qmodel_predict(q, x, N, probs));
        assert_nn_ok(nn_qmodel_logits(q, x, 3, probs));
    }
    counting = 0;
    print_message("  int8 graph: %zu allocations in 4 predictions\n",
                  allocations);
    assert_int_equal(allocations, 0);
    nn_qmodel_free(q);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_sees_allocations),
        cmocka_unit_test(test_cnn_step_allocates_nothing),
        cmocka_unit_test(test_mlp_step_allocates_nothing),
        cmocka_unit_test(test_int8_predict_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
