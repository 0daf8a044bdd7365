/* The layer table and what rides on it: spec tokens of every kind parse and
 * print back, the new layers (average and global average pooling, leaky
 * relu, dropout) pass whole-net gradient checks under every kernel choice,
 * initialisation follows the activation's gain through transparent
 * layers, dropout is bit-identical for any thread count and across a
 * checkpoint, nets built for inference hold no gradients, model files
 * with impossible values are refused, and checkpoints refuse another
 * optimizer. */
#include "gradcheck.h"
#include "nn/advanced.h"
#include "optim/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SIDE = 8, CLASSES = 3 };

static char dir[] = "/tmp/nn_kinds.XXXXXX";

/* A net for spec on inputs (c, side, side), built for max_batch. */
static nn_net *make_net(const char *spec, int c, int side, int max_batch,
                        uint64_t seed)
{
    return tu_net(spec, c, side, side, max_batch, seed);
}

static void test_every_token_prints_back(void **state)
{
    static const struct {
        const char *in, *canonical;
    } cases[] = {
        {"conv3x3x4s1p0,pool2s2,dense5", "conv3x3x4,pool2,dense5"},
        {"maxpool3s2,batchnorm,relu", "pool3s2,bn,relu"},
        {"avgpool3s2p1,avgpool2,avgpool2s2,avgpool3s1", "avgpool3s2p1,avgpool2,avgpool2,avgpool3s1"},
        {"maxpool3s2p1,pool3s2p0c,pool2s2c,pool3p2", "pool3s2p1,pool3s2c,pool2c,pool3p2"},
        {"avgpool3s2p1e,avgpool3s2p1ce,avgpool2c,avgpool2e", "avgpool3s2p1e,avgpool3s2p1ce,avgpool2c,avgpool2e"},
        {"pool3x2s2,avgpool2x3s1p1e,pool2x2s2", "pool3x2s2,avgpool2x3s1p1e,pool2"},
        {"bneps0.00001,batchnormeps0.001,bneps.01,bneps1,bneps0.0000001",
         "bn,bneps0.001,bneps0.01,bneps1,bneps0.0000001"},
        {"leakyrelu0.00001,dropout0.000001", "leakyrelu0.00001,dropout0.000001"},
        {"gap,globalavgpool", "gap,gap"},
        {"leakyrelu,leakyrelu0.01,leakyrelu0.2,leakyrelu.5", "leakyrelu,leakyrelu,leakyrelu0.2,leakyrelu0.5"},
        {"dropout,dropout0.5,dropout0.25,dropout0", "dropout0.5,dropout0.5,dropout0.25,dropout0"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_net *net = NULL, *again = NULL;
        char spec[256], twice[256];
        assert_nn_ok(nn_net_create(4, 12, 12, &net));
        assert_nn_ok(nn_net_add_spec(net, cases[i].in, NULL, 0));
        assert_nn_ok(nn_net_spec(net, spec, sizeof spec));
        assert_string_equal(spec, cases[i].canonical);
        assert_nn_ok(nn_net_create(4, 12, 12, &again));
        assert_nn_ok(nn_net_add_spec(again, spec, NULL, 0));
        assert_nn_ok(nn_net_spec(again, twice, sizeof twice));
        assert_string_equal(twice, spec);
        nn_net_destroy(net);
        nn_net_destroy(again);
    }
}

static void test_bad_tokens_name_the_problem(void **state)
{
    static const struct {
        const char *spec, *message;
    } cases[] = {
        {"dropout1", "rate 1 is out of range [0, 1)"},
        {"dropout0.5x", "expected dropout[R], found 'x'"},
        {"leakyrelu-1", "expected leakyrelu[A], found '-'"},
        {"avgpool", "expected avgpoolK[sS][pP][c][e]"},
        {"avgpool2p2", "padding 2 is out of range 0..1"},
        {"pool3s2p1x", "expected poolK[sS][pP][c], found 'x' at 10"},
        {"bneps2", "epsilon 2 is out of range (0, 1]"},
        {"bneps0.0", "epsilon 0.0 is out of range (0, 1]"},
        {"bnx", "expected bn[epsE], found 'x' at 3"},
        {"avgpool0", "pool window 0 is out of range"},
        {"gap2", "unknown layer"},
        {"softmax", "unknown layer (expected conv, dense, pool, relu"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_net *net = NULL;
        char msg[256] = "";
        assert_nn_ok(nn_net_create(1, 8, 8, &net));
        assert_int_equal(nn_net_add_spec(net, cases[i].spec, msg, sizeof msg),
                         NN_EINVAL);
        if (!strstr(msg, cases[i].message))
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].spec, msg,
                     cases[i].message);
        assert_int_equal(nn_net_layer_count(net), 0);
        nn_net_destroy(net);
    }
}

/* parse(print(args)) == args for every option, given as nn_layer_args to
 * nn_net_add_layer; out-of-range options are refused there as well. */
static void test_option_args_print_and_parse_back(void **state)
{
    static const struct {
        const char *kind, *token;
        nn_layer_args args;
    } cases[] = {
        {"pool", "pool3s2p1", {.kh = 3, .kw = 3, .stride = 2, .pad = 1}},
        {"pool", "pool3s2p1c", {.kh = 3, .kw = 3, .stride = 2, .pad = 1, .ceil_mode = 1}},
        {"pool", "pool3x2s1", {.kh = 3, .kw = 2, .stride = 1}},
        {"avgpool", "avgpool3s2p1ce", {.kh = 3, .kw = 3, .stride = 2, .pad = 1,
                                       .ceil_mode = 1, .exclude_pad = 1}},
        {"avgpool", "avgpool4s3p3e", {.kh = 4, .kw = 4, .stride = 3, .pad = 3,
                                      .exclude_pad = 1}},
        {"bn", "bneps0.001", {.eps = 1e-3f}},
        {"bn", "bn", {.eps = 1e-5f}},
        {"bn", "bneps0.12345679", {.eps = 0.123456789f}},
        {"bn", "bneps0.00000000000000000001", {.eps = 1e-20f}},
    };
    static const struct {
        const char *kind;
        nn_layer_args args;
    } refused[] = {
        {"bn", {.eps = 0.0f}},
        {"bn", {.eps = -1e-5f}},
        {"bn", {.eps = 1.5f}},
        {"bn", {.eps = NAN}},
        {"bn", {.eps = INFINITY}},
        {"pool", {.kh = 3, .kw = 3, .stride = 2, .pad = 3}},
        {"pool", {.kh = 3, .kw = 3, .stride = 2, .exclude_pad = 1}},
        {"pool", {.kh = 3, .kw = 3, .stride = 2, .ceil_mode = 2}},
        {"avgpool", {.kh = 3, .kw = 2, .stride = 1, .pad = 2}},
        {"avgpool", {.kh = 2, .kw = 2, .stride = 2, .exclude_pad = -1}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_net *net = NULL, *again = NULL;
        nn_layer_info info;
        char spec[64];
        assert_nn_ok(nn_net_create(2, 9, 9, &net));
        assert_nn_ok(nn_net_add_layer(net, cases[i].kind, &cases[i].args));
        assert_nn_ok(nn_net_spec(net, spec, sizeof spec));
        assert_string_equal(spec, cases[i].token);
        assert_nn_ok(nn_net_create(2, 9, 9, &again));
        assert_nn_ok(nn_net_add_spec(again, spec, NULL, 0));
        assert_nn_ok(nn_net_build(again, 2, 1));
        assert_nn_ok(nn_net_layer_info(again, 0, &info));
        assert_memory_equal(&info.args, &cases[i].args, sizeof info.args);
        nn_net_destroy(net);
        nn_net_destroy(again);
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        nn_net *net = NULL;
        assert_nn_ok(nn_net_create(2, 9, 9, &net));
        assert_int_equal(nn_net_add_layer(net, refused[i].kind, &refused[i].args),
                         NN_EINVAL);
        assert_int_equal(nn_net_layer_count(net), 0);
        nn_net_destroy(net);
    }
}

static void test_add_layer_by_name_and_geometry(void **state)
{
    nn_net *net = NULL;
    nn_layer_args pool = {.kh = 3, .kw = 3, .stride = 2, .pad = 1};
    nn_layer_info info;
    nn_layer_field fields[NN_MAX_FIELDS];
    int count = 0;
    (void)state;
    assert_nn_ok(nn_net_create(2, 9, 9, &net));
    assert_nn_ok(nn_net_add_layer(net, "conv", &(nn_layer_args){
        .out = 4, .kh = 3, .kw = 3, .stride = 1, .pad = 1}));
    assert_nn_ok(nn_net_add_layer(net, "avgpool", &pool));
    assert_nn_ok(nn_net_add_layer(net, "leakyrelu", NULL));
    assert_int_equal(nn_net_add_layer(net, "softmax", NULL), NN_EINVAL);
    assert_int_equal(nn_net_build(net, 2, 1), NN_EINVAL); /* sticky */
    nn_net_destroy(net);

    net = make_net("conv3x3x4s1p1,bn,avgpool3s2p1,dense5", 2, 9, 2, 1);
    assert_nn_ok(nn_net_layer_info(net, 0, &info));
    assert_string_equal(info.kind, "conv2d");
    assert_int_equal(info.args.kh, 3);
    assert_int_equal(info.args.pad, 1);
    assert_int_equal(info.in_c, 2);
    assert_int_equal(info.decayed, 4 * 2 * 9);
    assert_nn_ok(nn_net_layer_fields(net, 0, fields, &count));
    assert_int_equal(count, 2);
    assert_string_equal(fields[0].name, "weight");
    assert_int_equal(fields[0].rank, 4);
    assert_int_equal(fields[0].dims[1], 2);
    assert_int_equal(fields[1].offset, 72);
    assert_nn_ok(nn_net_layer_fields(net, 1, fields, &count));
    assert_int_equal(count, 4);
    assert_string_equal(fields[3].name, "running_var");
    assert_true(fields[3].state && fields[3].nonnegative);
    assert_nn_ok(nn_net_layer_info(net, 2, &info));
    assert_string_equal(info.kind, "avgpool");
    assert_int_equal(info.out_h, 5); /* (9 + 2 - 3) / 2 + 1 */
    assert_nn_ok(nn_net_layer_info(net, 3, &info));
    assert_int_equal(info.in_c * info.in_h * info.in_w, 4 * 5 * 5);
    nn_net_destroy(net);
}

/* Average pooling, leaky relu, dropout and global average pooling in one
 * net, every gradient checked on every kernel choice; dropout in training
 * mode keeps its mask for the whole check (the mask changes with
 * optimizer steps, not with forward passes). One kinked
 * activation only: a perturbed first-layer weight moves every pixel, and
 * two stacked kinks (leaky relu, then relu after batchnorm) put some
 * coordinate across a kink too often for a float check. */
static void test_avgpool_leakyrelu_dropout_net_gradients(void **state)
{
    static const nn_kernels choices[] = {NN_KERNELS_AUTO, NN_KERNELS_PORTABLE,
                                         NN_KERNELS_REFERENCE};
    static const char *spec = "conv3x3x4p1,leakyrelu0.1,avgpool3s2p1,"
                              "conv3x3x8p1,bn,tanh,dropout0.25,gap,dense3";
    int labels[3] = {0, 2, 1};
    (void)state;
    for (int k = 0; k < 3; k++) {
        nn_net *net = make_net(spec, 2, 9, 3, 11);
        nn_rng rng;
        gc_result r;
        nn_rng_seed(&rng, 12);
        gc_fill_normal(nn_net_input(net)->x, 3 * 2 * 9 * 9, 1.0f, &rng);
        assert_nn_ok(nn_net_set_kernels(net, choices[k]));
        r = gc_check_net(net, 3, 13, 120, 1e-3f, labels);
        print_message("  kernels %d: max error %.2e, max |numeric| %.3f, %d "
                      "checked, %d skipped\n", k, r.max_error, r.max_numeric,
                      r.checked, r.skipped);
        assert_true(gc_passed(&r, 1e-3));
        nn_net_destroy(net);
    }
}

/* Standard deviation of the first n weights of layer i. */
static double weight_std(nn_net *net, int i, size_t n)
{
    float *w, *g;
    size_t count;
    double sum = 0, sum2 = 0;
    assert_nn_ok(nn_net_layer_params(net, i, &w, &g, &count));
    for (size_t k = 0; k < n; k++) {
        sum += w[k];
        sum2 += (double)w[k] * w[k];
    }
    return sqrt(sum2 / n - (sum / n) * (sum / n));
}

static void test_init_follows_the_activation_gain(void **state)
{
    /* 400 inputs: He std sqrt(2/400) = 0.0707 before relu; before leaky
     * relu 0.5 sqrt(2 / 1.25 / 400) = 0.0632; through batchnorm and dropout
     * too; Xavier (uniform, std sqrt(2 / (400 + 200))) = 0.0577 before tanh. */
    static const struct {
        const char *spec;
        double std;
    } cases[] = {
        {"dense200,relu", 0.0707}, {"dense200,leakyrelu0.5", 0.0632},
        {"dense200,bn,dropout0.5,leakyrelu0.5", 0.0632},
        {"dense200,tanh", 0.0577}, {"dense200,gap,relu", 0.0577},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_net *net = make_net(cases[i].spec, 1, 20, 1, 5);
        double std = weight_std(net, 0, 400 * 200);
        print_message("  %-36s std %.4f (expected %.4f)\n", cases[i].spec,
                      std, cases[i].std);
        assert_close(std, cases[i].std, 0.001);
        nn_net_destroy(net);
    }
}

/* Trains spec for `epochs` epochs with `threads` threads and SGD. */
static nn_net *train(const char *spec, int threads, int epochs,
                     const nn_dataset *d)
{
    nn_net *net = make_net(spec, 1, SIDE, 8, 3);
    nn_train_config cfg = nn_train_defaults();
    nn_optim *opt = tu_optim(net, &cfg.optim);
    nn_epoch_stats stats;
    nn_rng rng;
    cfg.batch = 8;
    cfg.epochs = cfg.schedule.total_epochs = epochs;
    assert_nn_ok(nn_net_set_threads(net, threads));
    nn_rng_seed(&rng, 4);
    for (int e = 0; e < epochs; e++)
        assert_nn_ok(nn_train_epoch(net, opt, d, &cfg, e, &rng, &stats));
    nn_optim_destroy(opt);
    return net;
}

static const char *dropout_net = "conv3x3x6p1,relu,dropout0.3,avgpool2,"
                                 "dense16,leakyrelu,dropout0.5,dense3";

static void test_dropout_is_bit_identical_for_any_thread_count(void **state)
{
    nn_dataset d;
    nn_net *one, *more;
    (void)state;
    tu_make_dataset(&d, 48, SIDE, CLASSES, 21);
    one = train(dropout_net, 1, 2, &d);
    for (int threads = 2; threads <= 3; threads++) {
        more = train(dropout_net, threads, 2, &d);
        assert_memory_equal(nn_net_params(one), nn_net_params(more),
                            nn_net_param_count(one) * sizeof(float));
        nn_net_destroy(more);
    }
    nn_net_destroy(one);
    nn_dataset_free(&d);
}

static void test_dropout_masks_change_per_step_not_per_pass(void **state)
{
    nn_net *net = make_net("dropout0.5", 1, 16, 2, 9);
    nn_optim_settings sgd = tu_sgd(0.1f, 0.0f, 0.0f);
    nn_optim *opt = tu_optim(net, &sgd);
    float first[512], again[512];
    size_t kept = 0;
    uint64_t seed, pass;
    (void)state;
    for (int i = 0; i < 512; i++)
        nn_net_input(net)->x[i] = 1.0f;
    assert_nn_ok(nn_net_forward(net, 2));
    memcpy(first, nn_net_output(net)->x, sizeof first);
    assert_nn_ok(nn_net_forward(net, 2));
    memcpy(again, nn_net_output(net)->x, sizeof again);
    assert_memory_equal(first, again, sizeof first); /* same step */
    for (int i = 0; i < 512; i++) {
        assert_true(first[i] == 0.0f || first[i] == 2.0f);
        kept += first[i] == 2.0f;
    }
    assert_in_range(kept, 200, 312);
    nn_net_noise(net, &seed, &pass);
    assert_int_equal(pass, 0);
    assert_nn_ok(nn_optim_step(opt, net));
    nn_net_noise(net, &seed, &pass);
    assert_int_equal(pass, 1);
    assert_nn_ok(nn_net_forward(net, 2));
    assert_memory_not_equal(first, nn_net_output(net)->x, sizeof first);
    nn_net_set_training(net, 0); /* inference: the identity */
    assert_nn_ok(nn_net_forward(net, 2));
    for (int i = 0; i < 512; i++)
        assert_true(nn_net_output(net)->x[i] == 1.0f);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

static void test_dropout_resumes_bit_identically(void **state)
{
    nn_dataset d;
    nn_train_config cfg = nn_train_defaults();
    nn_train_state ts = {.epoch = 0, .rng = {{0}}, .batch = 0}, back;
    nn_net *straight, *half, *resumed = NULL;
    nn_optim *opt, *opt_back = NULL;
    nn_epoch_stats stats;
    char msg[256];
    const char *path = tu_path(dir, "dropout.ckpt");
    (void)state;
    cfg.batch = 8;
    cfg.epochs = cfg.schedule.total_epochs = 2;
    tu_make_dataset(&d, 48, SIDE, CLASSES, 22);
    straight = train(dropout_net, 1, 2, &d);
    half = make_net(dropout_net, 1, SIDE, 8, 3);
    opt = tu_optim(half, &cfg.optim);
    nn_rng_seed(&ts.rng, 4);
    assert_nn_ok(nn_train_epoch(half, opt, &d, &cfg, 0, &ts.rng, &stats));
    ts.epoch = 1;
    assert_nn_ok(nn_checkpoint_save(half, opt, &ts, path, msg, sizeof msg));
    if (nn_checkpoint_load(path, 8, &cfg.optim, &resumed, &opt_back, &back,
                           msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_int_equal(nn_optim_steps(opt_back), nn_optim_steps(opt));
    assert_nn_ok(nn_train_epoch(resumed, opt_back, &d, &cfg, 1, &back.rng, &stats));
    assert_memory_equal(nn_net_params(straight), nn_net_params(resumed),
                        nn_net_param_count(straight) * sizeof(float));
    nn_optim_destroy(opt);
    nn_optim_destroy(opt_back);
    nn_net_destroy(straight);
    nn_net_destroy(half);
    nn_net_destroy(resumed);
    nn_dataset_free(&d);
}

static void test_checkpoint_refuses_another_optimizer(void **state)
{
    nn_net *net = make_net("dense4,relu,dense3", 1, SIDE, 4, 1), *out = NULL;
    nn_optim_settings adam = nn_optim_defaults(NN_OPTIM_ADAM);
    nn_optim_settings sgd = tu_sgd(0.01f, 0.9f, 0.0f), other;
    nn_optim *opt = tu_optim(net, &adam), *back = NULL;
    nn_train_state ts = {.epoch = 1, .rng = {{1, 2, 3, 4}}, .batch = 0}, got;
    const char *path = tu_path(dir, "adam.ckpt");
    char msg[256];
    (void)state;
    assert_nn_ok(nn_optim_step(opt, net));
    assert_nn_ok(nn_checkpoint_save(net, opt, &ts, path, msg, sizeof msg));
    assert_int_equal(nn_checkpoint_load(path, 4, &sgd, &out, &back, &got, msg,
                                        sizeof msg), NN_ESTATE);
    assert_null(out);
    assert_null(back);
    print_message("  %s\n", msg);
    assert_non_null(strstr(msg, "optimizer adam, not sgd"));
    other = adam;
    other.beta2 = 0.99f;
    assert_int_equal(nn_checkpoint_load(path, 4, &other, &out, &back, &got,
                                        msg, sizeof msg), NN_ESTATE);
    assert_non_null(strstr(msg, "beta2 0.999, not 0.99"));
    other = adam;
    other.lr = 0.5f; /* the learning rate may differ: schedules set it */
    assert_nn_ok(nn_checkpoint_load(path, 4, &other, &out, &back, &got, msg,
                                    sizeof msg));
    assert_int_equal(nn_optim_get_settings(back)->kind, NN_OPTIM_ADAM);
    assert_int_equal(nn_optim_steps(back), 1);
    assert_memory_equal(nn_optim_state(back, 1, NULL), nn_optim_state(opt, 1, NULL),
                        nn_net_param_count(net) * sizeof(float));
    nn_optim_destroy(back);
    nn_net_destroy(out);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

static void test_inference_build_holds_no_gradients(void **state)
{
    nn_net *train_net = make_net("conv3x3x4p1,bn,relu,dropout,gap,dense3", 1,
                                 SIDE, 4, 7);
    nn_net *infer = NULL;
    nn_optim *opt = NULL;
    nn_optim_settings sgd = tu_sgd(0.1f, 0.9f, 0.0f);
    const char *path = tu_path(dir, "gap.nnm");
    char msg[256];
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 3);
    gc_fill_normal(nn_net_input(train_net)->x, 4 * SIDE * SIDE, 1.0f, &rng);
    assert_nn_ok(nn_model_save(train_net, path, msg, sizeof msg));
    assert_nn_ok(nn_model_load_inference(path, 4, &infer, msg, sizeof msg));
    assert_null(nn_net_grads(infer));
    assert_null(nn_net_input(infer)->g);
    assert_int_equal(nn_net_training(infer), 0);
    nn_net_set_training(infer, 1);
    assert_int_equal(nn_net_training(infer), 0);
    assert_int_equal(nn_optim_create(infer, &sgd, &opt), NN_ESTATE);
    assert_null(opt);
    memcpy(nn_net_input(infer)->x, nn_net_input(train_net)->x,
           4 * SIDE * SIDE * sizeof(float));
    nn_net_set_training(train_net, 0);
    assert_nn_ok(nn_net_forward(train_net, 4));
    assert_nn_ok(nn_net_forward(infer, 4));
    /* batchnorm folded into the convolution: not the same rounding */
    tu_assert_outputs_close(nn_net_output(infer)->x, nn_net_output(train_net)->x,
                            4 * CLASSES, TU_INFER_TOL, "inference build");
    assert_int_equal(nn_net_backward(infer), NN_ESTATE);
    {
        int labels[4] = {0, 1, 2, 0};
        float loss;
        assert_nn_ok(nn_net_softmax_xent(infer, labels, &loss)); /* loss only */
        assert_true(loss > 0.0f);
    }
    nn_net_destroy(infer);
    nn_net_destroy(train_net);
}

/* Writes a model with one value replaced, for the loader to refuse. */
static void check_refused_value(const char *spec, int state, size_t index,
                                float value, const char *message)
{
    nn_net *net = make_net(spec, 1, SIDE, 2, 1), *out = NULL;
    const char *path = tu_path(dir, "bad_value.nnm");
    char msg[256] = "";
    (state ? nn_net_state(net) : nn_net_params(net))[index] = value;
    assert_nn_ok(nn_model_save(net, path, msg, sizeof msg));
    assert_int_equal(nn_model_load(path, 2, &out, msg, sizeof msg), NN_EFORMAT);
    assert_null(out);
    print_message("  %s\n", msg);
    if (!strstr(msg, message))
        fail_msg("message '%s' lacks '%s'", msg, message);
    nn_net_destroy(net);
}

static void test_model_with_impossible_values_is_refused(void **state)
{
    (void)state;
    check_refused_value("dense3", 0, 5, NAN, "layer 0 (dense) weight[5] is nan: not finite");
    check_refused_value("dense3", 0, 64 * 3 + 1, INFINITY, "layer 0 (dense) bias[1] is inf");
    check_refused_value("conv3x3x2,bn,gap,dense3", 1, 3, -0.5f,
                        "layer 1 (batchnorm) running_var[1] is -0.5: must not be negative");
}

static void test_vgg_gap_preset(void **state)
{
    nn_net *net = NULL;
    nn_layer_info info;
    size_t params = 0;
    (void)state;
    assert_non_null(nn_spec_preset("vgg-gap"));
    assert_nn_ok(nn_net_create(3, 32, 32, &net));
    assert_nn_ok(nn_net_add_spec(net, "vgg-gap", NULL, 0));
    assert_nn_ok(nn_net_build(net, 2, 1));
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        assert_nn_ok(nn_net_layer_info(net, i, &info));
        params += info.params;
    }
    /* conv 3->32->32, 32->64->64, 64->128->128 (3x3 weights + biases),
     * 6 batchnorms (2 c each), dense 128 -> 10 */
    assert_int_equal(params, (27 * 32 + 32) + (288 * 32 + 32) + (288 * 64 + 64) +
                                 (576 * 64 + 64) + (576 * 128 + 128) +
                                 (1152 * 128 + 128) + 2 * (32 + 32 + 64 + 64 + 128 + 128) +
                                 (128 * 10 + 10));
    assert_int_equal(info.out_c, 10);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_token_prints_back),
        cmocka_unit_test(test_bad_tokens_name_the_problem),
        cmocka_unit_test(test_option_args_print_and_parse_back),
        cmocka_unit_test(test_add_layer_by_name_and_geometry),
        cmocka_unit_test(test_avgpool_leakyrelu_dropout_net_gradients),
        cmocka_unit_test(test_init_follows_the_activation_gain),
        cmocka_unit_test(test_dropout_is_bit_identical_for_any_thread_count),
        cmocka_unit_test(test_dropout_masks_change_per_step_not_per_pass),
        cmocka_unit_test(test_dropout_resumes_bit_identically),
        cmocka_unit_test(test_checkpoint_refuses_another_optimizer),
        cmocka_unit_test(test_inference_build_holds_no_gradients),
        cmocka_unit_test(test_model_with_impossible_values_is_refused),
        cmocka_unit_test(test_vgg_gap_preset),
    };
    return TU_RUN_IN_DIR(tests, dir);
}
