/* The public nn_net_add_<kind> calls: each fills the kind's arguments and
 * appends a layer of that kind (nn_net_add_kind, src/net/net.c), which
 * checks them and keeps the net's first error. */
#include "layers/layer.h"
#include "net/net.h"

nn_status nn_net_add_conv2d(nn_net *net, int out_channels, int kh, int kw,
                            int stride, int pad)
{
    nn_layer_args args = {.out = out_channels, .kh = kh, .kw = kw,
                          .stride = stride, .pad = pad};
    return nn_net_add_kind(net, &nn_kind_conv2d, &args);
}

nn_status nn_net_add_dense(nn_net *net, int out)
{
    nn_layer_args args = {.out = out};
    return nn_net_add_kind(net, &nn_kind_dense, &args);
}

nn_status nn_net_add_maxpool(nn_net *net, int k, int stride)
{
    nn_layer_args args = {.kh = k, .kw = k, .stride = stride};
    return nn_net_add_kind(net, &nn_kind_maxpool, &args);
}

nn_status nn_net_add_avgpool(nn_net *net, int k, int stride, int pad)
{
    nn_layer_args args = {.kh = k, .kw = k, .stride = stride, .pad = pad};
    return nn_net_add_kind(net, &nn_kind_avgpool, &args);
}

nn_status nn_net_add_global_avgpool(nn_net *net)
{
    return nn_net_add_kind(net, &nn_kind_global_avgpool, NULL);
}

nn_status nn_net_add_relu(nn_net *net)
{
    return nn_net_add_kind(net, &nn_kind_relu, NULL);
}

nn_status nn_net_add_leakyrelu(nn_net *net, float slope)
{
    nn_layer_args args = {.slope = slope};
    return nn_net_add_kind(net, &nn_kind_leakyrelu, &args);
}

nn_status nn_net_add_sigmoid(nn_net *net)
{
    return nn_net_add_kind(net, &nn_kind_sigmoid, NULL);
}

nn_status nn_net_add_tanh(nn_net *net)
{
    return nn_net_add_kind(net, &nn_kind_tanh, NULL);
}

nn_status nn_net_add_batchnorm(nn_net *net)
{
    return nn_net_add_kind(net, &nn_kind_batchnorm, NULL);
}

nn_status nn_net_add_dropout(nn_net *net, float rate)
{
    nn_layer_args args = {.rate = rate};
    return nn_net_add_kind(net, &nn_kind_dropout, &args);
}
