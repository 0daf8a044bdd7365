/* Parity with PyTorch: forward output, loss, every gradient, three SGD
 * steps with momentum and weight decay, and batchnorm running statistics of
 * conv -> batchnorm -> relu -> maxpool -> dense match the numbers that
 * tests/pytorch_reference.py wrote into tests/fixtures/pytorch_parity.txt. */
#include "gradcheck.h"

#include <stdio.h>

static tu_fixture fixture;

static int load_fixture(void **state)
{
    (void)state;
    return tu_fixture_load(&fixture, "pytorch_parity.txt");
}

static int free_fixture(void **state)
{
    (void)state;
    tu_fixture_free(&fixture);
    return 0;
}

/* Every value within 1e-4 of PyTorch's, relative (floored at 0.01). */
static void compare(const char *name, const float *a, int count)
{
    tu_fixture_compare(&fixture, name, a, count, 1e-4);
}

static void test_matches_pytorch(void **state)
{
    nn_net *net = NULL;
    int labels[3];
    float loss, *x;
    size_t n_params;
    const tu_fixture_entry *e;
    nn_optim_settings sgd = tu_sgd(0.1f, 0.9f, 5e-4f);
    nn_optim *opt;
    (void)state;
    assert_nn_ok(nn_net_create(2, 6, 5, &net));
    assert_nn_ok(nn_net_add_spec(net, "conv3x3x3p1,bn,relu,pool2,dense4", NULL, 0));
    assert_nn_ok(nn_net_build(net, 3, 0));
    nn_net_set_input_grad(net, 1);
    opt = tu_optim(net, &sgd);
    n_params = nn_net_param_count(net);
    e = tu_fixture_get(&fixture, "params", (int)n_params);
    for (size_t i = 0; i < n_params; i++)
        nn_net_params(net)[i] = (float)e->values[i];
    e = tu_fixture_get(&fixture, "input", 180);
    x = nn_net_input(net)->x;
    for (int i = 0; i < 180; i++)
        x[i] = (float)e->values[i];
    e = tu_fixture_get(&fixture, "labels", 3);
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
        assert_nn_ok(nn_optim_step(opt, net));
        snprintf(name, sizeof name, "params_after_step%d", step);
        compare(name, nn_net_params(net), (int)n_params);
    }
    compare("state", nn_net_state(net), 6);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
