/* How much arithmetic a net's layers do per sample, as its kernels run it:
 * a read-only query for benchmarks (utilisation of the machine's FMA
 * limit). Each kind counts its own work (nn_layer_kind.macs). */
#include "net/net_internal.h"

#include <string.h>

nn_status nn_net_layer_macs(const nn_net *net, int i, nn_layer_macs *out)
{
    const nn_layer *layer;
    nn_exec ex;
    if (!net || !out || i < 0 || i >= net->count)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    memset(out, 0, sizeof *out);
    memset(&ex, 0, sizeof ex);
    /* the kernel choice a pass makes (net_run.c) */
    ex.kernels = net->kernels;
    ex.avx2 = nn_net_runs_avx2(net);
    ex.inference = net->inference_only;
    layer = net->layers[i];
    if (layer->kind->describe.macs)
        layer->kind->describe.macs(layer, &ex, i > 0 || net->input_grad, out);
    return NN_OK;
}
