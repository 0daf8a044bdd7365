/* The pooling geometry both pooling kinds use (src/layers/pool.h). */
#include "layers/pool.h"

#define POOL_MAX_SIDE (1 << 20) /* window and stride of nn_pool2d_shape */
#define POOL_MAX_INPUT (1 << 30)

/* Outputs along one side: floor((in + 2 pad - k) / stride) + 1, or in ceil
 * mode the ceiling, less one when the last window would start in the
 * padding after the input (as PyTorch); -1 when the window does not fit. */
static int pool_out(int in, int k, int stride, int pad, int ceil_mode)
{
    int span = in + 2 * pad - k, out;
    if (span < 0)
        return -1;
    if (!ceil_mode)
        return span / stride + 1;
    out = (span + stride - 1) / stride + 1;
    if ((out - 1) * stride >= in + pad)
        out--;
    return out;
}

nn_status nn_pool2d_shape_check(nn_pool2d_shape *s)
{
    if (!s)
        return NN_EINVAL;
    if (s->in_h <= 0 || s->in_w <= 0 || s->in_h > POOL_MAX_INPUT ||
        s->in_w > POOL_MAX_INPUT || s->kh <= 0 || s->kw <= 0 ||
        s->kh > POOL_MAX_SIDE || s->kw > POOL_MAX_SIDE || s->stride <= 0 ||
        s->stride > POOL_MAX_SIDE || s->pad < 0 || s->pad >= s->kh ||
        s->pad >= s->kw || (s->ceil_mode & ~1) || (s->exclude_pad & ~1))
        return NN_EINVAL;
    s->out_h = pool_out(s->in_h, s->kh, s->stride, s->pad, s->ceil_mode);
    s->out_w = pool_out(s->in_w, s->kw, s->stride, s->pad, s->ceil_mode);
    return s->out_h > 0 && s->out_w > 0 ? NN_OK : NN_ESHAPE;
}

void nn_pool2d_of(const nn_layer *layer, nn_pool2d_shape *s)
{
    const nn_layer_args *a = &layer->args;
    *s = (nn_pool2d_shape){.in_h = layer->in_h, .in_w = layer->in_w,
                           .kh = a->kh, .kw = a->kw ? a->kw : a->kh,
                           .stride = a->stride, .pad = a->pad,
                           .ceil_mode = a->ceil_mode,
                           .exclude_pad = a->exclude_pad};
    if (nn_pool2d_shape_check(s) != NN_OK)
        s->out_h = s->out_w = 0;
}

nn_status nn_pool2d_reshape(nn_layer *layer)
{
    nn_pool2d_shape s;
    nn_pool2d_of(layer, &s);
    if (s.out_h <= 0)
        return NN_ESHAPE;
    layer->out_c = layer->in_c;
    layer->out_h = s.out_h;
    layer->out_w = s.out_w;
    return NN_OK;
}

nn_status nn_pool2d_check(const nn_layer_args *a)
{
    int kw = a->kw ? a->kw : a->kh;
    return a->kh > 0 && a->kh <= NN_SPEC_MAX_SIDE && kw > 0 &&
                   kw <= NN_SPEC_MAX_SIDE && a->stride > 0 &&
                   a->stride <= NN_SPEC_MAX_SIDE && a->pad >= 0 &&
                   a->pad < a->kh && a->pad < kw && !(a->ceil_mode & ~1) &&
                   !(a->exclude_pad & ~1)
               ? NN_OK : NN_EINVAL;
}
