/* libFuzzer target: architecture specs. The first byte picks a small input
 * shape, the rest is the spec. A spec that parses must describe itself in
 * canonical form, parse again to the same form, refuse buffers too small
 * for it, and, when the net is small enough for a fuzz run, build (or be
 * refused cleanly) and run forward, loss, backward and an SGD step on a
 * batch of 2 (the cost limits of fuzz_util.h are for one sample). The
 * harness's own cost model (fuzz_util.c) must agree with the library on
 * which nets fit and on their parameter counts. */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

static const int shapes[][3] = {{1, 1, 1}, {1, 8, 8}, {3, 5, 7}, {2, 4, 4},
                                {1, 28, 28}};

/* A new net for input shape s with the layers of spec, or NULL (msg says
 * why, and the net must have been left without layers). */
static nn_net *net_from_spec(const int *s, const char *spec, nn_status *st)
{
    nn_net *net = NULL;
    char msg[200];
    FUZZ_CHECK(nn_net_create(s[0], s[1], s[2], &net) == NN_OK);
    *st = nn_net_add_spec(net, spec, msg, sizeof msg);
    FUZZ_CHECK(strlen(msg) < sizeof msg);
    if (*st == NN_OK)
        return net;
    FUZZ_CHECK(msg[0] != '\0' && nn_net_layer_count(net) == 0);
    nn_net_destroy(net);
    return NULL;
}

/* nn_net_spec into buffers one byte too small, and smaller: always
 * NN_EOVERFLOW with a terminated prefix, never a byte past the end. */
static void check_short_buffers(const nn_net *net, size_t len)
{
    size_t sizes[3] = {1, len / 2 + 1, len};
    for (int i = 0; i < 3; i++) {
        char *buf = malloc(sizes[i]);
        FUZZ_CHECK(buf != NULL);
        FUZZ_CHECK(nn_net_spec(net, buf, sizes[i]) == NN_EOVERFLOW);
        FUZZ_CHECK(memchr(buf, '\0', sizes[i]) != NULL);
        free(buf);
    }
}

/* Canonical form: parse(describe(net)) describes itself the same way. */
static void check_round_trip(const nn_net *net, const int *shape)
{
    char *canonical = fuzz_spec_of(net), *again;
    nn_net *copy;
    nn_status st;
    FUZZ_CHECK(canonical != NULL);
    copy = net_from_spec(shape, canonical, &st);
    FUZZ_CHECK(copy != NULL);
    again = fuzz_spec_of(copy);
    FUZZ_CHECK(again && strcmp(again, canonical) == 0);
    FUZZ_CHECK(nn_net_layer_count(copy) == nn_net_layer_count(net));
    check_short_buffers(net, strlen(canonical));
    free(again);
    free(canonical);
    nn_net_destroy(copy);
}

/* Builds for batches of 2 (the shapes fit: no NN_ESHAPE) and runs one
 * training step on an input made of the spec's own bytes. */
static void check_build_and_run(nn_net *net, const fuzz_cost *cost,
                                const uint8_t *data, size_t size)
{
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIM_SGD);
    nn_optim *opt = NULL;
    nn_status st = nn_net_build(net, 2, size);
    size_t params = 0;
    nn_tensor *in;
    float loss;
    int labels[2] = {0, 0};
    if (st != NN_OK) {
        FUZZ_CHECK(st == NN_EOVERFLOW || st == NN_EINVAL);
        FUZZ_CHECK(nn_net_build(net, 1, 0) == st); /* sticky */
        return;
    }
    FUZZ_CHECK((double)nn_net_param_count(net) == cost->params);
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        FUZZ_CHECK(nn_net_layer_info(net, i, &info) == NN_OK);
        params += info.params;
    }
    FUZZ_CHECK(params == nn_net_param_count(net));
    in = nn_net_input(net);
    for (size_t i = 0; i < nn_tensor_count(in); i++)
        in->x[i] = size ? (float)data[i % size] / 64.0f - 2.0f : 0.0f;
    FUZZ_CHECK(nn_net_forward(net, 2) == NN_OK);
    st = nn_net_softmax_xent(net, labels, &loss);
    FUZZ_CHECK(st == NN_OK || st == NN_ENUMERIC);
    if (st == NN_OK) {
        nn_net_zero_grad(net);
        FUZZ_CHECK(nn_net_backward(net) == NN_OK);
        sgd.momentum = 0.9f;
        FUZZ_CHECK(nn_optim_create(net, &sgd, &opt) == NN_OK);
        FUZZ_CHECK(nn_optim_step(opt, net) == NN_OK);
        nn_optim_destroy(opt);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int *shape;
    char *spec;
    nn_net *net;
    nn_status st;
    if (size == 0)
        return 0;
    shape = shapes[data[0] % (sizeof shapes / sizeof shapes[0])];
    spec = malloc(size);
    FUZZ_CHECK(spec != NULL);
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    net = net_from_spec(shape, spec, &st);
    if (net) {
        char *canonical = fuzz_spec_of(net);
        fuzz_cost cost;
        FUZZ_CHECK(canonical != NULL);
        check_round_trip(net, shape);
        if (!fuzz_spec_cost(canonical, shape[0], shape[1], shape[2], &cost))
            FUZZ_CHECK(nn_net_build(net, 2, 0) != NN_OK); /* before allocating */
        else if (fuzz_affordable(&cost))
            check_build_and_run(net, &cost, data + 1, size - 1);
        free(canonical);
    }
    nn_net_destroy(net);
    free(spec);
    return 0;
}
