/* Batchnorm, add or convolution followed by relu in training: the fused
 * path (the layer writes relu(y) into the relu's output and applies the
 * relu's mask in its own backward passes; the convolution masks the relu's
 * output gradient in place) against the same net run unfused, and the one-read
 * statistics against the two-read reference (NN_KERNELS_REFERENCE).
 *
 * Bounds: fused and unfused run the very same float operations (the relu's
 * select, its mask dy [y > 0]), so outputs, every gradient and the running
 * statistics must match bit for bit. The fused batchnorm's masked sums run
 * in SSE2 on x86-64, the unfused ones in portable C: the bit-for-bit
 * comparison is also the test of that kernel (planes of 7x7, 8x8, 9x9,
 * 14x14, 16x16, 28x28, 32x32 values and of 5x4, 4x3, 2x2 below). The one-read statistics differ from
 * the two-read ones by rounding in double, so normalised values agree to
 * within a few float ulps: |a - b| <= 1e-5 max(1, |a|, |b|). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "net/net_internal.h"

#define BATCH 4

/* Turns the planned fusion off in a built net: every batchnorm and relu
 * run apart, as in a net without the plan. The gradient slots were planned
 * with the fused lifetimes, which only extend the unfused ones. */
static void unfuse(nn_net *net)
{
    for (int i = 0; i < net->count; i++)
        if (net->layers[i]->relu_to >= 0 && !net->inference_only) {
            net->layers[net->layers[i]->relu_to]->folded_into = -1;
            net->layers[i]->relu_to = -1;
        }
}

/* Layers whose last forward applied the relu after them. */
static int fused_layers(const nn_net *net)
{
    int count = 0;
    for (int i = 0; i < net->count; i++)
        count += net->layers[i]->relu_applied;
    return count;
}

/* Adds whose last forward applied the relu after them. */
static int fused_adds(const nn_net *net)
{
    int count = 0;
    for (int i = 0; i < net->count; i++)
        count += net->layers[i]->relu_applied &&
                 net->layers[i]->kind == &nn_kind_add;
    return count;
}

/* Layers that the plan would let apply the relu after them. */
static int planned_layers(const nn_net *net)
{
    int count = 0;
    for (int i = 0; i < net->count; i++)
        count += net->layers[i]->relu_to >= 0;
    return count;
}

typedef struct {
    const char *spec;
    int c, h, w;
} preset;

static const preset presets[] = {
    {"deep-bn", 1, 28, 28},
    /* convolution + relu: im2col, F(4x4), F(2x2) (deep), direct (lenet) */
    {"deep", 1, 28, 28},
    {"lenet", 1, 28, 28},
    {"vgg", 3, 32, 32},
    {"resnet-small", 1, 28, 28},
    {"resnet20", 3, 32, 32},
    /* residual blocks (conv, bn, add, relu) on odd small planes: 9x9,
     * then 5x5 and 3x3 after stride 2 */
    {"conv3x3x8p1,bn,relu@a,conv3x3x8p1,bn,relu,conv3x3x8p1,bn,add(a),relu,"
     "conv3x3x12s2p1,bn,relu@b,conv3x3x12p1,bn,add(b),relu,conv3x3x12s2p1,"
     "bn,relu@c,conv3x3x12p1,bn,add(c),relu,gap,dense10", 3, 9, 9},
    /* pre-activation blocks: each batchnorm's input is also read by a
     * later add, so its input gradient goes through the net's stage */
    {"conv3x3x8p1@a,bn,relu,conv3x3x8p1,add(a)@b,bn,relu,conv3x3x8p1,"
     "add(b),gap,dense10", 3, 9, 9},
};

/* The same random batch and labels for every net of a test. */
static void fill_batch(nn_net *net, int *labels, int classes, uint64_t seed)
{
    nn_rng rng;
    nn_tensor *in = nn_net_input(net);
    nn_rng_seed(&rng, seed);
    gc_fill_normal(in->x, (size_t)BATCH * in->c * in->h * in->w, 1.0f, &rng);
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int)(nn_rng_next(&rng) % (uint64_t)classes);
}

/* One training step's forward and backward (gradients from zero). */
static void step(nn_net *net, const int *labels)
{
    float loss;
    nn_net_set_input_grad(net, 1);
    assert_nn_ok(nn_net_forward(net, BATCH));
    assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
    nn_net_zero_grad(net);
    assert_nn_ok(nn_net_backward(net));
}

static size_t out_count(nn_net *net)
{
    return nn_tensor_count(nn_net_output(net));
}

static size_t in_count(nn_net *net)
{
    return nn_tensor_count(nn_net_input(net));
}

/* Outputs, parameter gradients, input gradient and running statistics of
 * a and b are the same bits. */
static void assert_same_bits(nn_net *a, nn_net *b, const char *what)
{
    if (memcmp(nn_net_output(a)->x, nn_net_output(b)->x,
               out_count(a) * sizeof(float)))
        fail_msg("%s: outputs differ", what);
    if (memcmp(nn_net_grads(a), nn_net_grads(b),
               nn_net_param_count(a) * sizeof(float)))
        fail_msg("%s: parameter gradients differ", what);
    if (memcmp(nn_net_input(a)->g, nn_net_input(b)->g,
               in_count(a) * sizeof(float)))
        fail_msg("%s: input gradients differ", what);
    if (memcmp(nn_net_state(a), nn_net_state(b),
               nn_net_state_count(a) * sizeof(float)))
        fail_msg("%s: running statistics differ", what);
}

/* Fused against unfused on deep-bn, vgg, resnet-small and a
 * pre-activation graph: three steps with an SGD update between them, bit
 * for bit. */
static void test_fused_matches_unfused(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof presets / sizeof *presets; p++) {
        const preset *ps = &presets[p];
        nn_net *fused = tu_net(ps->spec, ps->c, ps->h, ps->w, BATCH, 11);
        nn_net *apart = tu_net(ps->spec, ps->c, ps->h, ps->w, BATCH, 11);
        nn_optim_settings sgd = tu_sgd(0.05f, 0.9f, 0.0f);
        nn_optim *oa = tu_optim(fused, &sgd), *ob = tu_optim(apart, &sgd);
        int labels[BATCH];
        int classes = (int)(out_count(fused) / nn_net_output(fused)->n);
        unfuse(apart);
        assert_int_equal(planned_layers(apart), 0);
        for (int s = 0; s < 3; s++) {
            fill_batch(fused, labels, classes, 100 + s);
            fill_batch(apart, labels, classes, 100 + s);
            step(fused, labels);
            step(apart, labels);
            /* non-vacuous: every batchnorm of these nets is followed by a
             * relu that alone reads it */
            assert_true(fused_layers(fused) > 0);
            assert_int_equal(fused_layers(fused), planned_layers(fused));
            assert_int_equal(fused_layers(apart), 0);
            assert_same_bits(fused, apart, ps->spec);
            assert_nn_ok(nn_optim_step(oa, fused));
            assert_nn_ok(nn_optim_step(ob, apart));
        }
        /* the residual nets fuse their adds too */
        if (strstr(ps->spec, "resnet") || strstr(ps->spec, "add(a),relu"))
            assert_true(fused_adds(fused) > 0);
        print_message("  %s: %d layer+relu fused (%d adds), bit-identical "
                      "to unfused over 3 steps\n", ps->spec,
                      fused_layers(fused), fused_adds(fused));
        nn_optim_destroy(oa);
        nn_optim_destroy(ob);
        nn_net_destroy(fused);
        nn_net_destroy(apart);
    }
}

/* With the fusion active, 1, 2 and 3 threads give the same bits. */
static void test_threads_bit_identical(void **state)
{
    (void)state;
    for (size_t p = 1; p < sizeof presets / sizeof *presets; p++) {
        const preset *ps = &presets[p];
        nn_net *one = tu_net(ps->spec, ps->c, ps->h, ps->w, BATCH, 5);
        int labels[BATCH];
        int classes = (int)(out_count(one) / nn_net_output(one)->n);
        fill_batch(one, labels, classes, 7);
        step(one, labels);
        assert_true(fused_layers(one) > 0);
        for (int threads = 2; threads <= 3; threads++) {
            nn_net *many = tu_net(ps->spec, ps->c, ps->h, ps->w, BATCH, 5);
            assert_nn_ok(nn_net_set_threads(many, threads));
            fill_batch(many, labels, classes, 7);
            step(many, labels);
            assert_true(fused_layers(many) > 0);
            assert_same_bits(one, many, ps->spec);
            nn_net_destroy(many);
        }
        nn_net_destroy(one);
    }
}

/* Finite differences through the net of `spec` (input 2x7x6, batch 2, 3
 * classes) with the fusion active, over the input and every parameter;
 * `layers` fused layers, `adds` of them adds. */
static void gradcheck_fused(const char *spec, int layers, int adds)
{
    nn_net *net = tu_net(spec, 2, 7, 6, 2, 3);
    nn_rng rng;
    gc_result r;
    nn_rng_seed(&rng, 9);
    gc_fill_spaced(nn_net_input(net)->x, in_count(net), &rng);
    r = gc_check_net(net, 2, 17, 200, 1e-2f, NULL);
    print_message("  max error %.2e, max |numeric| %.3f, %d checked, %d "
                  "skipped, %d fused (%d adds)\n", r.max_error,
                  r.max_numeric, r.checked, r.skipped, fused_layers(net),
                  fused_adds(net));
    assert_int_equal(fused_layers(net), layers);
    assert_int_equal(fused_adds(net), adds);
    assert_true(gc_passed(&r, 1e-3));
    nn_net_destroy(net);
}

/* conv -> bn -> relu, twice */
static void test_gradcheck_fused(void **state)
{
    (void)state;
    gradcheck_fused("conv3x3x4p1,bn,relu,conv3x3x3s2p1,bn,relu", 2, 0);
}

/* conv -> relu, twice, then dense: both convolutions apply their relu */
static void test_gradcheck_fused_conv(void **state)
{
    (void)state;
    gradcheck_fused("conv3x3x4p1,relu,conv3x3x3s2p1,relu,dense3", 2, 0);
}

/* A residual block, conv -> bn -> relu -> conv -> add -> relu (-> dense),
 * the batchnorm and the add each applying their relu. */
static void test_gradcheck_fused_add(void **state)
{
    (void)state;
    gradcheck_fused("conv3x3x4p1@a,bn,relu,conv3x3x4p1,add(a),relu,dense3", 2,
                    1);
}

/* max_i |a - b| / max(1, |a|, |b|) over n values. */
static double max_rel(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        double scale = fmax(1.0, fmax(fabs(a[i]), fabs(b[i])));
        if (!(d / scale <= worst))
            worst = d / scale;
    }
    return worst;
}

/* The one-read statistics (and fusion) against the two-read reference, on
 * batchnorm alone over inputs far from 0 (mean 300, std 0.5: the running
 * mean, which is the shift, starts at 0 and moves), five steps. */
static void test_one_read_matches_two_reads(void **state)
{
    nn_net *fast = tu_net("bn,relu,bn", 3, 5, 7, BATCH, 1);
    nn_net *ref = tu_net("bn,relu,bn", 3, 5, 7, BATCH, 1);
    size_t n = in_count(fast);
    nn_rng rng;
    double worst_out = 0.0, worst_grad = 0.0, worst_state = 0.0;
    (void)state;
    assert_nn_ok(nn_net_set_kernels(ref, NN_KERNELS_REFERENCE));
    for (int s = 0; s < 5; s++) {
        nn_rng_seed(&rng, 40 + s);
        gc_fill_normal(nn_net_input(fast)->x, n, 0.5f, &rng);
        for (size_t i = 0; i < n; i++)
            nn_net_input(fast)->x[i] += 300.0f + (float)(i % 3);
        memcpy(nn_net_input(ref)->x, nn_net_input(fast)->x, n * sizeof(float));
        for (int k = 0; k < 2; k++) {
            nn_net *net = k ? ref : fast;
            nn_rng_seed(&rng, 60 + s);
            nn_net_set_input_grad(net, 1);
            assert_nn_ok(nn_net_forward(net, BATCH));
            gc_fill_normal(nn_net_output(net)->g, out_count(net), 1.0f, &rng);
            nn_net_zero_grad(net);
            assert_nn_ok(nn_net_backward(net));
        }
        assert_int_equal(fused_layers(fast), 1);
        assert_int_equal(fused_layers(ref), 0);
        worst_out = fmax(worst_out, max_rel(nn_net_output(fast)->x,
                                            nn_net_output(ref)->x,
                                            out_count(fast)));
        worst_grad = fmax(worst_grad, max_rel(nn_net_input(fast)->g,
                                              nn_net_input(ref)->g, n));
        worst_grad = fmax(worst_grad, max_rel(nn_net_grads(fast),
                                              nn_net_grads(ref),
                                              nn_net_param_count(fast)));
        worst_state = fmax(worst_state, max_rel(nn_net_state(fast),
                                                nn_net_state(ref),
                                                nn_net_state_count(fast)));
    }
    print_message("  one read vs two: outputs %.2e, gradients %.2e, running "
                  "statistics %.2e\n", worst_out, worst_grad, worst_state);
    assert_true(worst_out <= 1e-5);
    assert_true(worst_grad <= 1e-5);
    assert_true(worst_state <= 1e-6);
    nn_net_destroy(fast);
    nn_net_destroy(ref);
}

/* The fusion is left out where it does not apply: leaky relu, a batchnorm
 * output with a second reader, a convolution whose relu is the last layer, inference mode of a training build, the
 * reference kernels; and a net built for inference folds batchnorm into
 * the convolution as before. */
static void test_not_fused(void **state)
{
    nn_net *leaky = tu_net("conv3x3x4p1,bn,leakyrelu", 1, 6, 6, 2, 1);
    nn_net *graph;
    nn_net *deep = tu_net("deep-bn", 1, 28, 28, 2, 1);
    int from[2] = {1, 2};
    float loss;
    int labels[2] = {0, 1};
    (void)state;
    assert_int_equal(planned_layers(leaky), 0);
    nn_net_destroy(leaky);

    /* a relu that is the last layer: its output gradient is the caller's,
     * which the convolution would mask in place */
    leaky = tu_net("conv3x3x4p1,relu,conv3x3x4p1,relu", 1, 6, 6, 2, 1);
    assert_int_equal(planned_layers(leaky), 1);
    assert_int_equal(leaky->layers[0]->relu_to, 1);
    nn_net_destroy(leaky);

    /* conv, bn, relu, add(bn, relu): bn's output is read twice */
    assert_nn_ok(nn_net_create(1, 6, 6, &graph));
    assert_nn_ok(nn_net_add_spec(graph, "conv3x3x4p1,bn,relu", NULL, 0));
    assert_nn_ok(nn_net_add_add(graph, from, 2));
    assert_nn_ok(nn_net_build(graph, 2, 1));
    assert_int_equal(planned_layers(graph), 0);
    nn_net_destroy(graph);

    /* an add whose output is also read by a later add, an add followed
     * by leaky relu, a relu after concat */
    graph = tu_net("conv3x3x4p1@a,conv3x3x4p1,add(a)@b,relu,add(b),"
                   "conv3x3x4p1@c,add(c),leakyrelu,conv3x3x4p1,concat(c),relu",
                   1, 6, 6, 2, 1);
    assert_int_equal(planned_layers(graph), 0);
    nn_net_destroy(graph);

    assert_true(planned_layers(deep) > 0);
    nn_net_set_training(deep, 0);
    assert_nn_ok(nn_net_forward(deep, 2));
    assert_int_equal(fused_layers(deep), 0);
    nn_net_set_training(deep, 1);
    assert_nn_ok(nn_net_set_kernels(deep, NN_KERNELS_REFERENCE));
    assert_nn_ok(nn_net_forward(deep, 2));
    assert_int_equal(fused_layers(deep), 0);
    assert_nn_ok(nn_net_softmax_xent(deep, labels, &loss));
    assert_nn_ok(nn_net_backward(deep));
    assert_nn_ok(nn_net_set_kernels(deep, NN_KERNELS_AUTO));
    assert_nn_ok(nn_net_forward(deep, 2));
    assert_true(fused_layers(deep) > 0);
    nn_net_destroy(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_matches_unfused),
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_gradcheck_fused),
        cmocka_unit_test(test_gradcheck_fused_add),
        cmocka_unit_test(test_gradcheck_fused_conv),
        cmocka_unit_test(test_one_read_matches_two_reads),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
