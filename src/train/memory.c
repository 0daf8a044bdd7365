/* What a training run will need, known before anything is allocated: the
 * net's arenas as nn_net_build lays them out plus the optimizer's state. */
#include "net/net.h"
#include "core/util.h"
#include "optim/optim.h"

#include <stdint.h>

nn_status nn_train_memory(nn_net *net, int max_batch,
                          nn_optim_kind optimizer, size_t *bytes)
{
    size_t net_bytes, params, state, optim_bytes;
    int buffers = nn_optim_buffer_count(optimizer);
    nn_status st;
    if (!bytes || buffers <= 0)
        return NN_EINVAL;
    st = nn_net_plan_bytes(net, max_batch, 1, &net_bytes);
    if (st == NN_OK)
        st = nn_net_plan(net, max_batch, &params, &state);
    if (st != NN_OK)
        return st;
    if (!nn_mul_size(params, (size_t)buffers * sizeof(float), &optim_bytes) ||
        optim_bytes > SIZE_MAX - net_bytes)
        return NN_EOVERFLOW;
    *bytes = net_bytes + optim_bytes;
    return NN_OK;
}
