/* Parity with PyTorch of a residual net: a basic block with a strided 1x1
 * projection shortcut and batchnorm, an identity block, global average
 * pooling and a dense layer, under every kernel choice. In training mode
 * (batch statistics) with a batch of 4: logits, probabilities and loss, the
 * gradient of every parameter and of the input (read by two layers); after
 * three SGD steps (momentum 0.9, weight decay 5e-4): every parameter and
 * batchnorm running statistic, and the logits in inference mode. The
 * numbers come from tests/pytorch_residual_reference.py through
 * tests/fixtures/pytorch_residual.txt. */
#include "gradcheck.h"
#include "nn/advanced.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { BATCH = 4, C = 3, H = 9, W = 7, CLASSES = 5, STEPS = 3 };
enum { N_INPUT = BATCH * C * H * W, N_OUTPUT = BATCH * CLASSES };

/* Block b1 (layers 0-8): conv, bn, relu, conv, bn (m), the shortcut conv
 * and bn reading the net's input, add, relu. Block b2 (9-15): the same
 * with the identity shortcut. Then gap (16) and dense (17). */
#define SPEC "conv3x3x8s2p1,bn,relu,conv3x3x8p1,bn@m,conv1x1x8s2(input),bn," \
             "add(m),relu@b1,conv3x3x8p1,bn,relu,conv3x3x8p1,bn,add(b1),"     \
             "relu,gap,dense5"

/* The PyTorch module behind each libnn layer that holds tensors. */
static const struct {
    int layer;
    const char *kind;   /* libnn's kind of that layer */
    const char *module; /* its name in the PyTorch net */
} modules[] = {
    {0, "conv2d", "b1.conv1"},  {1, "batchnorm", "b1.bn1"},
    {3, "conv2d", "b1.conv2"},  {4, "batchnorm", "b1.bn2"},
    {5, "conv2d", "b1.sc.0"},   {6, "batchnorm", "b1.sc.1"},
    {9, "conv2d", "b2.conv1"},  {10, "batchnorm", "b2.bn1"},
    {12, "conv2d", "b2.conv2"}, {13, "batchnorm", "b2.bn2"},
    {17, "dense", "fc"},
};

/* libnn's name of a layer tensor and PyTorch's; both lay conv weights out
 * as (out, in, kh, kw) and dense weights as (out, in). */
static const struct {
    const char *libnn, *pytorch;
} field_names[] = {
    {"weight", "weight"},
    {"bias", "bias"},
    {"gamma", "weight"},
    {"beta", "bias"},
    {"running_mean", "running_mean"},
    {"running_var", "running_var"},
};

/* Relative tolerances (tu_fixture_compare's measure). Both sides round in
 * float32, in different orders: PyTorch's own float32 numbers for this net
 * are up to 4.8e-6 from its float64 ones (a logit of -0.06 loses digits to
 * cancellation), and libnn's are up to 6e-6 from PyTorch's. Values
 * (outputs, and parameters and statistics after the steps) get 2e-5, three
 * times that; gradients, long sums over batch and image through every
 * layer back, 1e-4 as in test_parity (they differ by up to 8.2e-6). */
#define VALUE_TOL 2e-5
#define GRAD_TOL 1e-4

#define MAX_TENSORS 48

/* One tensor of the libnn net under its PyTorch name. */
typedef struct {
    char name[32];  /* "b1.sc.1.running_var" */
    float *values;  /* (count): in the net's parameters or state */
    float *grads;   /* (count): its gradients; NULL for state */
    int count;
} tensor_ref;

/* The largest difference of one kind of result, and where it is. */
typedef struct {
    const char *what;
    double tol;
    double worst;
    char where[40];
} tally;

static tu_fixture fixture;

static int load_fixture(void **state)
{
    (void)state;
    return tu_fixture_load(&fixture, "pytorch_residual.txt");
}

static int free_fixture(void **state)
{
    (void)state;
    tu_fixture_free(&fixture);
    return 0;
}

static const char *pytorch_field(const char *libnn_name)
{
    for (size_t i = 0; i < sizeof field_names / sizeof *field_names; i++)
        if (!strcmp(field_names[i].libnn, libnn_name))
            return field_names[i].pytorch;
    fail_msg("no PyTorch name for the layer tensor '%s'", libnn_name);
    return NULL;
}

/* Every parameter and state tensor of net under its PyTorch name; fails
 * unless the listed layers are of the expected kinds and hold all of the
 * net's parameters and state. Returns how many there are. */
static int list_tensors(nn_net *net, tensor_ref *out)
{
    size_t state_at[32], at = 0, params = 0, states = 0;
    int layers = nn_net_layer_count(net), count = 0;
    assert_true(layers <= 32);
    for (int i = 0; i < layers; i++) {
        nn_layer_info info;
        assert_nn_ok(nn_net_layer_info(net, i, &info));
        state_at[i] = at;
        at += info.state;
    }
    for (size_t m = 0; m < sizeof modules / sizeof *modules; m++) {
        nn_layer_info info;
        nn_layer_field fields[NN_MAX_FIELDS];
        float *values, *grads;
        size_t n;
        int n_fields, i = modules[m].layer;
        assert_nn_ok(nn_net_layer_info(net, i, &info));
        assert_string_equal(info.kind, modules[m].kind);
        assert_nn_ok(nn_net_layer_params(net, i, &values, &grads, &n));
        assert_nn_ok(nn_net_layer_fields(net, i, fields, &n_fields));
        for (int f = 0; f < n_fields; f++) {
            tensor_ref *t = &out[count++];
            assert_true(count <= MAX_TENSORS);
            snprintf(t->name, sizeof t->name, "%s.%s", modules[m].module,
                     pytorch_field(fields[f].name));
            t->count = (int)fields[f].count;
            if (fields[f].state) {
                t->values = nn_net_state(net) + state_at[i] + fields[f].offset;
                t->grads = NULL;
                states += fields[f].count;
            } else {
                t->values = values + fields[f].offset;
                t->grads = grads + fields[f].offset;
                params += fields[f].count;
            }
        }
    }
    assert_int_equal(params, nn_net_param_count(net));
    assert_int_equal(states, nn_net_state_count(net));
    return count;
}

/* The fixture's entry `name` as count floats. */
static void load(const char *name, float *out, int count)
{
    const tu_fixture_entry *e = tu_fixture_get(&fixture, name, count);
    for (int i = 0; i < count; i++)
        out[i] = (float)e->values[i];
}

/* Adds a against the entry `name` to t: max |a - ref| / max(|ref|, 0.01),
 * tu_fixture_compare's measure. */
static void tally_add(tally *t, const char *name, const float *a, int count)
{
    const tu_fixture_entry *e = tu_fixture_get(&fixture, name, count);
    for (int i = 0; i < count; i++) {
        double err = fabs(a[i] - e->values[i]) / fmax(fabs(e->values[i]), 0.01);
        if (err > t->worst || isnan(err)) {
            t->worst = isnan(err) ? INFINITY : err;
            snprintf(t->where, sizeof t->where, "%s[%d]", name, i);
        }
    }
}

static void tally_check(const tally *t, const char *kernels)
{
    print_message("  %-9s %-29s max relative difference %.2e at %s (tolerance %.0e)\n",
                  kernels, t->what, t->worst, t->where, t->tol);
    assert_true(t->worst < t->tol);
}

/* Forward, loss, backward, three SGD steps and inference against PyTorch
 * with the given kernels. */
static void check_kernels(nn_kernels kernels, const char *kernels_name)
{
    tensor_ref tensors[MAX_TENSORS];
    tally forward = {"forward (logits, probs, loss)", VALUE_TOL, 0, ""};
    tally grads = {"gradients (params, input)", GRAD_TOL, 0, ""};
    tally after = {"params after 3 steps", VALUE_TOL, 0, ""};
    tally stats = {"running stats after 3 steps", VALUE_TOL, 0, ""};
    tally eval = {"inference logits after", VALUE_TOL, 0, ""};
    nn_optim_settings sgd = tu_sgd(0.1f, 0.9f, 5e-4f);
    float labels_f[BATCH], loss;
    int labels[BATCH], n_tensors;
    char name[48], msg[200];
    nn_net *net = NULL;
    nn_optim *opt;

    assert_nn_ok(nn_net_create(C, H, W, &net));
    if (nn_net_add_spec(net, SPEC, msg, sizeof msg) != NN_OK)
        fail_msg("%s: %s", SPEC, msg);
    assert_nn_ok(nn_net_set_kernels(net, kernels));
    assert_nn_ok(nn_net_build(net, BATCH, 1));
    nn_net_set_input_grad(net, 1);
    opt = tu_optim(net, &sgd);
    n_tensors = list_tensors(net, tensors);
    for (int k = 0; k < n_tensors; k++)
        load(tensors[k].name, tensors[k].values, tensors[k].count);
    load("input", nn_net_input(net)->x, N_INPUT);
    load("labels", labels_f, BATCH);
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int)labels_f[i];

    for (int step = 1; step <= STEPS; step++) {
        assert_nn_ok(nn_net_forward(net, BATCH));
        assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
        nn_net_zero_grad(net);
        assert_nn_ok(nn_net_backward(net));
        if (step == 1) {
            tally_add(&forward, "logits", nn_net_output(net)->x, N_OUTPUT);
            tally_add(&forward, "probs", nn_net_probs(net), N_OUTPUT);
            tally_add(&forward, "loss", &loss, 1);
            for (int k = 0; k < n_tensors; k++) {
                if (!tensors[k].grads)
                    continue;
                snprintf(name, sizeof name, "grad.%.31s", tensors[k].name);
                tally_add(&grads, name, tensors[k].grads, tensors[k].count);
            }
            tally_add(&grads, "input_grad", nn_net_input(net)->g, N_INPUT);
        }
        assert_nn_ok(nn_optim_step(opt, net));
    }
    for (int k = 0; k < n_tensors; k++) {
        snprintf(name, sizeof name, "step%d.%.31s", STEPS, tensors[k].name);
        tally_add(tensors[k].grads ? &after : &stats, name, tensors[k].values,
                  tensors[k].count);
    }
    nn_net_set_training(net, 0);
    assert_nn_ok(nn_net_forward(net, BATCH));
    tally_add(&eval, "eval_logits", nn_net_output(net)->x, N_OUTPUT);

    tally_check(&forward, kernels_name);
    tally_check(&grads, kernels_name);
    tally_check(&after, kernels_name);
    tally_check(&stats, kernels_name);
    tally_check(&eval, kernels_name);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

static void test_matches_pytorch_auto(void **state)
{
    (void)state;
    check_kernels(NN_KERNELS_AUTO, "auto");
}

static void test_matches_pytorch_portable(void **state)
{
    (void)state;
    check_kernels(NN_KERNELS_PORTABLE, "portable");
}

static void test_matches_pytorch_reference(void **state)
{
    (void)state;
    check_kernels(NN_KERNELS_REFERENCE, "reference");
}

/* The spec has as many trainable parameters as PyTorch's net. */
static void test_param_count(void **state)
{
    nn_net *net = tu_net(SPEC, C, H, W, BATCH, 1);
    const tu_fixture_entry *e = tu_fixture_get(&fixture, "param_count", 1);
    (void)state;
    print_message("  %zu parameters, PyTorch %.0f\n", nn_net_param_count(net),
                  e->values[0]);
    assert_true((double)nn_net_param_count(net) == e->values[0]);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_count),
        cmocka_unit_test(test_matches_pytorch_auto),
        cmocka_unit_test(test_matches_pytorch_portable),
        cmocka_unit_test(test_matches_pytorch_reference),
    };
    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
