/* Bad input gets an error status, never a crash. */
#include "gradcheck.h"

#include <stdint.h>

static void test_null_arguments(void **state)
{
    nn_net *net = NULL;
    float loss;
    (void)state;
    assert_int_equal(nn_net_create(1, 1, 1, NULL), NN_EINVAL);
    assert_int_equal(nn_net_add_dense(NULL, 3), NN_EINVAL);
    assert_int_equal(nn_net_build(NULL, 1, 0), NN_EINVAL);
    assert_int_equal(nn_net_forward(NULL, 1), NN_EINVAL);
    assert_int_equal(nn_net_backward(NULL), NN_EINVAL);
    assert_null(nn_net_input(NULL));
    nn_net_destroy(NULL);
    assert_nn_ok(nn_net_create(1, 2, 2, &net));
    assert_nn_ok(nn_net_add_dense(net, 2));
    assert_nn_ok(nn_net_build(net, 2, 0));
    assert_nn_ok(nn_net_forward(net, 1));
    assert_int_equal(nn_net_softmax_xent(net, NULL, &loss), NN_EINVAL);
    assert_int_equal(nn_net_mse(net, NULL, &loss), NN_EINVAL);
    assert_int_equal(nn_net_set_kernels(NULL, NN_KERNELS_AUTO), NN_EINVAL);
    assert_int_equal(nn_net_set_kernels(net, (nn_kernels)3), NN_EINVAL);
    assert_int_equal(nn_net_set_kernels(net, (nn_kernels)-1), NN_EINVAL);
    assert_int_equal(nn_net_kernels(net), NN_KERNELS_AUTO); /* unchanged */
    nn_net_destroy(net);
}

static void test_negative_and_zero_sizes(void **state)
{
    nn_net *net = NULL;
    (void)state;
    assert_int_equal(nn_net_create(0, 28, 28, &net), NN_EINVAL);
    assert_null(net);
    assert_int_equal(nn_net_create(1, -28, 28, &net), NN_EINVAL);
    assert_nn_ok(nn_net_create(1, 28, 28, &net));
    assert_int_equal(nn_net_add_dense(net, -5), NN_EINVAL);
    assert_int_equal(nn_net_add_conv2d(net, 4, 3, 3, 0, 0), NN_EINVAL); /* stride 0 */
    assert_int_equal(nn_net_add_conv2d(net, 4, -3, 3, 1, 0), NN_EINVAL);
    assert_int_equal(nn_net_add_maxpool(net, 2, 0), NN_EINVAL);
    /* The first error is sticky: build reports it. */
    assert_int_equal(nn_net_build(net, 4, 0), NN_EINVAL);
    nn_net_destroy(net);
}

static void test_kernel_larger_than_padded_input(void **state)
{
    nn_net *net = NULL;
    (void)state;
    assert_nn_ok(nn_net_create(1, 4, 4, &net));
    assert_nn_ok(nn_net_add_conv2d(net, 2, 7, 7, 1, 1)); /* 7 > 4 + 2 */
    assert_int_equal(nn_net_build(net, 1, 0), NN_ESHAPE);
    nn_net_destroy(net);
    assert_nn_ok(nn_net_create(1, 4, 4, &net));
    assert_nn_ok(nn_net_add_maxpool(net, 5, 1));
    assert_int_equal(nn_net_build(net, 1, 0), NN_ESHAPE);
    nn_net_destroy(net);
}

static void test_batch_limits(void **state)
{
    nn_net *net = NULL;
    (void)state;
    assert_nn_ok(nn_net_create(1, 2, 2, &net));
    assert_nn_ok(nn_net_add_dense(net, 2));
    assert_int_equal(nn_net_forward(net, 1), NN_ESTATE); /* not built */
    assert_int_equal(nn_net_build(net, 0, 0), NN_EINVAL);
    assert_nn_ok(nn_net_build(net, 4, 0));
    assert_int_equal(nn_net_backward(net), NN_ESTATE); /* no forward yet */
    assert_int_equal(nn_net_forward(net, 5), NN_EINVAL);
    assert_int_equal(nn_net_forward(net, 0), NN_EINVAL);
    assert_nn_ok(nn_net_forward(net, 4));
    assert_int_equal(nn_net_add_relu(net), NN_ESTATE); /* already built */
    assert_int_equal(nn_net_build(net, 4, 0), NN_ESTATE);
    nn_net_destroy(net);
}

static void test_sizes_that_overflow(void **state)
{
    nn_net *net = NULL;
    (void)state;
    assert_int_equal(nn_net_create(1 << 20, 1 << 20, 1 << 20, &net), NN_EOVERFLOW);
    assert_nn_ok(nn_net_create(1, 1024, 1024, &net));
    assert_nn_ok(nn_net_add_conv2d(net, 1 << 20, 1, 1, 1, 0));
    assert_int_equal(nn_net_build(net, INT32_MAX, 0), NN_EOVERFLOW);
    nn_net_destroy(net);
    assert_nn_ok(nn_net_create(1, 1, 1, &net));
    assert_nn_ok(nn_net_add_dense(net, 1 << 24));
    assert_nn_ok(nn_net_add_dense(net, 1 << 24)); /* 2^48 weights */
    assert_int_equal(nn_net_build(net, 1, 0), NN_EOVERFLOW);
    nn_net_destroy(net);
}

static void test_bad_labels(void **state)
{
    nn_net *net = NULL;
    int labels[2] = {0, 3};
    float loss;
    (void)state;
    assert_nn_ok(nn_net_create(1, 1, 4, &net));
    assert_nn_ok(nn_net_add_dense(net, 3));
    assert_nn_ok(nn_net_build(net, 2, 0));
    assert_nn_ok(nn_net_forward(net, 2));
    assert_int_equal(nn_net_softmax_xent(net, labels, &loss), NN_EINVAL);
    labels[1] = -1;
    assert_int_equal(nn_net_softmax_xent(net, labels, &loss), NN_EINVAL);
    nn_net_destroy(net);
}

static void test_status_messages(void **state)
{
    (void)state;
    for (int s = NN_OK; s <= NN_EOVERFLOW; s++)
        assert_non_null(nn_status_str((nn_status)s));
    assert_string_equal(nn_status_str(NN_ENOMEM), "out of memory");
    assert_string_equal(nn_status_str((nn_status)999), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_negative_and_zero_sizes),
        cmocka_unit_test(test_kernel_larger_than_padded_input),
        cmocka_unit_test(test_batch_limits),
        cmocka_unit_test(test_sizes_that_overflow),
        cmocka_unit_test(test_bad_labels),
        cmocka_unit_test(test_status_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
