/* Nets built for inference run other paths than the training build:
 * batchnorm folded into the convolution or dense layer before it, a relu
 * after a convolution applied by the convolution, kernel forms of the
 * weights (Winograd's U) made once instead of on every pass, and the
 * AVX-512 gemm where the CPU has it. Each is checked against the
 * reference, the same weights and statistics run by a net built for
 * training in inference mode, for the presets lenet, deep, deep-bn, vgg
 * and resnet-small at batches 1, 3 and 64: outputs within TU_INFER_TOL
 * (relative, floored at 1), parameters and statistics left as loaded (a
 * saved model holds them). Weights changed through the API after a forward
 * pass are picked up (no stale folded or transformed weights), and the
 * results do not depend on the number of threads. */
#include "gradcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 64

typedef struct {
    const char *name;
    int c, h, w;
} preset;

static const preset presets[] = {
    {"lenet", 1, 28, 28},
    {"deep", 1, 28, 28},
    {"deep-bn", 1, 28, 28},
    {"vgg", 3, 32, 32},
    {"resnet-small", 1, 28, 28},
};

/* A net for p built for training (max_batch MAX_BATCH, seed 3), its
 * batchnorm statistics moved off their start by two training passes, left
 * in inference mode. */
static nn_net *reference_net(const preset *p)
{
    nn_net *net = tu_net(nn_spec_preset(p->name), p->c, p->h, p->w,
                         MAX_BATCH, 3);
    size_t sample = (size_t)p->c * p->h * p->w;
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    for (int pass = 0; pass < 2; pass++) {
        gc_fill_normal(nn_net_input(net)->x, sample * 8, 1.0f, &rng);
        assert_nn_ok(nn_net_forward(net, 8));
    }
    nn_net_set_training(net, 0);
    return net;
}

/* A net for p built for inference, with ref's parameters and state. */
static nn_net *inference_net(const preset *p, nn_net *ref, int max_batch)
{
    nn_net *net = NULL;
    assert_nn_ok(nn_net_create(p->c, p->h, p->w, &net));
    assert_nn_ok(nn_net_add_spec(net, nn_spec_preset(p->name), NULL, 0));
    assert_nn_ok(nn_net_build_inference(net, max_batch, 1));
    memcpy(nn_net_params(net), nn_net_params(ref),
           nn_net_param_count(ref) * sizeof(float));
    memcpy(nn_net_state(net), nn_net_state(ref),
           nn_net_state_count(ref) * sizeof(float));
    return net;
}

/* Floats of one input sample of net. */
static size_t sample_floats(const nn_net *net)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    return (size_t)c * h * w;
}

/* Runs both nets on the same random batch; returns the largest relative
 * difference of their outputs and fails above TU_INFER_TOL. */
static double compare(nn_net *fast, nn_net *ref, int batch, uint64_t seed,
                      const char *what)
{
    size_t sample = sample_floats(ref), outputs;
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    gc_fill_normal(nn_net_input(ref)->x, sample * (size_t)batch, 1.0f, &rng);
    memcpy(nn_net_input(fast)->x, nn_net_input(ref)->x,
           sample * (size_t)batch * sizeof(float));
    assert_nn_ok(nn_net_forward(ref, batch));
    assert_nn_ok(nn_net_forward(fast, batch));
    outputs = nn_tensor_count(nn_net_output(ref));
    assert_int_equal(nn_tensor_count(nn_net_output(fast)), outputs);
    return tu_assert_outputs_close(nn_net_output(fast)->x,
                                   nn_net_output(ref)->x, outputs,
                                   TU_INFER_TOL, what);
}

static void test_presets_match_the_training_build(void **state)
{
    static const int batches[] = {1, 3, MAX_BATCH};
    (void)state;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        nn_net *ref = reference_net(&presets[i]);
        nn_net *fast = inference_net(&presets[i], ref, MAX_BATCH);
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            char what[64];
            double err;
            snprintf(what, sizeof what, "%s, batch %d", presets[i].name,
                     batches[b]);
            err = compare(fast, ref, batches[b], 10 + b, what);
            print_message("  %s: largest relative difference %.2g\n", what,
                          err);
        }
        /* the folds wrote copies: parameters and statistics (what a saved
         * model holds) are the ones loaded */
        assert_memory_equal(nn_net_params(fast), nn_net_params(ref),
                            nn_net_param_count(ref) * sizeof(float));
        assert_memory_equal(nn_net_state(fast), nn_net_state(ref),
                            nn_net_state_count(ref) * sizeof(float));
        nn_net_destroy(fast);
        nn_net_destroy(ref);
    }
}

/* The reference kernels (no Winograd, no direct AVX2, the portable gemm)
 * on a net built for inference: the folds alone. */
static void test_folds_with_reference_kernels(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        nn_net *ref = reference_net(&presets[i]);
        nn_net *fast = inference_net(&presets[i], ref, MAX_BATCH);
        char what[64];
        assert_nn_ok(nn_net_set_kernels(fast, NN_KERNELS_REFERENCE));
        snprintf(what, sizeof what, "%s, reference kernels", presets[i].name);
        print_message("  %s: largest relative difference %.2g\n", what,
                      compare(fast, ref, 3, 20, what));
        nn_net_destroy(fast);
        nn_net_destroy(ref);
    }
}

/* Changes parameters or statistics of a net through one of the API's
 * calls, after it has run: 0 nn_net_params (the first convolution's
 * first weight, the last bias), 1 nn_net_layer_params (layer 1's first
 * and last values: a batchnorm's gamma and beta in deep-bn), 2
 * nn_net_state (a running mean and variance). */
static void change_weights(nn_net *net, int how, float delta)
{
    float *values, *grads;
    size_t count;
    if (how == 0) {
        values = nn_net_params(net);
        values[0] += delta;
        values[nn_net_param_count(net) - 1] -= delta;
    } else if (how == 1) {
        assert_nn_ok(nn_net_layer_params(net, 1, &values, &grads, &count));
        values[0] *= 1.0f + delta;
        values[count - 1] += delta;
    } else {
        values = nn_net_state(net);
        values[0] += delta;
        values[nn_net_state_count(net) - 1] *= 1.0f + delta;
    }
}

static void test_changed_weights_are_picked_up(void **state)
{
    static const char *const calls[] = {"nn_net_params", "nn_net_layer_params",
                                        "nn_net_state"};
    const preset *p = &presets[2]; /* deep-bn: folds and Winograd */
    size_t outputs;
    float *before;
    (void)state;
    for (int batch = 1; batch <= MAX_BATCH; batch += MAX_BATCH - 1) {
        nn_net *ref = reference_net(p);
        nn_net *fast = inference_net(p, ref, MAX_BATCH), *fresh;
        size_t in = sample_floats(fast) * (size_t)batch;
        outputs = (size_t)10 * batch; /* every preset has 10 classes */
        before = malloc(outputs * sizeof(float));
        assert_non_null(before);
        for (int how = 0; how < 3; how++) {
            compare(fast, ref, batch, 30, "before the change");
            memcpy(before, nn_net_output(fast)->x, outputs * sizeof(float));
            change_weights(ref, how, 0.5f);
            change_weights(fast, how, 0.5f);
            compare(fast, ref, batch, 30, calls[how]);
            /* not vacuous: the outputs moved */
            assert_memory_not_equal(before, nn_net_output(fast)->x,
                                    outputs * sizeof(float));
            /* the same bits as a net built with the new weights */
            fresh = inference_net(p, ref, MAX_BATCH);
            memcpy(nn_net_input(fresh)->x, nn_net_input(fast)->x,
                   in * sizeof(float));
            assert_nn_ok(nn_net_forward(fresh, batch));
            assert_memory_equal(nn_net_output(fresh)->x, nn_net_output(fast)->x,
                                outputs * sizeof(float));
            nn_net_destroy(fresh);
        }
        /* nn_net_init refills them too */
        assert_nn_ok(nn_net_init(ref, 77));
        assert_nn_ok(nn_net_init(fast, 77));
        compare(fast, ref, batch, 31, "after nn_net_init");
        print_message("  batch %d: changes through nn_net_params, "
                      "nn_net_layer_params, nn_net_state, nn_net_init picked "
                      "up\n", batch);
        free(before);
        nn_net_destroy(fast);
        nn_net_destroy(ref);
    }
}

/* Same bits on 1, 2 and 3 threads, at every batch. */
static void test_threads_give_the_same_bits(void **state)
{
    static const int batches[] = {1, 3, MAX_BATCH};
    (void)state;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        nn_net *ref = reference_net(&presets[i]);
        nn_net *one = inference_net(&presets[i], ref, MAX_BATCH);
        nn_net *many = inference_net(&presets[i], ref, MAX_BATCH);
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            for (int threads = 2; threads <= 3; threads++) {
                size_t in = sample_floats(one) * MAX_BATCH;
                nn_rng rng;
                nn_rng_seed(&rng, 40 + b);
                assert_nn_ok(nn_net_set_threads(many, threads));
                gc_fill_normal(nn_net_input(one)->x, in, 1.0f, &rng);
                memcpy(nn_net_input(many)->x, nn_net_input(one)->x,
                       in * sizeof(float));
                assert_nn_ok(nn_net_forward(one, batches[b]));
                assert_nn_ok(nn_net_forward(many, batches[b]));
                assert_memory_equal(nn_net_output(one)->x,
                                    nn_net_output(many)->x,
                                    nn_tensor_count(nn_net_output(one)) *
                                        sizeof(float));
            }
        print_message("  %s: same bits on 1, 2 and 3 threads\n",
                      presets[i].name);
        nn_net_destroy(many);
        nn_net_destroy(one);
        nn_net_destroy(ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_match_the_training_build),
        cmocka_unit_test(test_folds_with_reference_kernels),
        cmocka_unit_test(test_changed_weights_are_picked_up),
        cmocka_unit_test(test_threads_give_the_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
