/* Parity with PyTorch: forward output, loss, every gradient, three SGD
 * steps with momentum and weight decay, and batchnorm running statistics of
 * conv -> batchnorm -> relu -> maxpool -> dense match the numbers that
 * tests/pytorch_reference.py wrote into tests/fixtures/pytorch_parity.txt. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ENTRIES = 16 };

typedef struct {
    char name[32];
    int count;
    double *values;
} entry;

static entry fixture[MAX_ENTRIES];
static int entries;

static int load_fixture(void **state)
{
    const char *root = getenv("NN_SOURCE_DIR");
    char path[4096], name[32];
    FILE *f;
    (void)state;
    snprintf(path, sizeof path, "%s/tests/fixtures/pytorch_parity.txt", root ? root : ".");
    f = fopen(path, "r");
    if (!f)
        return -1;
    fscanf(f, "%*[^\n]\n"); /* the comment line */
    while (entries < MAX_ENTRIES && fscanf(f, "%31s %d", name, &fixture[entries].count) == 2) {
        entry *e = &fixture[entries++];
        strcpy(e->name, name);
        e->values = malloc(sizeof *e->values * (size_t)e->count);
        for (int i = 0; i < e->count; i++)
            if (!e->values || fscanf(f, "%lf", &e->values[i]) != 1) {
                fclose(f);
                return -1;
            }
    }
    fclose(f);
    return entries > 0 ? 0 : -1;
}

static int free_fixture(void **state)
{
    (void)state;
    for (int i = 0; i < entries; i++)
        free(fixture[i].values);
    return 0;
}

static const entry *get(const char *name, int count)
{
    for (int i = 0; i < entries; i++)
        if (!strcmp(fixture[i].name, name)) {
            assert_int_equal(fixture[i].count, count);
            return &fixture[i];
        }
    fail_msg("fixture has no '%s'", name);
    return NULL;
}

/* |a - b| / max(|b|, 0.01) below 1e-4 for every value; returns the worst. */
static double compare(const char *name, const float *a, int count)
{
    const entry *e = get(name, count);
    double worst = 0.0;
    for (int i = 0; i < count; i++) {
        double err = fabs(a[i] - e->values[i]) / fmax(fabs(e->values[i]), 0.01);
        if (err > worst)
            worst = err;
    }
    print_message("  %-18s %4d values, max relative difference %.2e\n", name, count, worst);
    assert_true(worst < 1e-4);
    return worst;
}

static void test_matches_pytorch(void **state)
{
    nn_net *net = NULL;
    int labels[3];
    float loss, *x;
    size_t n_params;
    const entry *e;
    nn_sgd sgd = {0.1f, 0.9f, 5e-4f, 0, NN_MOMENTUM_PYTORCH, 0};
    (void)state;
    assert_nn_ok(nn_net_create(2, 6, 5, &net));
    assert_nn_ok(nn_net_add_spec(net, "conv3x3x3p1,bn,relu,pool2,dense4", NULL, 0));
    assert_nn_ok(nn_net_build(net, 3, 0));
    nn_net_set_input_grad(net, 1);
    n_params = nn_net_param_count(net);
    e = get("params", (int)n_params);
    for (size_t i = 0; i < n_params; i++)
        nn_net_params(net)[i] = (float)e->values[i];
    e = get("input", 180);
    x = nn_net_input(net)->x;
    for (int i = 0; i < 180; i++)
        x[i] = (float)e->values[i];
    e = get("labels", 3);
    for (int i = 0; i < 3; i++)
        labels[i] = (int)e->values[i];

    for (int step = 1; step <= 3; step++) {
        char name[32];
        assert_nn_ok(nn_net_forward(net, 3));
        assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
        nn_net_zero_grad(net);
        assert_nn_ok(nn_net_backward(net));
        if (step == 1) {
            compare("output", nn_net_output(net)->x, 12);
            compare("loss", &loss, 1);
            compare("grads", nn_net_grads(net), (int)n_params);
            compare("input_grad", nn_net_input(net)->g, 180);
        }
        assert_nn_ok(nn_net_sgd_step(net, &sgd));
        snprintf(name, sizeof name, "params_after_step%d", step);
        compare(name, nn_net_params(net), (int)n_params);
    }
    compare("state", nn_net_state(net), 6);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
