/* Fully connected layer: y = x W^T + b.
 * The input (n, c, h, w) is read as (n, in) with in = c*h*w: no copy. */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* x (n, in), W (out, in), b (out) -> y (n, out) */
void nn_dense_forward(const float *x, const float *weight, const float *bias,
                      float *y, int n, int in, int out)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            y[(size_t)i * out + o] = bias[o];
    nn_sgemm(0, 1, n, out, in, 1.0f, x, in, weight, in, 1.0f, y, out);
}

/* dx (n, in) += dy W;  dW (out, in) += dy^T x;  db (out) += sum_n dy */
void nn_dense_backward(const float *x, const float *weight, const float *dy,
                       float *dx, float *dweight, float *dbias, int n, int in,
                       int out)
{
    nn_sgemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dweight, in);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            dbias[o] += dy[(size_t)i * out + o];
    if (dx)
        nn_sgemm(0, 0, n, in, out, 1.0f, dy, out, weight, in, 1.0f, dx, in);
}

typedef struct {
    nn_layer base;
    int out;
} dense_layer;

static int dense_inputs(const nn_layer *layer)
{
    return layer->in_c * layer->in_h * layer->in_w;
}

static nn_status dense_reshape(nn_layer *layer)
{
    dense_layer *d = (dense_layer *)layer;
    size_t in;
    if (!nn_mul_size((size_t)layer->in_c * layer->in_h, (size_t)layer->in_w, &in) ||
        in > (size_t)1 << 30 || in * (size_t)d->out > INT_MAX)
        return NN_EOVERFLOW; /* the gemm calls index with int */
    layer->out_c = d->out;
    layer->out_h = 1;
    layer->out_w = 1;
    return NN_OK;
}

static void dense_sizes(const nn_layer *layer, int max_batch,
                        nn_layer_sizes *out)
{
    const dense_layer *d = (const dense_layer *)layer;
    (void)max_batch;
    out->decayed = (size_t)d->out * dense_inputs(layer);
    out->params = out->decayed + (size_t)d->out;
}

static void dense_init(nn_layer *layer, nn_rng *rng, int he)
{
    const dense_layer *d = (const dense_layer *)layer;
    int in = dense_inputs(layer);
    nn_init_weights(layer->params, (size_t)d->out * in, in, d->out, he, rng);
    for (int o = 0; o < d->out; o++)
        layer->params[(size_t)d->out * in + o] = 0.0f;
}

static void dense_forward(nn_layer *layer, const nn_tensor *in,
                          nn_tensor *out, const nn_exec *ex)
{
    const dense_layer *d = (const dense_layer *)layer;
    int inputs = dense_inputs(layer);
    (void)ex;
    nn_dense_forward(in->x, layer->params, layer->params + (size_t)d->out * inputs,
                     out->x, in->n, inputs, d->out);
}

static void dense_backward(nn_layer *layer, const nn_tensor *in,
                           const nn_tensor *out, const nn_exec *ex)
{
    const dense_layer *d = (const dense_layer *)layer;
    int inputs = dense_inputs(layer);
    (void)ex;
    nn_dense_backward(in->x, layer->params, out->g, in->g, layer->grads,
                      layer->grads + (size_t)d->out * inputs, in->n, inputs,
                      d->out);
}

static int dense_describe(const nn_layer *layer, char *buf, size_t size)
{
    return snprintf(buf, size, "dense%d", ((const dense_layer *)layer)->out);
}

static const nn_layer_ops dense_ops = {
    "dense", dense_reshape, dense_sizes, dense_init, dense_forward,
    dense_backward, dense_describe,
};

nn_status nn_dense_create(int out, nn_layer **layer)
{
    dense_layer *d;
    *layer = NULL;
    if (out <= 0 || out > (1 << 24))
        return NN_EINVAL;
    d = calloc(1, sizeof *d);
    if (!d)
        return NN_ENOMEM;
    d->base.ops = &dense_ops;
    d->out = out;
    *layer = &d->base;
    return NN_OK;
}
