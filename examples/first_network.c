/* A first network: learn XOR with a 2-8-2 MLP and SGD with momentum. */
#include <stdio.h>
#include <string.h>
#include "nn.h"

int main(void)
{
    float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    int y[4] = {0, 1, 1, 0};
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIM_SGD);
    nn_optim *opt = NULL;
    nn_net *net;
    float loss = 0;
    nn_status st = nn_net_create(2, 1, 1, &net); /* inputs: 2 channels of 1x1 */
    nn_net_add_dense(net, 8);
    nn_net_add_tanh(net);
    nn_net_add_dense(net, 2);
    if (st == NN_OK)
        st = nn_net_build(net, 4, 42); /* errors while adding show up here */
    sgd.lr = 0.1f;
    sgd.momentum = 0.9f;
    if (st == NN_OK)
        st = nn_optim_create(net, &sgd, &opt); /* its own state: momentum */
    if (st != NN_OK) {
        fprintf(stderr, "first_network: %s\n", nn_status_str(st));
        nn_net_destroy(net);
        return 1;
    }
    memcpy(nn_net_input(net)->x, x, sizeof x);
    for (int step = 0; step < 500 && st == NN_OK; step++) {
        nn_net_forward(net, 4);
        st = nn_net_softmax_xent(net, y, &loss); /* loss and dL/dout */
        nn_net_zero_grad(net);
        nn_net_backward(net);
        nn_optim_step(opt, net);
    }
    for (int i = 0; i < 4; i++) {
        const float *p = nn_net_probs(net) + 2 * i;
        printf("%g xor %g -> %d (p = %.3f)\n", x[i][0], x[i][1], p[1] > p[0], p[1] > p[0] ? p[1] : p[0]);
    }
    printf("final loss %.4f\n", loss);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    return st == NN_OK ? 0 : 1;
}
