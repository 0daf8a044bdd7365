/* What the two pooling kinds (src/layers/layer_maxpool.c and
 * layer_avgpool.c) share: a window's span, the geometry of a layer, its
 * reshape and its argument check (src/layers/pool.c). */
#ifndef NN_LAYERS_POOL_H
#define NN_LAYERS_POOL_H

#include "layers/layer.h"

/* Where the window of output o lies along one side of `size` inputs: it
 * starts at o * stride - pad and is k long. [*first, *last) are the inputs
 * it covers; *padded is how many positions it covers in the padded input
 * [-pad, size + pad), which only a ceil-mode window runs past. */
static inline void nn_pool_span(int o, int stride, int pad, int k, int size,
                                int *first, int *last, int *padded)
{
    int start = o * stride - pad, end = start + k;
    *first = start > 0 ? start : 0;
    *last = end < size ? end : size;
    *padded = (end < size + pad ? end : size + pad) - start;
}

/* The geometry of a max or average pooling layer on its input (out_h and
 * out_w as nn_pool2d_shape_check derives them). */
void nn_pool2d_of(const nn_layer *layer, nn_pool2d_shape *s);
/* reshape of both kinds: NN_ESHAPE when the window does not fit. */
nn_status nn_pool2d_reshape(nn_layer *layer);
/* check of both kinds: window and stride in 1..NN_SPEC_MAX_SIDE, the
 * padding below the window, ceil_mode and exclude_pad 0 or 1. */
nn_status nn_pool2d_check(const nn_layer_args *a);

#endif /* NN_LAYERS_POOL_H */
