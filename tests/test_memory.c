/* nn_train_memory, the plan the trainers compare with the machine's memory
 * before building: for presets and specs of every layer kind, with one and
 * two threads and every optimizer, it agrees within 1% with the bytes that
 * nn_net_build and nn_optim_create really allocate (malloc, calloc,
 * realloc and aligned_alloc are counted: tests/alloc_count.h), and it
 * allocates nothing itself. Not built under the sanitizers. */
#include "gradcheck.h"

#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"

/* The plan for spec on (c, h, w) at batch, then the real build and
 * optimizer, counted. */
static void check_plan(const char *spec, int c, int h, int w, int batch,
                       int threads, nn_optim_kind kind)
{
    nn_optim_settings s = nn_optim_defaults(kind);
    nn_net *net = NULL;
    nn_optim *opt = NULL;
    size_t planned;
    double error;
    assert_nn_ok(nn_net_create(c, h, w, &net));
    assert_nn_ok(nn_net_add_spec(net, spec, NULL, 0));
    assert_nn_ok(nn_net_set_threads(net, threads));
    counting = 1;
    allocated = allocations = 0;
    assert_nn_ok(nn_train_memory(net, batch, kind, &planned));
    counting = 0;
    assert_int_equal(allocations, 0);
    counting = 1;
    assert_nn_ok(nn_net_build(net, batch, 1));
    assert_nn_ok(nn_optim_create(net, &s, &opt));
    counting = 0;
    error = ((double)planned - (double)allocated) / (double)allocated;
    if (threads == 2 && kind == NN_OPTIM_ADAM)
        print_message("  %-24.24s %dx%dx%d batch %2d, 2 threads, adam: planned "
                      "%9zu, allocated %9zu (%+.3f%%)\n", spec, c, h, w, batch,
                      planned, allocated, 100 * error);
    assert_true(error > -0.01 && error < 0.01);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

static void test_plan_matches_allocations(void **state)
{
    static const struct {
        const char *spec;
        int c, h, w, batch;
    } nets[] = {
        {"mlp", 1, 28, 28, 64},
        {"lenet", 1, 28, 28, 64},
        {"deep-bn", 1, 28, 28, 32},
        {"vgg", 3, 32, 32, 16},
        {"vgg-gap", 3, 32, 32, 8},
        {"conv3x3x8p1,leakyrelu0.1,avgpool3s2p1,conv3x3x8p1,bn,relu,"
         "dropout0.3,gap,dense10", 3, 32, 32, 16},
        {"conv5x5x6s2,sigmoid,pool2,dense20,tanh,dense3", 2, 17, 15, 5},
    };
    (void)state;
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
        for (int threads = 1; threads <= 2; threads++)
            for (int kind = NN_OPTIM_SGD; kind <= NN_OPTIM_ADAMW; kind++)
                check_plan(nets[i].spec, nets[i].c, nets[i].h, nets[i].w,
                           nets[i].batch, threads, (nn_optim_kind)kind);
}

/* A batch no machine has memory for is planned, not allocated; sizes
 * beyond size_t are NN_EOVERFLOW; bad arguments are refused. */
static void test_plan_of_huge_and_bad_requests(void **state)
{
    nn_net *net = NULL;
    size_t bytes = 0;
    (void)state;
    assert_nn_ok(nn_net_create(3, 32, 32, &net));
    assert_nn_ok(nn_net_add_spec(net, "vgg", NULL, 0));
    counting = 1;
    allocated = allocations = 0;
    assert_nn_ok(nn_train_memory(net, 65536, NN_OPTIM_SGD, &bytes));
    counting = 0;
    assert_int_equal(allocations, 0);
    print_message("  vgg at batch 65536: %.1f GiB\n", bytes / 1073741824.0);
    assert_true(bytes > (size_t)100 << 30);
    assert_int_equal(nn_train_memory(net, 0, NN_OPTIM_SGD, &bytes), NN_EINVAL);
    assert_int_equal(nn_train_memory(net, 8, (nn_optim_kind)99, &bytes),
                     NN_EINVAL);
    assert_int_equal(nn_train_memory(net, 8, NN_OPTIM_SGD, NULL), NN_EINVAL);
    assert_int_equal(nn_train_memory(NULL, 8, NN_OPTIM_SGD, &bytes), NN_EINVAL);
    nn_net_destroy(net);
    net = NULL;
    assert_nn_ok(nn_net_create(1, 1024, 1024, &net));
    assert_nn_ok(nn_net_add_spec(net, "conv3x3x1024p1", NULL, 0));
    assert_int_equal(nn_train_memory(net, 1 << 30, NN_OPTIM_SGD, &bytes),
                     NN_EOVERFLOW);
    nn_net_destroy(net);
    net = NULL;
    assert_nn_ok(nn_net_create(1, 4, 4, &net));
    assert_nn_ok(nn_net_add_spec(net, "conv5x5x4", NULL, 0));
    assert_int_equal(nn_train_memory(net, 8, NN_OPTIM_SGD, &bytes), NN_ESHAPE);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_matches_allocations),
        cmocka_unit_test(test_plan_of_huge_and_bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
