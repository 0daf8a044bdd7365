/* Whole-network checks: gradients through a small CNN with its loss,
 * accumulation, seeded initialisation, and seed 000's worked example. */
#include "gradcheck.h"
#include "nn/advanced.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* conv -> batchnorm -> relu -> maxpool -> dense, input (3, 2, 7, 6) */
static nn_net *small_cnn(uint64_t seed)
{
    nn_net *net = NULL;
    nn_rng rng;
    nn_tensor *in;
    assert_nn_ok(nn_net_create(2, 7, 6, &net));
    assert_nn_ok(nn_net_add_conv2d(net, 4, 3, 3, 1, 1));
    assert_nn_ok(nn_net_add_batchnorm(net));
    assert_nn_ok(nn_net_add_relu(net));
    assert_nn_ok(nn_net_add_maxpool(net, 2, 2));
    assert_nn_ok(nn_net_add_dense(net, 5));
    assert_nn_ok(nn_net_build(net, 3, seed));
    in = nn_net_input(net);
    nn_rng_seed(&rng, seed ^ 0x5eed);
    gc_fill_normal(in->x, nn_tensor_count(in), 1.0f, &rng);
    return net;
}

/* The whole-net check under one choice of kernels. */
static void check_whole_network(nn_kernels kernels, const char *name)
{
    int labels[3] = {1, 4, 0};
    nn_net *net = small_cnn(7);
    gc_result r;
    assert_nn_ok(nn_net_set_kernels(net, kernels));
    /* A step of 1e-3: one conv weight touches every pixel, and a larger
     * step would straddle some relu or max-pool kink far more often. */
    r = gc_check_net(net, 3, 8, 80, 1e-3f, labels);
    print_message("  %s kernels: max error %.2e, max |numeric| %.3f, %d checked, %d skipped\n",
                  name, r.max_error, r.max_numeric, r.checked, r.skipped);
    assert_true(gc_passed(&r, 1e-3));
    nn_net_destroy(net);
}

/* Every kernel choice: the fastest this CPU has, plain C, the textbook. */
static void test_whole_network_with_softmax_loss(void **state)
{
    (void)state;
    check_whole_network(NN_KERNELS_AUTO, "auto");
    check_whole_network(NN_KERNELS_PORTABLE, "portable");
    check_whole_network(NN_KERNELS_REFERENCE, "reference");
}

static void test_backward_twice_doubles(void **state)
{
    int labels[3] = {2, 0, 3};
    nn_net *net = small_cnn(9);
    size_t n = nn_net_param_count(net);
    float *once = malloc(n * sizeof *once), loss;
    size_t nonzero = 0;
    (void)state;
    assert_non_null(once);
    assert_nn_ok(nn_net_forward(net, 3));
    assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
    nn_net_zero_grad(net);
    assert_nn_ok(nn_net_backward(net));
    memcpy(once, nn_net_grads(net), n * sizeof *once);
    assert_nn_ok(nn_net_backward(net));
    for (size_t i = 0; i < n; i++) {
        assert_close(nn_net_grads(net)[i], 2.0 * once[i], 1e-6 + 1e-5 * fabs(once[i]));
        nonzero += once[i] != 0.0f;
    }
    assert_true(nonzero > n / 2);
    free(once);
    nn_net_destroy(net);
}

static void test_same_seed_same_weights(void **state)
{
    nn_net *a = small_cnn(42), *b = small_cnn(42), *c = small_cnn(43);
    size_t n = nn_net_param_count(a);
    (void)state;
    assert_int_equal(n, nn_net_param_count(b));
    assert_memory_equal(nn_net_params(a), nn_net_params(b), n * sizeof(float));
    assert_memory_not_equal(nn_net_params(a), nn_net_params(c), n * sizeof(float));
    nn_net_destroy(a);
    nn_net_destroy(b);
    nn_net_destroy(c);
}

static void test_parameter_counts(void **state)
{
    nn_net *net = small_cnn(1);
    nn_layer_info info;
    size_t expect[5] = {4 * 2 * 9 + 4, 2 * 4, 0, 0, 5 * 4 * 3 * 3 + 5};
    size_t total = 0;
    (void)state;
    assert_int_equal(nn_net_layer_count(net), 5);
    for (int i = 0; i < 5; i++) {
        assert_nn_ok(nn_net_layer_info(net, i, &info));
        assert_int_equal(info.params, expect[i]);
        total += info.params;
    }
    assert_nn_ok(nn_net_layer_info(net, 3, &info));
    assert_string_equal(info.kind, "maxpool");
    assert_int_equal(info.out_c, 4);
    assert_int_equal(info.out_h, 3);
    assert_int_equal(info.out_w, 3);
    assert_int_equal(total, nn_net_param_count(net));
    nn_net_destroy(net);
}

/* deep's multiply-adds per image: conv1 by im2col (no input gradient),
 * conv2 by Winograd F(4x4) (36 * 64 * 64 * 6 * 6 per pass) or, with the reference
 * kernels, directly (64 * 64 * 9 * 24 * 24); relu counts none. */
static void test_layer_macs(void **state)
{
    nn_net *net = tu_net("deep", 1, 28, 28, 2, 1);
    nn_layer_macs m;
    (void)state;
    assert_nn_ok(nn_net_layer_macs(net, 0, &m));
    assert_true(m.forward == 64 * 9 * 676 && m.backward == m.forward);
    assert_nn_ok(nn_net_layer_macs(net, 2, &m));
    assert_true(m.forward == 5308416 && m.backward == 2 * m.forward);
    assert_true(m.direct_forward == 21233664 && m.direct_backward == 2 * 21233664);
    assert_nn_ok(nn_net_layer_macs(net, 1, &m));
    assert_true(m.forward == 0 && m.direct_backward == 0);
    assert_nn_ok(nn_net_set_kernels(net, NN_KERNELS_REFERENCE));
    assert_nn_ok(nn_net_layer_macs(net, 2, &m));
    assert_true(m.forward == 21233664);
    nn_net_set_input_grad(net, 1);
    assert_nn_ok(nn_net_layer_macs(net, 0, &m));
    assert_true(m.backward == 2 * m.forward);
    assert_int_equal(nn_net_layer_macs(net, 14, &m), NN_EINVAL);
    nn_net_destroy(net);
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Seed 000: inputs 0.4, 0.6; w1 = 0.1, w2 = 0.2, b1 = 0.4; w5 = 0.3. The seed
 * leaves out w3, w4, w6, w7, w8 and b2: we choose w3 = 0.3, w4 = 0.4,
 * w6 = 0.2, b2 = 0.18 (so out_o1 = 0.624 as in the seed), w7 = 0.5,
 * w8 = 0.6, target_o2 = 0.9. One step of plain gradient descent, lr 0.3. */
static void test_seed000_worked_example(void **state)
{
    const float w1 = 0.1f, w2 = 0.2f, w3 = 0.3f, w4 = 0.4f, b1 = 0.4f;
    const float w5 = 0.3f, w6 = 0.2f, w7 = 0.5f, w8 = 0.6f, b2 = 0.18f;
    float target[2] = {0.5f, 0.9f}, loss, *values, *grads;
    size_t count;
    nn_net *net = NULL;
    nn_optim_settings sgd = tu_sgd(0.3f, 0.0f, 0.0f);
    nn_optim *opt;
    double out_h1, out_h2, out_o1, expected;
    (void)state;
    assert_nn_ok(nn_net_create(2, 1, 1, &net));
    assert_nn_ok(nn_net_add_dense(net, 2));
    assert_nn_ok(nn_net_add_sigmoid(net));
    assert_nn_ok(nn_net_add_dense(net, 2));
    assert_nn_ok(nn_net_add_sigmoid(net));
    assert_nn_ok(nn_net_build(net, 1, 0));
    /* W (out, in) then b (out) */
    assert_nn_ok(nn_net_layer_params(net, 0, &values, &grads, &count));
    assert_int_equal(count, 6);
    memcpy(values, (float[]){w1, w2, w3, w4, b1, b1}, 6 * sizeof(float));
    assert_nn_ok(nn_net_layer_params(net, 2, &values, &grads, &count));
    memcpy(values, (float[]){w5, w6, w7, w8, b2, b2}, 6 * sizeof(float));
    nn_net_input(net)->x[0] = 0.4f;
    nn_net_input(net)->x[1] = 0.6f;

    assert_nn_ok(nn_net_forward(net, 1));
    assert_nn_ok(nn_net_mse(net, target, &loss));
    nn_net_zero_grad(net);
    assert_nn_ok(nn_net_backward(net));

    /* The chain rule by hand, in double, as the seed writes it. */
    out_h1 = sigmoid(0.4 * w1 + 0.6 * w2 + b1);
    out_h2 = sigmoid(0.4 * w3 + 0.6 * w4 + b1);
    out_o1 = sigmoid(w5 * out_h1 + w6 * out_h2 + b2);
    expected = (out_o1 - target[0]) * out_o1 * (1 - out_o1) * out_h1;
    print_message("  out_h1 %.3f out_o1 %.3f dE/dw5 %.4f (library %.4f)\n",
                  out_h1, out_o1, expected, grads[0]);
    assert_close(out_h1, 0.636, 5e-4);
    assert_close(nn_net_output(net)->x[0], 0.624, 5e-4);
    assert_close(grads[0], expected, 1e-6);
    assert_close(grads[0], 0.019, 1e-3);
    opt = tu_optim(net, &sgd);
    assert_nn_ok(nn_optim_step(opt, net));
    nn_optim_destroy(opt);
    print_message("  w5 after one step: %.4f\n", values[0]);
    assert_close(values[0], w5 - 0.3 * expected, 1e-6);
    assert_close(values[0], 0.294, 1e-3);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_network_with_softmax_loss),
        cmocka_unit_test(test_backward_twice_doubles),
        cmocka_unit_test(test_same_seed_same_weights),
        cmocka_unit_test(test_parameter_counts),
        cmocka_unit_test(test_layer_macs),
        cmocka_unit_test(test_seed000_worked_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
