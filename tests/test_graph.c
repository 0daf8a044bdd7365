/* Nets that are graphs: the add and concat kernels against hand values,
 * central-difference checks through outputs read by several layers (every
 * kernel choice), the C API against the spec, refusals with messages, and
 * the same bits on any number of threads. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-3

/* One output ('a') read by the next layer, an add and a concat; the input
 * read again by a concat. */
#define FAN_OUT "conv3x3x4p1@a,conv3x3x4p1,bn,add(a)@s,concat(a,s,input)," \
                "tanh,dense5"
/* A layer that writes its input gradient (bn) reading an output that a
 * later add reads too: its gradient goes through the net's stage. (relu,
 * the other such kind, in test_gradients_staged_relu: tanh here keeps the
 * checked points away from kinks.) */
#define PRE_ACT "conv3x3x4p1@a,bn,tanh,conv3x3x4p1@b,add(a,b),dense5"
/* A basic block with a strided 1x1 projection shortcut and max pooling. */
#define PROJECTION "conv3x3x4p1,tanh@a,conv3x3x8s2p1,bn,tanh,conv3x3x8p1," \
                   "bn@m,conv1x1x8s2(a),bn,add(m),tanh,pool2,dense5"

static void test_add_concat_kernels(void **state)
{
    const float x0[4] = {1, 2, 3, 4}, x1[4] = {10, 20, 30, 40},
                x2[4] = {-1, -1, 0.5f, 0};
    const float *xs[3] = {x0, x1, x2};
    float y[8], g0[4] = {0}, g1[4] = {1, 1, 1, 1}, *gs[3] = {g0, g1, NULL};
    const float dy[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const int channels[2] = {1, 1};
    (void)state;
    nn_add_forward(xs, 3, y, 4);
    assert_true(y[0] == 10 && y[1] == 21 && y[2] == 33.5f && y[3] == 44);
    nn_add_backward(dy, gs, 3, 4); /* NULL: that input keeps no gradient */
    assert_true(g0[0] == 1 && g0[3] == 4 && g1[0] == 2 && g1[3] == 5);
    /* two samples of (1 channel, hw 2) from each of two inputs */
    nn_concat_forward(xs, channels, 2, y, 2, 2);
    assert_true(y[0] == 1 && y[1] == 2 && y[2] == 10 && y[3] == 20 &&
                y[4] == 3 && y[5] == 4 && y[6] == 30 && y[7] == 40);
    memset(g0, 0, sizeof g0);
    memset(g1, 0, sizeof g1);
    nn_concat_backward(dy, gs, channels, 2, 2, 2);
    assert_true(g0[0] == 1 && g0[1] == 2 && g0[2] == 5 && g0[3] == 6 &&
                g1[0] == 3 && g1[1] == 4 && g1[2] == 7 && g1[3] == 8);
}

/* Checks spec's input and parameter gradients with each kernel choice. */
static void check_spec(const char *spec, int c, int h, int w, uint64_t seed)
{
    static const nn_kernels kernels[] = {NN_KERNELS_AUTO, NN_KERNELS_PORTABLE,
                                         NN_KERNELS_REFERENCE};
    for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++) {
        nn_net *net = NULL;
        nn_rng rng;
        gc_result r;
        char msg[200];
        assert_nn_ok(nn_net_create(c, h, w, &net));
        if (nn_net_add_spec(net, spec, msg, sizeof msg) != NN_OK)
            fail_msg("%s: %s", spec, msg);
        assert_nn_ok(nn_net_set_kernels(net, kernels[k]));
        assert_nn_ok(nn_net_build(net, 2, seed));
        nn_rng_seed(&rng, seed + 1);
        gc_fill_normal(nn_net_input(net)->x, nn_tensor_count(nn_net_input(net)),
                       1.0f, &rng);
        r = gc_check_net(net, 2, seed + 2, 80, 5e-3f, NULL);
        print_message("  %s kernels %d: max error %.2e, max |numeric| %.3f, "
                      "%d checked, %d skipped\n", spec, (int)kernels[k],
                      r.max_error, r.max_numeric, r.checked, r.skipped);
        assert_true(gc_passed(&r, TOL));
        nn_net_destroy(net);
    }
}

static void test_gradients_fan_out(void **state)
{
    (void)state;
    check_spec(FAN_OUT, 3, 7, 6, 31);
}

static void test_gradients_pre_activation(void **state)
{
    (void)state;
    check_spec(PRE_ACT, 2, 6, 5, 41);
}

static void test_gradients_projection(void **state)
{
    (void)state;
    check_spec(PROJECTION, 3, 8, 8, 51);
}

/* relu reading the input, which a later add reads too (relu's gradient
 * goes through the stage), on inputs at least 0.05 from each other and
 * from relu's kink. */
static void test_gradients_staged_relu(void **state)
{
    nn_net *net = tu_net("relu,conv3x3x2p1,add(input),dense3", 2, 5, 4, 2, 61);
    nn_tensor *in = nn_net_input(net);
    size_t n = nn_tensor_count(in);
    nn_rng rng;
    gc_result r;
    (void)state;
    nn_rng_seed(&rng, 62);
    gc_fill_spaced(in->x, n, &rng);
    r = gc_check_net(net, 2, 63, 1000, 1e-2f, NULL);
    print_message("  max error %.2e, %d checked, %d skipped\n", r.max_error,
                  r.checked, r.skipped);
    assert_int_equal(r.skipped, 0);
    assert_true(gc_passed(&r, TOL));
    nn_net_destroy(net);
}

/* Two backward passes without clearing add up: every parameter gradient
 * doubles, also where an output's gradient is a sum over readers. */
static void test_backward_twice_doubles(void **state)
{
    nn_net *net = tu_net(PRE_ACT, 2, 6, 5, 3, 7);
    int labels[3] = {0, 4, 2};
    size_t n = nn_net_param_count(net);
    float loss, *once = malloc(n * sizeof *once);
    nn_rng rng;
    (void)state;
    assert_non_null(once);
    nn_rng_seed(&rng, 9);
    gc_fill_normal(nn_net_input(net)->x, 3 * 2 * 6 * 5, 1.0f, &rng);
    assert_nn_ok(nn_net_forward(net, 3));
    assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
    assert_nn_ok(nn_net_backward(net));
    memcpy(once, nn_net_grads(net), n * sizeof *once);
    assert_nn_ok(nn_net_backward(net));
    for (size_t i = 0; i < n; i++)
        assert_close(nn_net_grads(net)[i], 2.0f * once[i],
                     1e-6 * (1.0 + 2.0 * fabsf(once[i])));
    free(once);
    nn_net_destroy(net);
}

/* The C API builds the same graph as the spec: same spec, same weights,
 * same outputs. */
static void test_c_api_matches_spec(void **state)
{
    nn_net *spec_net = tu_net(FAN_OUT, 3, 7, 6, 2, 5), *net = NULL;
    nn_layer_info info;
    char text[256];
    int a, s, from_add[2] = {1, 0}, from_cat[3] = {0, 3, -1};
    (void)state;
    assert_nn_ok(nn_net_create(3, 7, 6, &net));
    assert_nn_ok(nn_net_add_conv2d(net, 4, 3, 3, 1, 1));
    assert_nn_ok(nn_net_name_layer(net, 0, "a"));
    assert_nn_ok(nn_net_add_conv2d(net, 4, 3, 3, 1, 1));
    assert_nn_ok(nn_net_add_batchnorm(net));
    from_add[0] = 2;
    assert_nn_ok(nn_net_add_add(net, from_add, 2));
    assert_nn_ok(nn_net_name_layer(net, 3, "s"));
    assert_nn_ok(nn_net_find_layer(net, "a", &a));
    assert_nn_ok(nn_net_find_layer(net, "s", &s));
    assert_int_equal(a * 10 + s, 3);
    from_cat[0] = a;
    from_cat[1] = s;
    assert_nn_ok(nn_net_add_concat(net, from_cat, 3));
    assert_nn_ok(nn_net_add_tanh(net));
    assert_nn_ok(nn_net_add_dense(net, 5));
    assert_nn_ok(nn_net_build(net, 2, 5));
    assert_nn_ok(nn_net_spec(net, text, sizeof text));
    assert_string_equal(text, FAN_OUT);
    assert_nn_ok(nn_net_layer_info(net, 4, &info));
    assert_string_equal(info.kind, "concat");
    assert_int_equal(info.inputs, 3);
    assert_true(info.from[0] == 0 && info.from[1] == 3 && info.from[2] == -1);
    assert_int_equal(info.out_c, 4 + 4 + 3);
    assert_nn_ok(nn_net_layer_info(net, 3, &info));
    assert_string_equal(info.name, "s");
    assert_memory_equal(nn_net_params(net), nn_net_params(spec_net),
                        nn_net_param_count(net) * sizeof(float));
    nn_net_destroy(net);
    nn_net_destroy(spec_net);
}

/* The spec's message for spec, which must be refused. */
static void assert_spec_refused(const char *spec, const char *part)
{
    nn_net *net = NULL;
    char msg[300];
    assert_nn_ok(nn_net_create(3, 8, 8, &net));
    assert_nn_ok(nn_net_add_dense(net, 4)); /* left as it was */
    assert_int_not_equal(nn_net_add_spec(net, spec, msg, sizeof msg), NN_OK);
    if (!strstr(msg, part))
        fail_msg("'%s': got '%s', expected '%s'", spec, msg, part);
    assert_int_equal(nn_net_layer_count(net), 1);
    assert_nn_ok(nn_net_build(net, 1, 1));
    nn_net_destroy(net);
}

/* The build's message for spec, which parses but cannot be built. */
static void assert_build_refused(const char *spec, const char *part)
{
    nn_net *net = NULL;
    char msg[300];
    assert_nn_ok(nn_net_create(3, 8, 8, &net));
    if (nn_net_add_spec(net, spec, msg, sizeof msg) != NN_OK)
        fail_msg("'%s': %s", spec, msg);
    assert_int_not_equal(nn_net_build(net, 1, 1), NN_OK);
    if (!strstr(nn_net_why(net), part))
        fail_msg("'%s': got '%s', expected '%s'", spec, nn_net_why(net), part);
    nn_net_destroy(net);
}

static void test_refusals(void **state)
{
    nn_net *net = NULL;
    int from[2] = {0, 5};
    (void)state;
    assert_spec_refused("relu,add(b),dense2@b", "'b' names a later layer");
    assert_spec_refused("relu,add(b)", "no earlier layer is called 'b'");
    assert_spec_refused("relu(c)@c", "own name: a layer reads only earlier "
                                     "outputs (no cycles)");
    assert_spec_refused("relu@c,relu@c", "'c' already names layer");
    assert_spec_refused("relu@input", "reserved");
    assert_spec_refused("relu,relu@l7", "reserved");
    assert_spec_refused("relu@9a", "not a layer name");
    assert_spec_refused("add", "add joins outputs");
    assert_spec_refused("relu(a,b", "unbalanced");
    assert_spec_refused("relu((a))", "unbalanced or nested");
    assert_spec_refused("relu@a,relu(a,a)", "reads one output, not 2");
    assert_spec_refused("relu@a,add(a,a,a,a,a,a,a,a,a)", "at most 8");
    assert_spec_refused("relu@a(b)", "after its inputs");
    assert_build_refused("conv3x3x4@a,conv3x3x4,add(a)",
                         "layer 2 'add' cannot take its inputs 4x4x4 from "
                         "layer 1 and 4x6x6 from layer 0 'a'");
    assert_build_refused("conv3x3x4p1@a,pool2,concat(a)",
                         "concat needs one height and width");
    assert_build_refused("relu@a,relu,relu(a)", "the output of layer 1 (relu) "
                                                "is never read");
    /* the C API: references out of range, joins of one */
    assert_nn_ok(nn_net_create(1, 4, 4, &net));
    assert_nn_ok(nn_net_add_relu(net));
    assert_int_equal(nn_net_add_add(net, from, 2), NN_EINVAL);
    assert_non_null(strstr(nn_net_why(net), "reads layer 5"));
    assert_int_equal(nn_net_add_add(net, from, 1), NN_EINVAL);
    assert_int_equal(nn_net_add_layer_from(net, "nope", NULL, from, 1),
                     NN_EINVAL);
    assert_int_equal(nn_net_name_layer(net, 3, "x"), NN_EINVAL);
    assert_int_equal(nn_net_build(net, 1, 1), NN_EINVAL); /* sticky */
    nn_net_destroy(net);
}

/* A few SGD steps of the projection block give the same bits on 1, 2, 3
 * and 4 threads. */
static void test_same_bits_any_threads(void **state)
{
    float *first = NULL;
    size_t n = 0;
    nn_optim_settings s = tu_sgd(0.05f, 0.9f, 1e-4f);
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        nn_net *net = tu_net(PROJECTION, 3, 8, 8, 6, 3);
        nn_optim *opt;
        nn_rng rng;
        int labels[6] = {0, 1, 2, 3, 4, 0};
        float loss;
        assert_nn_ok(nn_net_set_threads(net, threads));
        opt = tu_optim(net, &s);
        nn_rng_seed(&rng, 4);
        for (int step = 0; step < 3; step++) {
            gc_fill_normal(nn_net_input(net)->x, 6 * 3 * 8 * 8, 1.0f, &rng);
            nn_net_zero_grad(net);
            assert_nn_ok(nn_net_forward(net, 6));
            assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
            assert_nn_ok(nn_net_backward(net));
            assert_nn_ok(nn_optim_step(opt, net));
        }
        if (!first) {
            n = nn_net_param_count(net);
            first = malloc(n * sizeof *first);
            assert_non_null(first);
            memcpy(first, nn_net_params(net), n * sizeof *first);
        } else {
            assert_memory_equal(nn_net_params(net), first, n * sizeof *first);
        }
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    free(first);
}

/* The bytes a chain of `relus` relus needs for training, batch 8 of
 * 1x32x32. */
static size_t chain_bytes(int relus)
{
    char spec[512] = "relu";
    nn_net *net = NULL;
    size_t bytes = 0;
    for (int i = 1; i < relus; i++)
        strcat(spec, ",relu");
    assert_nn_ok(nn_net_create(1, 32, 32, &net));
    assert_nn_ok(nn_net_add_spec(net, spec, NULL, 0));
    assert_nn_ok(nn_train_memory(net, 8, NN_OPTIM_SGD, &bytes));
    nn_net_destroy(net);
    return bytes;
}

/* Activation gradients share memory: 20 more layers of a chain cost their
 * 20 outputs' values, not their gradients too. */
static void test_gradients_share_memory(void **state)
{
    size_t values = 20 * 8 * 32 * 32 * sizeof(float);
    size_t more = chain_bytes(30) - chain_bytes(10);
    (void)state;
    print_message("  20 relus more: %zu bytes (their values: %zu)\n", more,
                  values);
    assert_true(more >= values && more < values + values / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_concat_kernels),
        cmocka_unit_test(test_gradients_fan_out),
        cmocka_unit_test(test_gradients_pre_activation),
        cmocka_unit_test(test_gradients_projection),
        cmocka_unit_test(test_gradients_staged_relu),
        cmocka_unit_test(test_backward_twice_doubles),
        cmocka_unit_test(test_c_api_matches_spec),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_same_bits_any_threads),
        cmocka_unit_test(test_gradients_share_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
